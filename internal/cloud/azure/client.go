package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv overrides the Resource Manager endpoint (sovereign clouds,
// Azure Stack, and the tests' local fake).
const EndpointEnv = "SINDRI_AZURE_ENDPOINT"

// api holds the clients of one configuration.
type api struct {
	sub, rg, loc string
	pl           runtime.Pipeline // raw ARM reads (the subscription)
	endpoint     string
	compute      *armcompute.ClientFactory
	network      *armnetwork.ClientFactory
	poll         *runtime.PollUntilDoneOptions
	interval     time.Duration
}

func azureConfig(c *config.Config) (*config.Azure, error) {
	if c == nil || c.Packer.Clouds.Azure == nil {
		return nil, errors.New("azure: the config has no azure block")
	}
	return c.Packer.Clouds.Azure, nil
}

func (c Cloud) api(cfg *config.Config) (*api, error) {
	a, err := azureConfig(cfg)
	if err != nil {
		return nil, err
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv(EndpointEnv)
	}
	opts := &arm.ClientOptions{DisableRPRegistration: true}
	opts.Retry = policy.RetryOptions{
		MaxRetries:    int32(orInt(c.MaxRetries, 6)),
		RetryDelay:    orDur(c.RetryDelay, time.Second),
		MaxRetryDelay: orDur(c.MaxRetryDelay, 60*time.Second),
		TryTimeout:    orDur(c.TryTimeout, 2*time.Minute),
	}
	if c.Transport != nil {
		opts.Transport = c.Transport
	}
	cred := c.Credential
	if endpoint != "" {
		endpoint = strings.TrimSuffix(endpoint, "/")
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("azure: %s=%q is not a URL", EndpointEnv, endpoint)
		}
		opts.Cloud = azcloud.Configuration{
			ActiveDirectoryAuthorityHost: azcloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
				azcloud.ResourceManager: {Endpoint: endpoint, Audience: endpoint},
			},
		}
		if u.Scheme == "http" {
			if !loopback(u.Hostname()) {
				return nil, fmt.Errorf("azure: %s: plain http is only accepted for a loopback test endpoint", EndpointEnv)
			}
			// Only a local test double is reached over http: it gets a
			// fixed fake token, so no credential chain runs and nothing
			// probes the instance metadata service.
			opts.InsecureAllowCredentialWithHTTP = true
			if cred == nil {
				cred = staticToken{}
			}
		}
	} else {
		endpoint = azcloud.AzurePublic.Services[azcloud.ResourceManager].Endpoint
	}
	if cred == nil {
		// Environment, workload identity (GitHub OIDC), managed identity,
		// Azure CLI: the standard chain, as `az login` / azure/login leave it.
		dc, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions})
		if err != nil {
			return nil, fmt.Errorf("azure credentials: %w", err)
		}
		cred = dc
	}
	compute, err := armcompute.NewClientFactory(a.SubscriptionID, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure compute client: %w", err)
	}
	network, err := armnetwork.NewClientFactory(a.SubscriptionID, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure network client: %w", err)
	}
	raw, err := arm.NewClient("sindri-packer/azure", "v1.0.0", cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure client: %w", err)
	}
	interval := orDur(c.PollInterval, 5*time.Second)
	return &api{
		sub: a.SubscriptionID, rg: a.ResourceGroup, loc: a.Location,
		pl: raw.Pipeline(), endpoint: raw.Endpoint(),
		compute: compute, network: network,
		poll:     &runtime.PollUntilDoneOptions{Frequency: interval},
		interval: interval,
	}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// staticToken is the credential of loopback test endpoints only.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "sindri-fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func orInt(v, d int) int {
	if v != 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v != 0 {
		return v
	}
	return d
}

// APIError is a failed Resource Manager call: Azure's own code, message
// and request id, for the user and for Azure support. It unwraps to the
// SDK's *azcore.ResponseError (and to cloud.ErrNotFound on a 404).
type APIError struct {
	Op        string
	Status    int
	Code      string
	Message   string
	RequestID string
	err       error
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Op, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s + fmt.Sprintf(" (HTTP %d, request id %s)", e.Status, e.RequestID)
}

func (e *APIError) Unwrap() []error {
	if e.Status == http.StatusNotFound {
		return []error{e.err, cloud.ErrNotFound}
	}
	return []error{e.err}
}

// wrap gives err the operation's context; Azure's answers become APIError.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := &APIError{Op: op, Status: re.StatusCode, Code: re.ErrorCode, err: err}
	if resp := re.RawResponse; resp != nil {
		e.RequestID = resp.Header.Get("x-ms-request-id")
		if body, rerr := runtime.Payload(resp); rerr == nil {
			var doc struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(body, &doc) == nil {
				e.Message = doc.Error.Message
				if e.Code == "" {
					e.Code = doc.Error.Code
				}
			}
		}
	}
	if e.Code == "" {
		e.Code = http.StatusText(re.StatusCode)
	}
	return e
}

// notFound reports whether err is Azure's 404.
func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// gone treats "does not exist" as success, for idempotent deletes.
func gone(err error) error {
	if notFound(err) {
		return nil
	}
	return err
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// tagMap turns plain tags into the SDK's form.
func tagMap(t map[string]string) map[string]*string {
	out := make(map[string]*string, len(t))
	for k, v := range t {
		out[k] = ptr(v)
	}
	return out
}

func tag(t map[string]*string, k string) string {
	for key, v := range t {
		// Azure tag names are case-insensitive.
		if strings.EqualFold(key, k) {
			return deref(v)
		}
	}
	return ""
}

// sameLocation compares Azure locations ("westus2" vs "West US 2").
func sameLocation(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	return norm(a) == norm(b)
}
