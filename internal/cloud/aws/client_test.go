package aws_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// fastTuning keeps retries and state polls short.
var fastTuning = cloud.Tuning{
	Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, MaxElapsed: 2 * time.Second},
	PollInterval: time.Millisecond,
	PollMax:      4 * time.Millisecond,
}

// fakeEnv is the environment that points a Cloud at f, then extra
// KEY=value entries, which win.
func fakeEnv(f *awsfake.Fake, extra ...string) cloud.Env {
	return cloudtest.EnvOver(f.LookupEnv, extra...)
}

// setup starts an awsfake and returns a Cloud pointed at it through its
// Env, with tiny waits.
func setup(t *testing.T, yaml string) (*awsfake.Fake, aws.Cloud, *config.Config) {
	t.Helper()
	f := awsfake.New(t)
	if yaml == "" {
		yaml = "packer:\n  cloud: aws\n"
	}
	return f, aws.Cloud{Env: fakeEnv(f), Tuning: fastTuning}, cloudtest.Load(t, yaml)
}

// setProcessEnv points the process environment at f, as the command-line
// tests do for the zero value.
func setProcessEnv(t *testing.T, f *awsfake.Fake) {
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func TestNoAWSBlock(t *testing.T) {
	_, c, _ := setup(t, "")
	cfg := cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: p-123456\n")
	if _, err := c.ListImages(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "no aws block") {
		t.Errorf("err = %v", err)
	}
}

// The zero value reads SINDRI_AWS_ENDPOINT and the standard chain from
// the process environment: what package targets uses today.
func TestZeroValueReadsTheProcessEnvironment(t *testing.T) {
	f, _, cfg := setup(t, "")
	setProcessEnv(t, f)
	id := f.SeedImage("sindri-1", "h1", t0)
	img, err := aws.Cloud{}.FindImage(t.Context(), cfg, "h1")
	if err != nil || img == nil || img.ID != id {
		t.Fatalf("FindImage = %+v, %v", img, err)
	}
}

// With an Env, the endpoint and the credentials come from it, not from
// the process environment (which here points nowhere, with other keys).
func TestEnvWinsOverTheProcessEnvironment(t *testing.T) {
	_, c, cfg := setup(t, "")
	t.Setenv(aws.EndpointEnv, "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPROCESSPROCESSPR")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "process/secret")
	got, err := c.CheckCredentials(t.Context(), cfg)
	if err != nil || !strings.HasPrefix(got, "account "+awsfake.Account) {
		t.Fatalf("CheckCredentials = %q, %v; want the fake's account through the Env", got, err)
	}
}

// failsAfter lists images, which must fail within 5 seconds after
// exactly attempts DescribeImages requests, and returns the error.
func failsAfter(t *testing.T, f *awsfake.Fake, c aws.Cloud, cfg *config.Config, attempts int) error {
	t.Helper()
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("ListImages succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if n := len(f.Calls("DescribeImages")); n != attempts {
		t.Errorf("attempts = %d, want %d", n, attempts)
	}
	return err
}

// Tuning.MaxAttempts ends the retries of a call that keeps failing; its
// last error returns.
func TestMaxAttemptsBoundsRetries(t *testing.T) {
	f, c, cfg := setup(t, "")
	c.Tuning.MaxAttempts = 3
	f.FailNext(http.StatusServiceUnavailable, 10)
	if err := failsAfter(t, f, c, cfg, 3); !strings.Contains(err.Error(), "Unavailable") || !strings.Contains(err.Error(), "The service is unavailable") {
		t.Errorf("err = %v, want EC2's Unavailable", err)
	}
}

// An attempt that hangs past Tuning.CallTimeout is abandoned and retried,
// MaxAttempts times in all.
func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := setup(t, "")
	c.Tuning.MaxAttempts, c.Tuning.CallTimeout = 2, 150*time.Millisecond
	f.HangNext(5)
	if err := failsAfter(t, f, c, cfg, 2); !cloud.IsTimeout(err) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("err = %v, want a time-out", err)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	f, c, cfg := setup(t, "")
	f.Inject(cloudtest.Fault{Match: "Action=DescribeImages", Status: http.StatusForbidden, Code: "UnauthorizedOperation",
		Message: `You are not authorized to perform this operation. Encoded authorization failure message: "x<y>&z"`})
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	cloudtest.WantContains(t, "the error", msg, "aws: list images in us-west-2", "UnauthorizedOperation", `Encoded authorization failure message: "x<y>&z"`, "RequestID: "+f.LastRequestID())
	if n := len(f.Calls("DescribeImages")); n != 1 {
		t.Errorf("a 403 was retried: %d attempts", n)
	}
	if strings.Contains(msg, awsfake.SecretAccessKey) {
		t.Error("the secret key is in the error")
	}
}

// EC2 throttles with HTTP 503 and RequestLimitExceeded (the double
// answers so): the SDK's retryer must read it as throttling, and the
// call goes through once the throttling stops.
func TestThrottlingIsRetried(t *testing.T) {
	f, c, cfg := setup(t, "")
	f.SeedImage("sindri-1", "h1", t0)
	c.Tuning.MaxAttempts = 1
	f.Inject(cloudtest.Fault{Match: "Action=DescribeImages", Status: http.StatusTooManyRequests})
	_, err := c.ListImages(t.Context(), cfg)
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want EC2's HTTP 503", err)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != awssdk.TrueTernary {
		t.Errorf("the SDK's retryer does not read %v as throttling", err)
	}
	c.Tuning.MaxAttempts = 3
	f.Inject(cloudtest.Fault{Match: "Action=DescribeImages", Status: http.StatusTooManyRequests},
		cloudtest.Fault{Match: "Action=DescribeImages", Code: "RequestLimitExceeded"})
	if list, err := c.ListImages(t.Context(), cfg); err != nil || len(list) != 1 {
		t.Errorf("ListImages through two throttled answers = %+v, %v", list, err)
	}
}
