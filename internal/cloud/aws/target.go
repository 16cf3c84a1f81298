package aws

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the aws target. The zero value is what package targets uses:
// credentials come from the SDK's standard chain, the region from the
// config, the endpoint from SINDRI_AWS_ENDPOINT when set.
type Cloud struct {
	cloud.Base
	// Tuning paces the API calls (CallTimeout bounds one HTTP attempt,
	// then the SDK retryer tries again, MaxAttempts in all, waiting as
	// Retry says; the SDK counts attempts, so Retry.MaxElapsed bounds only
	// the retried deletes that wait for a dependency, default 3 minutes)
	// and the waits for instance states. Zero fields take the defaults:
	// cloud.DefaultTuning's, except state polls back off to 10s at most
	// and give up after 15 minutes.
	Tuning cloud.Tuning
	// Env is where SINDRI_AWS_ENDPOINT and the credentials (static keys,
	// profile, shared files) are read; nil reads the process environment.
	Env cloud.Env
	// Endpoint, when set, replaces SINDRI_AWS_ENDPOINT.
	Endpoint string
}

var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "aws" }

// Regions is the build region, then ami_regions (the AMI's copies).
func (Cloud) Regions(c *config.Config) (string, []string) {
	if c == nil || c.Packer.Clouds.AWS == nil {
		return "", nil
	}
	a := c.Packer.Clouds.AWS
	return "region", append([]string{a.Region}, a.AMIRegions...)
}

// PinRegion builds in region and copies the AMI nowhere.
func (c Cloud) PinRegion(cfg *config.Config, region string) ([]string, error) {
	if _, err := awsBlock(cfg); err != nil {
		return nil, err
	}
	p := &cfg.Packer
	return []string{
		p.FieldPath(c.Name(), "region") + "=" + region,
		p.FieldPath(c.Name(), "ami_regions") + "=[]",
	}, nil
}

// SecretEnv are the standard chain's secret variables.
func (Cloud) SecretEnv() []string { return []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} }

// signIn is the advice for the aws errors that mean missing, expired
// or refused credentials.
var signIn = cloud.SignInHint{
	Errors: regexp.MustCompile(`(?i)credential|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|AuthFailure|SignatureDoesNotMatch|UnauthorizedOperation|security token|SSO session|ssooidc|token has expired`),
	Text:   "aws credentials: sign in with `aws sso login --profile <profile>` and set AWS_PROFILE=<profile>, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in GitHub Actions use aws-actions/configure-aws-credentials (OIDC)",
}

// CredentialHint says how to sign in when err is a credential failure.
func (Cloud) CredentialHint(err error) string { return signIn.For(err) }

// Placeholders keep an offline validate from asking the instance
// metadata service for credentials; amazon-ebs needs nothing else.
func (Cloud) Placeholders(string) ([]string, map[string]string, error) {
	return []string{"AWS_EC2_METADATA_DISABLED=true"}, nil, nil
}

// amiID is an AMI ID: "ami-" and 8 or 17 hex digits. Packer's multi-region
// artifact ("us-east-1:ami-...,us-west-2:ami-...") is split by region
// before it becomes a result: outputs carry bare AMI IDs, one per region.
var amiID = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

// ValidImageID checks an AMI ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, amiID, "an AMI ID (ami- and 8 to 17 hex digits)")
}
