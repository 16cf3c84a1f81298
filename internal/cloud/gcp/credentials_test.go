package gcp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
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
