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
// service; else the standard chain (environment, workload identity as
// GitHub OIDC leaves it, managed identity, the Azure CLI's `az login`).
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
	dc, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions})
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	return dc, nil
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
