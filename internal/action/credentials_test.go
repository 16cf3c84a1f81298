package action_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/action"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// fakeOIDC is a test double of the Actions runtime's OIDC token endpoint.
func fakeOIDC(t *testing.T, status int) (*httptest.Server, *[]*http.Request) {
	t.Helper()
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"count":1,"value":"eyJ.fake-oidc-jwt.sig"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestCredentialsAzureOIDC(t *testing.T) {
	srv, seen := fakeOIDC(t, 200)
	dir := t.TempDir()
	env, secrets, err := action.Credentials(t.Context(), envOf(map[string]string{
		"AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111", "AZURE_TENANT_ID": "22222222-2222-2222-2222-222222222222",
		"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-bearer",
	}), dir, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	want := "AZURE_FEDERATED_TOKEN_FILE=" + filepath.Join(dir, "azure-federated-token")
	if len(env) != 1 || env[0] != want {
		t.Fatalf("env %v, want %s", env, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "azure-federated-token")); string(b) != "eyJ.fake-oidc-jwt.sig" {
		t.Fatalf("token file %q", b)
	}
	if len(secrets) != 1 || secrets[0] != "eyJ.fake-oidc-jwt.sig" {
		t.Fatalf("secrets %v", secrets)
	}
	r := (*seen)[0]
	if r.URL.Query().Get("audience") != action.AzureAudience || r.URL.Query().Get("api-version") != "2.0" || r.Header.Get("Authorization") != "Bearer runtime-bearer" {
		t.Fatalf("token request %s %v", r.URL, r.Header)
	}
}

func TestCredentialsAzureOIDCRefused(t *testing.T) {
	srv, _ := fakeOIDC(t, 403)
	_, _, err := action.Credentials(t.Context(), envOf(map[string]string{
		"AZURE_CLIENT_ID": "a", "AZURE_TENANT_ID": "b",
		"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x",
	}), t.TempDir(), srv.Client())
	if err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("err %v", err)
	}
}

func TestCredentialsNothingToDo(t *testing.T) {
	srv, seen := fakeOIDC(t, 200)
	for name, vars := range map[string]map[string]string{
		"no cloud":                   {},
		"azure with a client secret": {"AZURE_CLIENT_ID": "a", "AZURE_TENANT_ID": "b", "AZURE_CLIENT_SECRET": "s", "ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x"},
		"azure without OIDC":         {"AZURE_CLIENT_ID": "a", "AZURE_TENANT_ID": "b"},
		"oci with a config file":     {"OCI_CLI_USER": "u", "OCI_CLI_TENANCY": "t", "OCI_CLI_FINGERPRINT": "f", "OCI_CLI_KEY_CONTENT": "k", "OCI_CLI_REGION": "r", "OCI_CLI_CONFIG_FILE": "/c"},
		"oci with a secret missing":  {"OCI_CLI_USER": "u", "OCI_CLI_TENANCY": "t", "OCI_CLI_FINGERPRINT": "f", "OCI_CLI_REGION": "r"},
	} {
		env, secrets, err := action.Credentials(t.Context(), envOf(vars), t.TempDir(), srv.Client())
		if err != nil || len(env) != 0 || len(secrets) != 0 {
			t.Errorf("%s: env %v secrets %v err %v, want nothing", name, env, secrets, err)
		}
	}
	if len(*seen) != 0 {
		t.Errorf("asked for a token %d times", len(*seen))
	}
}

func TestCredentialsOCIConfigFile(t *testing.T) {
	dir := t.TempDir()
	key := `-----BEGIN PRIVATE KEY-----\nMIIfakekeybody\n-----END PRIVATE KEY-----`
	env, secrets, err := action.Credentials(t.Context(), envOf(map[string]string{
		"OCI_CLI_USER": "ocid1.user.oc1..u", "OCI_CLI_TENANCY": "ocid1.tenancy.oc1..t", "OCI_CLI_FINGERPRINT": "aa:bb",
		"OCI_CLI_KEY_CONTENT": key, "OCI_CLI_REGION": "us-ashburn-1",
	}), dir, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "oci-config")
	if strings.Join(env, " ") != "OCI_CLI_CONFIG_FILE="+cfg+" OCI_CONFIG_FILE="+cfg {
		t.Fatalf("env %v", env)
	}
	b, _ := os.ReadFile(cfg)
	want := "[DEFAULT]\nuser=ocid1.user.oc1..u\nfingerprint=aa:bb\ntenancy=ocid1.tenancy.oc1..t\nregion=us-ashburn-1\nkey_file=" + filepath.Join(dir, "oci-api-key.pem") + "\n"
	if string(b) != want {
		t.Fatalf("config:\n%s\nwant:\n%s", b, want)
	}
	k, _ := os.ReadFile(filepath.Join(dir, "oci-api-key.pem"))
	if string(k) != "-----BEGIN PRIVATE KEY-----\nMIIfakekeybody\n-----END PRIVATE KEY-----\n" {
		t.Fatalf("key file %q", k)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "oci-api-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	// The one-line secret and the key as written, line breaks real.
	if len(secrets) != 2 || secrets[0] != key || secrets[1] != strings.TrimSpace(string(k)) {
		t.Fatalf("secrets %q", secrets)
	}
}
