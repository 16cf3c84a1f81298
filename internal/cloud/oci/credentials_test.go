package oci_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

func TestCheckCredentialsNamesTheIdentity(t *testing.T) {
	f, _, cfg := setup(t)
	for k, v := range f.Env() { // the zero value reads the process environment
		t.Setenv(k, v)
	}
	desc, err := oci.Cloud{}.CheckCredentials(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "tenancy " + ocifake.Tenancy + " user " + ocifake.User + " (" + ocifake.UserName + ") in " + ocifake.Region; desc != want {
		t.Errorf("CheckCredentials = %q, want %q", desc, want)
	}
	if got := f.Requests(); !slices.Equal(got, []string{"GET /20160918/users/" + ocifake.User}) {
		t.Errorf("requests = %v, want one GetUser", got)
	}
}

// No credential value in any error: a rejected call, a key the fake does
// not know (its signature fails), no credentials at all.
func TestCredentialsNeverInErrors(t *testing.T) {
	f, c, cfg := setup(t)
	secrets := secretsOf(t, f)
	f.FailNext(401, 1)
	_, err := c.CheckCredentials(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "NotAuthenticated") {
		t.Fatalf("error = %v", err)
	}
	noSecrets(t, err, secrets)

	other := t.TempDir() + "/config"
	data, _ := os.ReadFile(f.ConfigFile())
	wrongUser := strings.Replace(string(data), ocifake.User, "ocid1.user.oc1..fake-stranger", 1)
	if err := os.WriteFile(other, []byte(wrongUser), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Env = cloud.EnvList(envList(f, "OCI_CLI_CONFIG_FILE="+other))
	_, err = c.CheckCredentials(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "unknown keyId") {
		t.Fatalf("error with an unknown key = %v", err)
	}
	noSecrets(t, err, secrets)

	c.Env = cloud.EnvList(envList(f, "OCI_CLI_CONFIG_FILE="+t.TempDir()+"/missing", "OCI_CONFIG_FILE="))
	t.Setenv("HOME", t.TempDir()) // the SDK's default chain reads ~/.oci/config
	if _, err := c.ListImages(t.Context(), cfg); err == nil {
		t.Error("ListImages without credentials succeeded")
	} else {
		noSecrets(t, err, secrets)
	}
}

// envList is the fake's environment as KEY=value pairs, then extra (a
// later entry wins).
func envList(f *ocifake.Fake, extra ...string) []string {
	var out []string
	for k, v := range f.Env() {
		out = append(out, k+"="+v)
	}
	return append(out, extra...)
}

// secretsOf returns the fake key's PEM lines.
func secretsOf(t *testing.T, f *ocifake.Fake) []string {
	t.Helper()
	data, err := os.ReadFile(f.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	var keyFile string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "key_file="); ok {
			keyFile = v
		}
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(pem), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

func noSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error contains key material: %v", err)
		}
	}
	if strings.Contains(err.Error(), "Signature version") || strings.Contains(err.Error(), "signature=") {
		t.Fatalf("error contains the request signature: %v", err)
	}
}
