package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv overrides the host of every OCI service the target calls
// (compute, virtual network, block storage, identity): the cross-cloud
// tests point the real binary at a local fake with it.
const EndpointEnv = "SINDRI_OCI_ENDPOINT"

// defaults are OCI's own pacing where a Tuning field is zero: the SDK
// client's 60 s per-attempt time-out stays (CallTimeout 0), up to ten
// attempts, state polls from 0.5 s doubling to 5 s.
var defaults = cloud.Tuning{
	MaxAttempts:  10,
	PollInterval: 500 * time.Millisecond,
	PollMax:      5 * time.Second,
}

// tuning is c.Tuning with OCI's defaults, then the shared ones.
func (c Cloud) tuning() cloud.Tuning { return c.Tuning.Or(defaults).WithDefaults() }

// clients are the SDK clients of one configuration.
type clients struct {
	compute  core.ComputeClient
	network  core.VirtualNetworkClient
	storage  core.BlockstorageClient
	identity identity.IdentityClient
	provider common.ConfigurationProvider
	region   string
	cfg      *config.OCI
}

// provider is the credential chain: Cloud.Provider when set; otherwise an
// OCI config file named by OCI_CLI_CONFIG_FILE or OCI_CONFIG_FILE (profile
// OCI_CLI_PROFILE) first, then the SDK's own default chain (~/.oci/config,
// ~/.oraclebmc/config, TF_VAR_* variables). The explicit file goes first
// because the SDK prefers ~/.oci/config over OCI_CONFIG_FILE, and a path
// given in the environment is the more deliberate choice.
func (c Cloud) provider() (common.ConfigurationProvider, error) {
	if c.Provider != nil {
		return c.Provider, nil
	}
	var chain []common.ConfigurationProvider
	for _, env := range []string{"OCI_CLI_CONFIG_FILE", "OCI_CONFIG_FILE"} {
		path := c.Env.Get(env)
		if path == "" {
			continue
		}
		profile := c.Env.Get("OCI_CLI_PROFILE")
		if profile == "" {
			profile = "DEFAULT"
		}
		p, err := common.ConfigurationProviderFromFileWithProfile(path, profile, "")
		if err != nil {
			return nil, fmt.Errorf("oci config file from %s: %w", env, err)
		}
		chain = append(chain, p)
		break
	}
	chain = append(chain, common.DefaultConfigProvider())
	return common.ComposingConfigurationProvider(chain)
}

// regionProvider answers the configured region instead of the chain's.
type regionProvider struct {
	common.ConfigurationProvider
	region string
}

func (p regionProvider) Region() (string, error) { return p.region, nil }

// connect builds the SDK clients for a configuration.
func (c Cloud) connect(cfg *config.Config) (*clients, error) {
	if cfg == nil || cfg.Packer.Clouds.OCI == nil {
		return nil, errors.New("oci: the configuration has no oci block")
	}
	o := cfg.Packer.Clouds.OCI
	p, err := c.provider()
	if err != nil {
		return nil, err
	}
	if o.Region != "" {
		p = regionProvider{ConfigurationProvider: p, region: o.Region}
	}
	region, err := p.Region()
	if err != nil {
		return nil, fmt.Errorf("oci: no region: set region in sindri.yaml or in the OCI config file: %w", err)
	}
	cl := &clients{provider: p, region: region, cfg: o}
	if cl.compute, err = core.NewComputeClientWithConfigurationProvider(p); err != nil {
		return nil, fmt.Errorf("oci credentials: %w", err)
	}
	if cl.network, err = core.NewVirtualNetworkClientWithConfigurationProvider(p); err != nil {
		return nil, fmt.Errorf("oci credentials: %w", err)
	}
	if cl.storage, err = core.NewBlockstorageClientWithConfigurationProvider(p); err != nil {
		return nil, fmt.Errorf("oci credentials: %w", err)
	}
	if cl.identity, err = identity.NewIdentityClientWithConfigurationProvider(p); err != nil {
		return nil, fmt.Errorf("oci credentials: %w", err)
	}
	for _, b := range []*common.BaseClient{&cl.compute.BaseClient, &cl.network.BaseClient, &cl.storage.BaseClient, &cl.identity.BaseClient} {
		c.configure(b)
	}
	return cl, nil
}

// configure points one SDK client at the endpoint (Endpoint, else
// EndpointEnv), the transport and time-out of one attempt, and our retry
// policy. The SDK reads OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED from the
// process itself; here it is read through Env too, so a test's Env can
// switch the breaker off.
func (c Cloud) configure(b *common.BaseClient) {
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = c.Env.Get(EndpointEnv)
	}
	if endpoint != "" {
		b.Host = strings.TrimRight(endpoint, "/")
	}
	if hc, ok := b.HTTPClient.(*http.Client); ok {
		own := *hc
		if c.Transport != nil {
			own.Transport = c.Transport
		}
		if own.Transport == nil {
			own.Transport = http.DefaultTransport
		}
		own.Transport = callerTransport{base: own.Transport}
		if c.Tuning.CallTimeout > 0 {
			own.Timeout = c.Tuning.CallTimeout
		}
		b.HTTPClient = &own
	}
	if v, ok := c.Env.Lookup("OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED"); ok && strings.EqualFold(v, "false") {
		b.Configuration.CircuitBreaker = nil
	}
	policy := c.retryPolicy()
	b.Configuration.RetryPolicy = &policy
}

