package oci

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
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

// Defaults of the zero value.
const (
	defaultPoll        = 5 * time.Second
	defaultWaitTimeout = 20 * time.Minute
	maxAttempts        = 10
)

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
		path := os.Getenv(env)
		if path == "" {
			continue
		}
		profile := os.Getenv("OCI_CLI_PROFILE")
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
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv(EndpointEnv)
	}
	policy := c.retryPolicy()
	for _, b := range []*common.BaseClient{&cl.compute.BaseClient, &cl.network.BaseClient, &cl.storage.BaseClient, &cl.identity.BaseClient} {
		if endpoint != "" {
			b.Host = strings.TrimRight(endpoint, "/")
		}
		if c.HTTPClient != nil {
			b.HTTPClient = c.HTTPClient
		}
		b.Configuration.RetryPolicy = &policy
	}
	return cl, nil
}

func (c Cloud) backoff() cloud.Backoff {
	b := c.Backoff
	if b.MaxElapsed <= 0 {
		b.MaxElapsed = cloud.DefaultBackoff.MaxElapsed
	}
	return b
}

// retryPolicy is the SDK's own retryer with our bounds: it retries what
// the SDK's default policy retries (429, 5xx but 501, 409 IncorrectState
// and LockConflict, network time-outs), with exponential backoff and full
// jitter, at most maxAttempts times and Backoff.MaxElapsed in total. It
// leaves out the SDK's eventual-consistency mode, which would retry a 404
// for minutes after a create.
func (c Cloud) retryPolicy() common.RetryPolicy {
	b := c.backoff()
	return common.NewRetryPolicyWithOptions(
		common.ReplaceWithValuesFromRetryPolicy(common.DefaultRetryPolicyWithoutEventualConsistency()),
		common.WithMaximumNumberAttempts(maxAttempts),
		common.WithShouldRetryOperation(func(r common.OCIOperationResponse) bool {
			if !r.InitialAttemptTime.IsZero() && time.Since(r.InitialAttemptTime) > b.MaxElapsed {
				return false
			}
			return common.DefaultShouldRetryOperation(r)
		}),
		common.WithNextDuration(func(r common.OCIOperationResponse) time.Duration {
			attempt := max(int(r.AttemptNumber)-1, 0)
			return rand.N(b.Delay(attempt)) + time.Millisecond
		}),
	)
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

// waitFor polls check until it reports done, backing off between polls
// (Backoff, at most PollInterval apart), bounded by ctx and WaitTimeout.
func (c Cloud) waitFor(ctx context.Context, what string, check func(ctx context.Context) (bool, error)) error {
	timeout := c.WaitTimeout
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	poll := c.PollInterval
	if poll <= 0 {
		poll = defaultPoll
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := c.Backoff
	for attempt := 0; ; attempt++ {
		done, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		wait := min(b.Delay(attempt), poll)
		if b.Sleep != nil {
			err = b.Sleep(ctx, wait)
		} else {
			err = cloud.Sleep(ctx, wait)
		}
		if err != nil || ctx.Err() != nil {
			return fmt.Errorf("oci: waiting for %s: %w", what, context.Cause(ctx))
		}
	}
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

// more reports whether a list response names a next page.
func more(next *string) bool { return next != nil && *next != "" }
