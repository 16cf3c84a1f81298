package azure

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// credential points opts at the endpoint and returns what signs the
// requests: c.Credential; for a loopback test double, a fixed fake token,
// so no credential chain runs and nothing probes the instance metadata
// service; else the service principal c.Env names (envCredential), then
// the standard chain (environment, workload identity as GitHub OIDC leaves
// it, managed identity, the Azure CLI's `az login`).
func (c Cloud) credential(opts *arm.ClientOptions) (azcore.TokenCredential, error) {
	local, err := c.endpoint(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Credential != nil:
		return c.Credential, nil
	case local:
		return staticToken{}, nil
	}
	var chain []azcore.TokenCredential
	if ec, err := c.envCredential(opts.ClientOptions); err != nil {
		return nil, err
	} else if ec != nil {
		chain = append(chain, ec)
	}
	dc, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions})
	if err != nil && chain == nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	if err == nil {
		chain = append(chain, dc)
	}
	if len(chain) == 1 {
		return chain[0], nil
	}
	return azidentity.NewChainedTokenCredential(chain, nil)
}

// envCredential is the service principal c.Env names, the way the
// standard chain reads it from the process environment: AZURE_CLIENT_ID
// and AZURE_TENANT_ID with AZURE_FEDERATED_TOKEN_FILE (workload identity:
// what the Action writes from the job's OIDC token) or AZURE_CLIENT_SECRET;
// AZURE_AUTHORITY_HOST for another cloud's Entra ID. The standard chain
// reads only the process environment, which the Action leaves alone, so
// without this the client would miss the token file packer is given. nil
// when c.Env names none.
func (c Cloud) envCredential(opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	id, tenant := c.Env.Get("AZURE_CLIENT_ID"), c.Env.Get("AZURE_TENANT_ID")
	if id == "" || tenant == "" {
		return nil, nil
	}
	if host := c.Env.Get("AZURE_AUTHORITY_HOST"); host != "" {
		opts.Cloud.ActiveDirectoryAuthorityHost = host
	}
	var (
		cred azcore.TokenCredential
		err  error
	)
	if file := c.Env.Get("AZURE_FEDERATED_TOKEN_FILE"); file != "" {
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: id, TenantID: tenant, TokenFilePath: file,
		})
	} else if secret := c.Env.Get("AZURE_CLIENT_SECRET"); secret != "" {
		cred, err = azidentity.NewClientSecretCredential(tenant, id, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	} else {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("azure credentials: the service principal of AZURE_CLIENT_ID: %w", err)
	}
	return cred, nil
}

// staticToken is the credential of loopback test endpoints only.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "sindri-fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// CheckCredentials gets a token through the standard chain and reads the
// configured subscription (a cheap ARM call any reader may make).
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	a, err := c.api(cfg)
	if err != nil {
		return "", err
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, a.endpoint+"/subscriptions/"+a.sub)
	if err != nil {
		return "", fmt.Errorf("azure: check credentials: %w", err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", "2022-12-01")
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := a.pl.Do(req)
	if err != nil {
		return "", wrap("azure: read subscription "+a.sub, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return "", wrap("azure: read subscription "+a.sub, runtime.NewResponseError(resp))
	}
	var doc struct {
		SubscriptionID string `json:"subscriptionId"`
		DisplayName    string `json:"displayName"`
		State          string `json:"state"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &doc); err != nil {
		return "", fmt.Errorf("azure: read subscription %s: %w", a.sub, err)
	}
	desc := "subscription " + doc.SubscriptionID
	if doc.DisplayName != "" {
		desc += " (" + doc.DisplayName
		if doc.State != "" {
			desc += ", " + doc.State
		}
		desc += ")"
	}
	return desc, nil
}