// retryPolicy is the SDK's own retryer with our bounds: it retries what
// the SDK's default policy retries (429, 5xx but 501, 409 IncorrectState
// and LockConflict, network time-outs), with exponential backoff and full
// jitter, at most Tuning.MaxAttempts times and Tuning.Retry.MaxElapsed in
// total. It
// leaves out the SDK's eventual-consistency mode, which would retry a 404
// for minutes after a create.
func (c Cloud) retryPolicy() common.RetryPolicy {
	t := c.tuning()
	b := t.Retry
	return common.NewRetryPolicyWithOptions(
		common.ReplaceWithValuesFromRetryPolicy(common.DefaultRetryPolicyWithoutEventualConsistency()),
		common.WithMaximumNumberAttempts(uint(t.MaxAttempts)),
		common.WithShouldRetryOperation(func(r common.OCIOperationResponse) bool {
			if !r.InitialAttemptTime.IsZero() && time.Since(r.InitialAttemptTime) > b.MaxElapsed {
				return false
			}
			if errors.As(r.Error, new(callerGone)) {
				return false
			}
			return common.DefaultShouldRetryOperation(r)
		}),
		common.WithNextDuration(func(r common.OCIOperationResponse) time.Duration {
			attempt := max(int(r.AttemptNumber)-1, 0)
			d := rand.N(b.Delay(attempt)) + time.Millisecond
			if caller := callerOf(r); caller != nil {
				_ = b.Sleep(caller, d) // ends early when the caller goes away
				return 0
			}
			return d
		}),
	)
}

// Cancellation. The SDK's Retry answers a context that ends at once, but
// its retry goroutine goes on writing the response it returns: a data race
// (oracle/oci-go-sdk#603). So the SDK is never given a context that ends:
// every call passes sdk(ctx), which keeps the caller's ctx as a value
// only. The transport aborts the request when that ctx ends, the retry
// policy then stops retrying, and its backoff waits end with it.

type callerKey struct{}

// sdk is the context an SDK call gets for the caller's ctx.
func sdk(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), callerKey{}, ctx)
}

// callerGone is a request given up because its caller's context ended.
type callerGone struct{ err error }

func (e callerGone) Error() string { return e.err.Error() }
func (e callerGone) Unwrap() error { return e.err }

// callerOf returns the caller's context of a response's request, or nil.
func callerOf(r common.OCIOperationResponse) context.Context {
	if r.Response == nil {
		return nil
	}
	hr := r.Response.HTTPResponse()
	if hr == nil || hr.Request == nil {
		return nil
	}
	caller, _ := hr.Request.Context().Value(callerKey{}).(context.Context)
	return caller
}

// callerTransport sends a request under its caller's context (see sdk).
type callerTransport struct{ base http.RoundTripper }

func (t callerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	caller, _ := req.Context().Value(callerKey{}).(context.Context)
	if caller == nil {
		return t.base.RoundTrip(req)
	}
	if caller.Err() != nil {
		return nil, callerGone{context.Cause(caller)}
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(caller, func() { cancel(context.Cause(caller)) })
	release := func() { stop(); cancel(nil) }
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		if caller.Err() != nil {
			return nil, callerGone{context.Cause(caller)}
		}
		return nil, err
	}
	resp.Body = releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody ends the request's tie to its caller once read.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b releasingBody) Close() error {
	defer b.release()
	return b.ReadCloser.Close()
}

// apiError is a failed API call: the operation, the service's code,
// message and request id, without the SDK's multi-line boilerplate.
type apiError struct {
	op  string
	err error
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &apiError{op: op, err: err}
}

func (e *apiError) Error() string {
	var se common.ServiceError
	if errors.As(e.err, &se) {
		return fmt.Sprintf("oci %s: %s (http %d %s, opc-request-id %s)", e.op, se.GetMessage(), se.GetHTTPStatusCode(), se.GetCode(), se.GetOpcRequestID())
	}
	return fmt.Sprintf("oci %s: %v", e.op, e.err)
}

func (e *apiError) Unwrap() error { return e.err }

// Is makes a 404 match cloud.ErrNotFound.
func (e *apiError) Is(target error) bool { return target == cloud.ErrNotFound && isNotFound(e.err) }

// isNotFound reports a 404; OCI answers NotAuthorizedOrNotFound both for
// what is gone and for what the caller may not see.
func isNotFound(err error) bool {
	var se common.ServiceError
	return errors.As(err, &se) && se.GetHTTPStatusCode() == http.StatusNotFound
}

// tagsOf copies freeform tags, never nil.
func tagsOf(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func sdkTime(t *common.SDKTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// pages calls list for the first page and then for every next page the
// responses name (opc-next-page), and returns all items in order.
func pages[T any](list func(page *string) (items []T, next *string, err error)) ([]T, error) {
	var out []T
	var page *string
	for {
		items, next, err := list(page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == nil || *next == "" {
			return out, nil
		}
		page = next
	}
}
