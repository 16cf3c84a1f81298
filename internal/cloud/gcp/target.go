package gcp

import (
	"net/http"
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the gcp target. The zero value talks to the Compute Engine API
// (or to $SINDRI_GCP_ENDPOINT) with Application Default Credentials; the
// fields exist for tests.
type Cloud struct {
	cloud.Base
	// Tuning paces the API calls and the waits for operations and
	// instance states. Zero fields take the gcp defaults (polls from 1s
	// up to 10s, each wait bounded by 15m; no bound on the attempts of a
	// call but Retry's MaxElapsed), then cloud.DefaultTuning.
	Tuning cloud.Tuning
	// Env is where the target reads SINDRI_GCP_ENDPOINT; nil reads the
	// process environment.
	Env cloud.Env
	// Endpoint overrides $SINDRI_GCP_ENDPOINT; a loopback http URL also
	// turns authentication off.
	Endpoint string
	// HTTPClient, when set, carries every request instead of the SDK's
	// authenticating client (tests only: it sends no credentials).
	HTTPClient *http.Client
}

var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "gcp" }

// buildZone: a GCP image is built in one zone (images are global, nothing
// is copied).
var buildZone = cloud.OneRegion{Target: "gcp", Field: "zone", Of: func(s *config.CloudSet) string { return s.GCP.Zone }}

// Regions is the zone the image is built in.
func (Cloud) Regions(c *config.Config) (string, []string) { return buildZone.Regions(c) }

// PinRegion builds in zone region: there is nothing copied elsewhere.
func (Cloud) PinRegion(c *config.Config, region string) ([]string, error) {
	return buildZone.Pin(c, region)
}

// SecretEnv: GOOGLE_CREDENTIALS holds a service-account key itself (the
// plugin reads it); GOOGLE_APPLICATION_CREDENTIALS only names a file.
func (Cloud) SecretEnv() []string { return []string{"GOOGLE_CREDENTIALS"} }

// signIn is the advice for the gcp errors that mean missing, expired
// or refused credentials.
var signIn = cloud.SignInHint{
	Errors: regexp.MustCompile(`(?i)credential|oauth2|invalid_grant|UNAUTHENTICATED|reauth|invalid authentication`),
	Text:   "gcp credentials: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file; in GitHub Actions use google-github-actions/auth",
}

// CredentialHint says how to sign in when err is a credential failure.
func (Cloud) CredentialHint(err error) string { return signIn.For(err) }

// gcpImageID is an image name, or its resource path or self link (the
// compute API's URL, or a test server's).
var gcpImageID = regexp.MustCompile(`^((https?://[a-z0-9.-]+(:[0-9]{1,5})?/compute/(v1|beta)/)?projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/global/images/(family/)?)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidImageID checks a GCP image name or self link.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, gcpImageID, "a GCP image name (lower-case letters, digits and -, at most 63) or image self link")
}
