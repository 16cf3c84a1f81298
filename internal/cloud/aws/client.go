package aws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
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

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv names the variable that points every EC2 and STS call at
// another endpoint (the command-line tests aim it at awsfake). The SDK's
// own AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL work too.
const EndpointEnv = "SINDRI_AWS_ENDPOINT"

// Defaults of the zero value.
const (
	defaultMaxAttempts = 5
	defaultTimeout     = time.Minute
	// waitTimeout bounds one wait for an instance state when ctx has no
	// earlier deadline: EC2 boots and terminates in a minute or two.
	waitTimeout = 15 * time.Minute
)

// pollBackoff paces DescribeInstances while waiting for a state.
var pollBackoff = cloud.Backoff{Initial: 2 * time.Second, Max: 10 * time.Second}

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

func (c Cloud) endpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return os.Getenv(EndpointEnv)
}

// connect builds the clients of one region through the standard
// credential chain (environment, shared files, web identity, IMDS).
func (c Cloud) connect(ctx context.Context, region string) (*clients, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(region),
		awsconfig.WithRetryer(c.retryer),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(timeout)),
	}
	if ep := c.endpoint(); ep != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(ep))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws: load sdk configuration: %w", err)
	}
	return &clients{ec2: ec2.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg), region: region}, nil
}

// retryer is the SDK's standard retryer (throttling codes such as
// RequestLimitExceeded, 429, 5xx, connection errors and time-outs) with
// bounded attempts and our jittered exponential backoff.
func (c Cloud) retryer() awssdk.Retryer {
	b := cloud.DefaultBackoff
	if c.Backoff != nil {
		b = *c.Backoff
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = defaultMaxAttempts
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = b.Delay(64) // the ceiling: Max
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			// Full jitter below the exponential ceiling.
			return rand.N(b.Delay(max(attempt-1, 0))) + time.Millisecond, nil
		})
	})
}

func (c Cloud) pollBackoff() cloud.Backoff {
	if c.Backoff != nil {
		return *c.Backoff
	}
	return pollBackoff
}

// poll calls check until it reports done, fails, or the wait times out.
func (c Cloud) poll(ctx context.Context, what string, check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	b := c.pollBackoff()
	for attempt := 0; ; attempt++ {
		done, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		d := b.Delay(attempt)
		if b.Sleep != nil {
			err = b.Sleep(ctx, d)
		} else {
			err = cloud.Sleep(ctx, d)
		}
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
	}
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

// A small retry for the eventual consistency of dependent deletes
// (a security group still attached to a terminating instance, a snapshot
// still held by an image that was just deregistered).
func (c Cloud) retryCode(ctx context.Context, codes []string, op func(ctx context.Context) error) error {
	b := c.pollBackoff()
	b.MaxElapsed = 3 * time.Minute
	if c.Backoff != nil && c.Backoff.MaxElapsed > 0 {
		b.MaxElapsed = c.Backoff.MaxElapsed
	}
	return cloud.Retry(ctx, b, func(err error) bool {
		code := errorCode(err)
		for _, want := range codes {
			if code == want {
				return true
			}
		}
		return false
	}, op)
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
