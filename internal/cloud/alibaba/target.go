// Package alibaba is the Alibaba Cloud target: the alicloud-ecs source block,
// and, through the ECS API, the image inventory, test and deploy instances,
// leftover sweeps and the credential check.
package alibaba

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the alibaba target. The zero value is ready to use: it talks to
// the ECS endpoint of the configured region (or SINDRI_ALIBABA_ENDPOINT)
// with credentials from the standard chain. Tests shrink the timings.
type Cloud struct {
	cloud.Base
	// Tuning paces the ECS calls and the state waits. A zero CallTimeout
	// keeps the SDK's per-API time-outs; a zero WaitTimeout is 10 minutes.
	Tuning cloud.Tuning
	// Env is where the endpoint and credentials are read (nil: the
	// process environment).
	Env cloud.Env
}

var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "alibaba" }

// buildRegion: an ECS image is built in one region and copied nowhere.
var buildRegion = cloud.OneRegion{Target: "alibaba", Field: "region", Of: func(s *config.CloudSet) string { return s.Alibaba.Region }}

// Regions is the region the image is built in.
func (Cloud) Regions(c *config.Config) (string, []string) { return buildRegion.Regions(c) }

// PinRegion builds the image in region only.
func (Cloud) PinRegion(c *config.Config, region string) ([]string, error) {
	return buildRegion.Pin(c, region)
}

// SecretEnv are the credentials the alicloud plugin and the SDK read: the
// plugin's ALICLOUD_* and the SDK's ALIBABA_CLOUD_* secrets.
func (Cloud) SecretEnv() []string {
	return []string{
		"ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECURITY_TOKEN",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
	}
}

// signIn is the advice for the alibaba errors that mean missing, expired
// or refused credentials.
var signIn = cloud.SignInHint{
	Errors: regexp.MustCompile(`(?i)credential|access ?key|InvalidAccessKeyId|SignatureDoesNotMatch|InvalidSecurityToken|Forbidden.RAM|ALICLOUD_|ALIBABA_CLOUD_`),
	Text:   "alibaba credentials: set ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (with ALICLOUD_SECURITY_TOKEN for STS keys), or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
}

// CredentialHint says how to sign in when err is a credential failure.
func (Cloud) CredentialHint(err error) string { return signIn.For(err) }

// placeholderKey is a clearly fake access key: the alicloud builder insists
// on credentials even to validate. It only has to parse; no call is made.
const placeholderKey = "VALIDATE-ONLY-NOT-A-REAL-KEY"

// Placeholders are the fake keys an offline `packer validate` needs.
func (Cloud) Placeholders(string) ([]string, map[string]string, error) {
	return []string{"ALICLOUD_ACCESS_KEY=" + placeholderKey, "ALICLOUD_SECRET_KEY=" + placeholderKey}, nil, nil
}

// customImageID is a custom ECS image's ID, what alicloud-ecs builds make.
var customImageID = regexp.MustCompile(`^m-[a-z0-9]{1,64}$`)

// ValidImageID checks an ECS custom image ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, customImageID, "an ECS custom image ID (m- and lower-case letters and digits)")
}
