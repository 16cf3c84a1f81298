// Package oci is the Oracle Cloud Infrastructure target: the oracle-oci
// source block, and the image inventory, instance lifecycle, leftover sweep
// and credential check through the official oci-go-sdk.
package oci

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"regexp"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the oci target. The zero value uses the SDK's standard
// credential chain and the real endpoints (or EndpointEnv), read from the
// process environment; the fields exist for the command line (Env) and
// for tests.
type Cloud struct {
	cloud.Base
	// Tuning paces the SDK's retries and the state polling.
	Tuning cloud.Tuning
	// Env is where OCI_CLI_CONFIG_FILE, OCI_CONFIG_FILE, OCI_CLI_PROFILE
	// and EndpointEnv are read (nil: the process environment). The SDK's
	// default chain (~/.oci/config, TF_VAR_*) reads the process's.
	Env cloud.Env
	// Provider replaces the credential chain.
	Provider common.ConfigurationProvider
	// Endpoint replaces every service's host ("" reads EndpointEnv).
	Endpoint string
	// Transport carries the requests (default: the SDK's).
	Transport http.RoundTripper
}

// The target's whole surface, checked by the compiler.
var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "oci" }

// buildRegion: an OCI image is built in one region and copied nowhere.
var buildRegion = cloud.OneRegion{Target: "oci", Field: "region", Of: func(s *config.CloudSet) string { return s.OCI.Region }}

// Regions is the region the image is built in.
func (Cloud) Regions(c *config.Config) (string, []string) { return buildRegion.Regions(c) }

// PinRegion builds in region: there is nothing to stop copying.
func (Cloud) PinRegion(c *config.Config, region string) ([]string, error) {
	return buildRegion.Pin(c, region)
}

// SecretEnv: the API signing key the Action writes from a workflow's
// OCI_CLI_* secrets.
func (Cloud) SecretEnv() []string { return []string{"OCI_CLI_KEY_CONTENT"} }

// signIn is the advice for the oci errors that mean missing, expired
// or refused credentials.
var signIn = cloud.SignInHint{
	Errors: regexp.MustCompile(`(?i)credential|NotAuthenticated|bad configuration|config file|private key|key_file|fingerprint`),
	Text:   "oci credentials: write the OCI config file (`oci setup config` makes ~/.oci/config with user, fingerprint, key_file, tenancy and region), or point OCI_CLI_CONFIG_FILE at one (profile: OCI_CLI_PROFILE)",
}

// CredentialHint says how to sign in when err is a credential failure.
func (Cloud) CredentialHint(err error) string { return signIn.For(err) }

// Clearly fake identity: the oracle builder insists on an OCI config file
// with a parsable key even to validate. No call is made with it.
const (
	fakeUser    = "ocid1.user.oc1..validateonlynotarealuser"
	fakeTenancy = "ocid1.tenancy.oc1..validateonlynotarealtenancy"
	fakeFinger  = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"
)

// Placeholders writes a fake OCI config file and key below dir/.oci and
// points oci_access_cfg_file at it: the oracle plugin finds ~/.oci/config
// through the passwd entry, not $HOME, so the file is passed explicitly.
func (Cloud) Placeholders(dir string) ([]string, map[string]string, error) {
	ociDir := filepath.Join(dir, ".oci")
	keyFile := filepath.Join(ociDir, "validate-only-key.pem")
	if err := os.MkdirAll(ociDir, 0o700); err != nil {
		return nil, nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cfgFile := filepath.Join(ociDir, "config")
	ociConfig := "[DEFAULT]\n" +
		"user=" + fakeUser + "\n" +
		"fingerprint=" + fakeFinger + "\n" +
		"tenancy=" + fakeTenancy + "\n" +
		"region=us-ashburn-1\n" +
		"key_file=" + keyFile + "\n"
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(cfgFile, []byte(ociConfig), 0o600); err != nil {
		return nil, nil, err
	}
	return nil, map[string]string{"oci_access_cfg_file": cfgFile}, nil
}

// imageOCID is an image's OCID: ocid1.image.<realm>.[region][.future].<id>.
var imageOCID = regexp.MustCompile(`^ocid1\.image\.[a-z0-9]+(\.[a-z0-9-]*){1,2}\.[a-z0-9_-]+$`)

// ValidImageID checks an OCI image OCID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, imageOCID, "an OCI image OCID (ocid1.image.oc1.REGION.ID)")
}
