package azure_test

import (
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// CheckCredentials names the subscription, through the Env the caller
// passes or, for the zero value, the process environment; no credential
// value ever appears in an answer or an error.
func TestCheckCredentialsNamesTheIdentity(t *testing.T) {
	for _, zero := range []bool{false, true} {
		name := map[bool]string{false: "through Env", true: "zero value"}[zero]
		t.Run(name, func(t *testing.T) {
			c, f, cfg := setup(t, fakeConfig)
			env := f.Env()
			if zero {
				for k, v := range env {
					t.Setenv(k, v)
				}
				c = azure.Cloud{}
			}
			got, err := c.CheckCredentials(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if want := "subscription 00000000-0000-0000-0000-00000000fa4e (Fake Subscription, Enabled)"; got != want {
				t.Errorf("CheckCredentials = %q, want %q", got, want)
			}
			f.Inject(cloudtest.Fault{Match: "GET /subscriptions/", Status: 401, Code: "InvalidAuthenticationToken", Message: "The access token is invalid."})
			_, err = c.CheckCredentials(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), "InvalidAuthenticationToken") {
				t.Fatalf("err = %v", err)
			}
			for _, text := range []string{got, err.Error()} {
				for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
					if strings.Contains(text, env[k]) {
						t.Errorf("%s leaked into %q", k, text)
					}
				}
				if strings.Contains(text, "sindri-fake-token") {
					t.Errorf("token leaked into %q", text)
				}
			}
		})
	}
}
