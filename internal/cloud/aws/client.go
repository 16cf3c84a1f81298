package aws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv names the variable that points every EC2 and STS call at
// another endpoint (the command-line tests aim it at awsfake). The SDK's
// own AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL work too.
const EndpointEnv = "SINDRI_AWS_ENDPOINT"

// The aws target's own pacing where it differs from cloud.DefaultTuning:
// EC2 boots and terminates in a minute or two, so state polls back off to
// 10s at most and one wait gives up after 15 minutes; the deletes that
// wait for a dependency to go retry for 3 minutes.
const (
	pollMax       = 10 * time.Second
	waitTimeout   = 15 * time.Minute
	dependentWait = 3 * time.Minute
)

// clients are one region's API clients.
type clients struct {
	ec2    *ec2.Client
	sts    *sts.Client
	region string
}

func awsBlock(c *config.Config) (*config.AWS, error) {
	if c == nil || c.Packer.Clouds.AWS == nil {
		return nil, errors.New("aws: the config has no aws block")
	}
	return c.Packer.Clouds.AWS, nil
}

// open reads the config's aws block and connects to its build region.
func (c Cloud) open(ctx context.Context, cfg *config.Config) (*config.AWS, *clients, error) {
	a, err := awsBlock(cfg)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.connect(ctx, a.Region)
	if err != nil {
		return nil, nil, err
	}
	return a, cl, nil
}

// allPages reads every page of an EC2 list call through its paginator
// and returns the items that items takes from each page.
func allPages[Page, T any](ctx context.Context, p interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*ec2.Options)) (Page, error)
}, items func(Page) []T) ([]T, error) {
	var out []T
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// tuning is c.Tuning with the aws defaults, then cloud.DefaultTuning's.
func (c Cloud) tuning() cloud.Tuning {
	return c.Tuning.Or(cloud.Tuning{PollMax: pollMax, WaitTimeout: waitTimeout}).WithDefaults()
}

func (c Cloud) endpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return c.Env.Get(EndpointEnv)
}

// connect builds the clients of one region through the standard
// credential chain (environment, shared files, web identity, IMDS).
func (c Cloud) connect(ctx context.Context, region string) (*clients, error) {
	t := c.tuning()
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(region),
		awsconfig.WithRetryer(func() awssdk.Retryer { return retryer(t) }),
		// The SDK's buildable client keeps AWS_CA_BUNDLE and proxies.
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(t.CallTimeout)),
		// The SDK's own logger writes warnings such as "falling back to
		// IMDSv1" straight to stderr; failures reach the caller as errors.
		awsconfig.WithLogger(logging.Nop{}),
	}
	if ep := c.endpoint(); ep != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(ep))
	}
	opts = append(opts, envOptions(c.Env)...)
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws: load sdk configuration: %w", err)
	}
	return &clients{ec2: ec2.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg), region: region}, nil
}

// envOptions hand what an Env says about credentials to the SDK, which
// would otherwise read them from the process environment: static keys,
// the profile and the shared files. A nil Env is the process environment,
// which the SDK reads itself.
func envOptions(env cloud.Env) []func(*awsconfig.LoadOptions) error {
	if env == nil {
		return nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if id, secret := env.Get("AWS_ACCESS_KEY_ID"), env.Get("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		creds := awssdk.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: env.Get("AWS_SESSION_TOKEN"), Source: "sindri-packer environment"}
		opts = append(opts, awsconfig.WithCredentialsProvider(awssdk.CredentialsProviderFunc(
			func(context.Context) (awssdk.Credentials, error) { return creds, nil })))
	}
	if p := env.Get("AWS_PROFILE"); p != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	if f := env.Get("AWS_CONFIG_FILE"); f != "" {
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{f}))
	}
	if f := env.Get("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{f}))
	}
	return opts
}

// retryer is the SDK's standard retryer (throttling codes such as
// RequestLimitExceeded, 429, 5xx, connection errors and time-outs) with
// t.MaxAttempts attempts and t.Retry's jittered exponential backoff.
func retryer(t cloud.Tuning) awssdk.Retryer {
	b := t.Retry
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = t.MaxAttempts
		o.MaxBackoff = b.Delay(64) // the ceiling: Max
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			// Full jitter below the exponential ceiling.
			return rand.N(b.Delay(max(attempt-1, 0))) + time.Millisecond, nil
		})
	})
}

// errorCode is the EC2 error code of an API error, "" for other errors.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports the EC2 codes of a resource that does not exist
// (InvalidInstanceID.NotFound, InvalidGroup.NotFound, ...) or, for an AMI,
// no longer does.
func isNotFound(err error) bool {
	var nf *notFound
	if errors.As(err, &nf) {
		return true
	}
	code := errorCode(err)
	return strings.HasSuffix(code, ".NotFound") || code == "InvalidAMIID.Unavailable"
}

// Filter helpers: EC2 filters match any of their values.
func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: awssdk.String(name), Values: values}
}

func tagFilter(key string, values ...string) types.Filter { return filter("tag:"+key, values...) }

// retryCode retries op while it fails with one of codes: the eventual
// consistency of dependent deletes (a security group still attached to a
// terminating instance, a snapshot still held by an image that was just
// deregistered). It backs off like the state polls, for 3 minutes at most
// (or Tuning.Retry.MaxElapsed when set).
func (c Cloud) retryCode(ctx context.Context, codes []string, op func(ctx context.Context) error) error {
	t := c.tuning()
	b := cloud.Backoff{Initial: t.PollInterval, Max: t.PollMax, MaxElapsed: dependentWait, Sleep: t.Sleep}
	if c.Tuning.Retry.MaxElapsed > 0 {
		b.MaxElapsed = c.Tuning.Retry.MaxElapsed
	}
	return cloud.Retry(ctx, b, func(err error) bool { return slices.Contains(codes, errorCode(err)) }, op)
}

// tagValue returns the value of key in EC2 tags.
func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == key {
			return awssdk.ToString(t.Value)
		}
	}
	return ""
}

// tagList turns a tag map into EC2 tags, sorted for stable requests.
func tagList(m map[string]string) []types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]types.Tag, 0, len(m))
	for _, k := range keys {
		out = append(out, types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}
