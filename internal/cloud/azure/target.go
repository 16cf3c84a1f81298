// Package azure is the Microsoft Azure target: the azure-arm source block,
// and, through the Azure SDK for Go (Resource Manager), the inventory of
// the managed images and gallery versions it made, temporary and deployed
// VMs with their network, leftover sweeps and a credential check.
package azure

import (
	"errors"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the azure target. The zero value talks to public Azure (or to
// $SINDRI_AZURE_ENDPOINT) with azidentity's default credential chain. The
// command line passes its environment down as Env; the other fields exist
// for tests.
type Cloud struct {
	cloud.Base
	// Tuning paces the API calls, azcore's retries of throttled (429,
	// honouring Retry-After up to Retry.Max) and transient (408, 5xx, a
	// timed-out try) answers, and the waits for operations and VM states.
	// Zero fields keep azure's pacing: 7 attempts with waits of 1s up to
	// 60s (about two minutes, like cloud.DefaultBackoff), 2 minutes a try,
	// polls from 5s doubling up to 30s, 20 minutes a wait.
	Tuning cloud.Tuning
	// Env is where the endpoint and the service principal's variables are
	// read; nil reads the process environment.
	Env cloud.Env
	// Endpoint is the Resource Manager URL; "" reads EndpointEnv, then
	// public Azure.
	Endpoint string
	// Credential replaces the default chain.
	Credential azcore.TokenCredential
	// Transport replaces the HTTP client.
	Transport policy.Transporter
}

var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "azure" }

// Regions is the build location, then the gallery's other replication
// regions.
func (Cloud) Regions(c *config.Config) (string, []string) {
	if c == nil || c.Packer.Clouds.Azure == nil {
		return "", nil
	}
	a := c.Packer.Clouds.Azure
	r := []string{a.Location}
	if a.Gallery != nil {
		for _, g := range a.Gallery.ReplicationRegions {
			if g != a.Location {
				r = append(r, g)
			}
		}
	}
	return "location", r
}

// PinRegion builds in region and, with a gallery, replicates the version
// to that region only.
func (c Cloud) PinRegion(cfg *config.Config, region string) ([]string, error) {
	a, err := azureConfig(cfg)
	if err != nil {
		return nil, err
	}
	if region == "" {
		return nil, errors.New("azure: no region to pin")
	}
	p := &cfg.Packer
	sets := []string{p.FieldPath(c.Name(), "location") + "=" + region}
	if a.Gallery != nil {
		sets = append(sets, p.FieldPath(c.Name(), "gallery.replication_regions")+"=["+region+"]")
	}
	return sets, nil
}

// SecretEnv are the service principal's secrets azidentity's chain and
// the azure-arm plugin read.
func (Cloud) SecretEnv() []string {
	return []string{"ARM_CLIENT_SECRET", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"}
}

// signIn is the advice for the azure errors that mean missing, expired
// or refused credentials.
var signIn = cloud.SignInHint{
	Errors: regexp.MustCompile(`(?i)credential|AADSTS|InvalidAuthenticationToken|AuthenticationFailed|AuthorizationFailed|az login|failed to acquire a token`),
	Text:   "azure credentials: run `az login` (then `az account set --subscription <id>`), or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET; in GitHub Actions pass AZURE_CLIENT_ID and AZURE_TENANT_ID with permissions id-token: write (OIDC, docs/azure.md)",
}

// CredentialHint says how to sign in when err is a credential failure.
func (Cloud) CredentialHint(err error) string { return signIn.For(err) }

// azureImageID is a managed image's resource ID or a gallery image
// version's, the two IDs azure-arm builds produce.
var azureImageID = regexp.MustCompile(`(?i)^/subscriptions/[a-z0-9-]{1,64}/resourceGroups/[a-z0-9._()-]{1,90}/providers/Microsoft\.Compute/` +
	`(images/[a-z0-9][a-z0-9._-]{0,79}|galleries/[a-z0-9][a-z0-9._]{0,79}/images/[a-z0-9][a-z0-9._-]{0,79}/versions/[0-9]+\.[0-9]+\.[0-9]+)$`)

// ValidImageID checks an Azure managed image or gallery image version ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, azureImageID, "an Azure image ID (/subscriptions/.../providers/Microsoft.Compute/images/NAME or .../galleries/G/images/D/versions/X.Y.Z)")
}
