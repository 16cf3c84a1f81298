package gcp_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

func TestCheckCredentialsNamesTheIdentity(t *testing.T) {
	f, c, cfg := newFake(t)
	got, err := c.CheckCredentials(ctx(t), cfg)
	if err != nil || got != "project fake-project (number 424242424242)" {
		t.Fatalf("CheckCredentials = %q, %v", got, err)
	}
	f.Inject(cloudtest.Fault{Status: http.StatusForbidden, Code: "forbidden", Message: "Permission denied on resource project fake-project."})
	_, err = c.CheckCredentials(ctx(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "Permission denied on resource project fake-project.") {
		t.Fatalf("CheckCredentials = %v", err)
	}
	noSecrets(t, f.CredentialsFile, err)

	other := cloudtestLoad(t, "other-project-1")
	_, err = c.CheckCredentials(ctx(t), other)
	if err == nil || !strings.Contains(err.Error(), "The resource 'projects/other-project-1' was not found") {
		t.Fatalf("CheckCredentials(other project) = %v", err)
	}
	noSecrets(t, f.CredentialsFile, err)
}

// Without any credentials the auth library's own error already starts with
// "credentials:"; doctor shows it once, after the cloud's name.
func TestMissingCredentialsSayItOnce(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	_, err := gcp.Cloud{}.CheckCredentials(ctx(t), cloudtestLoad(t, "my-project-1"))
	if err == nil {
		t.Skip("this machine has Application Default Credentials")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "gcp: ") || strings.Contains(msg, "credentials: credentials:") {
		t.Fatalf("CheckCredentials = %q, want the cause once after gcp:", msg)
	}
}

// The Action hands the client the credential file google-github-actions/
// auth wrote, at its path inside the container, in the environment it
// passes down; the process environment keeps the runner's host path, where
// no file is. The client must sign in with the Env's file: Application
// Default Credentials read the process's and failed. Here the key's
// token_uri is the double's, and the compute endpoint an https address
// nothing answers, so the token exchange shows which file was used.
func TestCredentialFileFromEnvNotTheProcess(t *testing.T) {
	f := gcpfake.New(t)
	for _, k := range []string{"GCE_METADATA_HOST", "GCE_METADATA_IP"} {
		t.Setenv(k, f.Env()[k])
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/home/runner/work/repo/repo/gha-creds-0123456789abcdef.json")
	key := f.KeyFile(t, t.TempDir())
	c := gcp.Cloud{
		Endpoint: "https://127.0.0.1:1",
		Env:      cloud.EnvList([]string{"GOOGLE_APPLICATION_CREDENTIALS=" + key}),
		Tuning:   cloud.Tuning{MaxAttempts: 1, Retry: tiny, CallTimeout: 10 * time.Second},
	}
	_, err := c.CheckCredentials(ctx(t), cloudtestLoad(t, f.Project))
	if err == nil {
		t.Fatal("CheckCredentials reached a compute API on 127.0.0.1:1")
	}
	if strings.Contains(err.Error(), "gha-creds") || len(f.Calls("POST /token")) != 1 {
		t.Errorf("token requests to the Env's key: %d, error %v; want one exchange with the Env's file, not the process's", len(f.Calls("POST /token")), err)
	}
}

// A GOOGLE_APPLICATION_CREDENTIALS that is missing or not a credential
// file is named in the error; its content never is.
func TestCredentialFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"type":"mystery","private_key":"SECRET-KEY"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		filepath.Join(dir, "missing.json"): "no such file",
		bad:                                `unknown credential type "mystery"`,
	} {
		c := gcp.Cloud{Endpoint: "https://127.0.0.1:1", Env: cloud.EnvList([]string{"GOOGLE_APPLICATION_CREDENTIALS=" + file})}
		_, err := c.CheckCredentials(ctx(t), cloudtestLoad(t, "my-project-1"))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") || strings.Contains(err.Error(), "SECRET-KEY") {
			t.Errorf("%s: CheckCredentials = %v, want %q naming GOOGLE_APPLICATION_CREDENTIALS", file, err, want)
		}
	}
}
