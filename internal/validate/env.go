package validate

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
)

// Clearly fake identities: the oracle and alicloud builders insist on
// credentials even to validate. They only have to parse; no call is made.
const (
	fakeOCIUser    = "ocid1.user.oc1..validateonlynotarealuser"
	fakeOCITenancy = "ocid1.tenancy.oc1..validateonlynotarealtenancy"
	fakeOCIFinger  = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"
	fakeAliKey     = "VALIDATE-ONLY-NOT-A-REAL-KEY"
)

// packerWrapCookie is the value packer's main.go checks (PACKER_WRAP_COOKIE)
// to skip its panicwrap re-exec.
const packerWrapCookie = "49C22B1A-3A93-4C98-97FA-E07D18C787B5"

// isolatedEnv builds the whole environment of a validate run: a fresh HOME
// (so no real ~/.oci, ~/.aws, ~/.azure or gcloud file is read), the fake
// identities above, and only PATH and PACKER_PLUGIN_PATH from the host.
// It also returns per-cloud Packer variables that point at the fakes.
func isolatedEnv(host []string) ([]string, map[string]map[string]string, func(), error) {
	home, err := os.MkdirTemp("", "sindri-validate-home-")
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup := func() { os.RemoveAll(home) }
	ociDir := filepath.Join(home, ".oci")
	keyFile := filepath.Join(ociDir, "validate-only-key.pem")
	if err := os.MkdirAll(ociDir, 0o700); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	ociConfig := "[DEFAULT]\n" +
		"user=" + fakeOCIUser + "\n" +
		"fingerprint=" + fakeOCIFinger + "\n" +
		"tenancy=" + fakeOCITenancy + "\n" +
		"region=us-ashburn-1\n" +
		"key_file=" + keyFile + "\n"
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(ociDir, "config"), []byte(ociConfig), 0o600); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	env := []string{
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"PACKER_CONFIG_DIR=" + filepath.Join(home, ".packer.d"),
		"PACKER_CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
		"CHECKPOINT_DISABLE=1",
		"AWS_EC2_METADATA_DISABLED=true",
		// Packer normally re-executes itself under a crash-reporting
		// wrapper (panicwrap); this cookie, which Terraform sets the same
		// way, says the wrapper is already there. Each validate then starts
		// one packer process instead of two: about 40% less time. Without
		// the wrapper packer logs everything to stderr whatever PACKER_LOG
		// says (packer 1.9.4 main.go, wrappedMain); Run reads diagnostics
		// from stdout only and never shows that log.
		"PACKER_WRAP_COOKIE=" + packerWrapCookie,
		"ALICLOUD_ACCESS_KEY=" + fakeAliKey,
		"ALICLOUD_SECRET_KEY=" + fakeAliKey,
	}
	for _, kv := range host {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "PACKER_PLUGIN_PATH" {
			env = append(env, kv)
		}
	}
	// The oracle plugin finds ~/.oci/config through the passwd entry, not
	// $HOME, so the fake file is passed explicitly.
	vars := map[string]map[string]string{"oci": {"oci_access_cfg_file": filepath.Join(ociDir, "config")}}
	return env, vars, cleanup, nil
}
