package azure_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
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

// entraDouble is a TEST DOUBLE, as an azcore transport, of Entra ID (the
// instance and tenant discovery MSAL makes, the token endpoint) and of the
// one Resource Manager read CheckCredentials makes. It keeps the client
// assertions it was given and signs only with its token.
type entraDouble struct {
	mu         sync.Mutex
	assertions []string
	armAuth    []string
}

const entraToken = "token-for-the-federated-assertion"

func (d *entraDouble) Do(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	const login = "https://login.microsoftonline.com/"
	tenant := "11111111-2222-3333-4444-555555555555"
	body := ""
	switch u := r.URL.String(); {
	case strings.HasPrefix(u, login+"common/discovery/instance"):
		body = `{"tenant_discovery_endpoint":"` + login + tenant + `/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":"login.microsoftonline.com","preferred_cache":"login.windows.net","aliases":["login.microsoftonline.com","login.windows.net"]}]}`
	case strings.HasPrefix(u, login+tenant+"/v2.0/.well-known/openid-configuration"):
		body = `{"token_endpoint":"` + login + tenant + `/oauth2/v2.0/token","authorization_endpoint":"` + login + tenant + `/oauth2/v2.0/authorize","issuer":"` + login + tenant + `/v2.0"}`
	case r.Method == http.MethodPost && u == login+tenant+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		d.assertions = append(d.assertions, r.PostForm.Get("client_assertion"))
		body = `{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"` + entraToken + `"}`
	case strings.HasPrefix(u, "https://management.example.test/subscriptions/"+azurefake.Subscription+"?"):
		d.armAuth = append(d.armAuth, r.Header.Get("Authorization"))
		body = `{"subscriptionId":"` + azurefake.Subscription + `","displayName":"Entra Double","state":"Enabled"}`
	default:
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	}
	h := http.Header{"Content-Type": []string{"application/json"}}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// The Action writes the job's OIDC token to a file and names it, with the
// service principal, in the environment it passes down, never in the
// process's. The client must sign in with that file: the SDK's own chain
// reads only the process environment, where the runner left
// AZURE_CLIENT_ID and AZURE_TENANT_ID but no token file, and failed.
func TestCredentialFromEnvNotTheProcess(t *testing.T) {
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"} {
		t.Setenv(k, "")
	}
	t.Setenv("AZURE_CLIENT_ID", "runner-only-client")
	token := filepath.Join(t.TempDir(), "azure-federated-token")
	if err := os.WriteFile(token, []byte("the-jobs-oidc-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &entraDouble{}
	c := azure.Cloud{
		Endpoint: "https://management.example.test", Transport: d,
		Env: cloud.EnvList([]string{
			"AZURE_CLIENT_ID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "AZURE_TENANT_ID=11111111-2222-3333-4444-555555555555",
			"AZURE_FEDERATED_TOKEN_FILE=" + token,
		}),
		Tuning: cloud.Tuning{MaxAttempts: 1, CallTimeout: 10 * time.Second},
	}
	got, err := c.CheckCredentials(t.Context(), cloudtest.Load(t, fakeConfig))
	if err != nil {
		t.Fatalf("CheckCredentials with the Env's workload identity: %v", err)
	}
	if !strings.Contains(got, "Entra Double") {
		t.Errorf("CheckCredentials = %q", got)
	}
	if len(d.assertions) != 1 || d.assertions[0] != "the-jobs-oidc-token" {
		t.Errorf("client assertions %q, want the token file's content once", d.assertions)
	}
	if len(d.armAuth) != 1 || d.armAuth[0] != "Bearer "+entraToken {
		t.Errorf("Resource Manager was called with %q, want the token Entra ID gave", d.armAuth)
	}
}
