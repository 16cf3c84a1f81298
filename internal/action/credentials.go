package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// AzureAudience is the audience Microsoft Entra ID expects of a federated
// (workload identity) token.
const AzureAudience = "api://AzureADTokenExchange"

// Credentials bridges what a GitHub Actions job hands a container action to
// what the cloud SDKs' standard chains and Packer read, because two clouds'
// usual login steps do not reach into the container:
//
//   - Azure: azure/login logs the runner's az CLI in, which the container
//     cannot see. With AZURE_CLIENT_ID and AZURE_TENANT_ID set and the job
//     allowed OIDC (id-token: write), the job's OIDC token for Entra ID is
//     written to a file named by AZURE_FEDERATED_TOKEN_FILE: the workload
//     identity credential of azidentity reads it, and the azure target hands
//     it to Packer as client_jwt.
//   - OCI: the SDK and Packer read a config file, not the OCI_CLI_USER,
//     OCI_CLI_TENANCY, OCI_CLI_FINGERPRINT, OCI_CLI_KEY_CONTENT and
//     OCI_CLI_REGION secrets a workflow has: those become a config file named
//     by OCI_CLI_CONFIG_FILE and OCI_CONFIG_FILE.
//
// Nothing is done where the job already configured a cloud another way. It
// returns KEY=value assignments, the secret values to mask, and writes its
// files (mode 0600) into dir.
func Credentials(ctx context.Context, getenv func(string) string, dir string, client *http.Client) (env, secrets []string, err error) {
	set := func(k string) bool { return getenv(k) != "" }
	if set("AZURE_CLIENT_ID") && set("AZURE_TENANT_ID") && !set("AZURE_CLIENT_SECRET") && !set("AZURE_FEDERATED_TOKEN_FILE") &&
		set("ACTIONS_ID_TOKEN_REQUEST_URL") && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN") {
		token, err := oidcToken(ctx, client, getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), AzureAudience)
		if err != nil {
			return nil, nil, fmt.Errorf("azure: GitHub OIDC token: %w", err)
		}
		p := filepath.Join(dir, "azure-federated-token")
		if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
			return nil, nil, err
		}
		env = append(env, "AZURE_FEDERATED_TOKEN_FILE="+p)
		secrets = append(secrets, token)
	}
	oci := []string{"OCI_CLI_USER", "OCI_CLI_TENANCY", "OCI_CLI_FINGERPRINT", "OCI_CLI_KEY_CONTENT", "OCI_CLI_REGION"}
	all := true
	for _, k := range oci {
		all = all && set(k)
	}
	if all && !set("OCI_CLI_CONFIG_FILE") && !set("OCI_CONFIG_FILE") {
		key := getenv("OCI_CLI_KEY_CONTENT")
		// Secrets pasted on one line keep their line breaks as \n.
		if !strings.Contains(key, "\n") {
			key = strings.ReplaceAll(key, `\n`, "\n")
		}
		keyFile := filepath.Join(dir, "oci-api-key.pem")
		if err := os.WriteFile(keyFile, []byte(strings.TrimSpace(key)+"\n"), 0o600); err != nil {
			return nil, nil, err
		}
		cfg := fmt.Sprintf("[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nregion=%s\nkey_file=%s\n",
			getenv("OCI_CLI_USER"), getenv("OCI_CLI_FINGERPRINT"), getenv("OCI_CLI_TENANCY"), getenv("OCI_CLI_REGION"), keyFile)
		cfgFile := filepath.Join(dir, "oci-config")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			return nil, nil, err
		}
		env = append(env, "OCI_CLI_CONFIG_FILE="+cfgFile, "OCI_CONFIG_FILE="+cfgFile)
		// Both forms: the secret as the workflow holds it (maybe one line
		// with \n escapes) and the key as written, whose real lines a tool
		// may print.
		secrets = append(secrets, getenv("OCI_CLI_KEY_CONTENT"), strings.TrimSpace(key))
	}
	return env, secrets, nil
}

// oidcToken asks the Actions runtime for the job's OIDC token.
func oidcToken(ctx context.Context, client *http.Client, requestURL, bearer, audience string) (string, error) {
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d (does the job have permissions: id-token: write?)", resp.StatusCode)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", errors.New("the answer holds no token")
	}
	return v.Value, nil
}
