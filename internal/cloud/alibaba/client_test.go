package alibaba_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// withVSwitch is a config whose VSwitch the fake knows, with a tag of the
// user's own.
const withVSwitch = minimal + "  vswitch_id: " + alibabafake.VSwitchID + "\n  tags: {team: platform}\n"

// fast is a Cloud with tiny retry and poll timings.
var fast = alibaba.Cloud{Tuning: cloud.Tuning{
	Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 2 * time.Second},
	CallTimeout:  5 * time.Second,
	PollInterval: time.Millisecond,
	WaitTimeout:  10 * time.Second,
}}

// start runs the fake and returns fast pointed at it through its Env (never
// the process environment), env's KEY=value entries overriding the fake's.
func start(t *testing.T, env ...string) (*alibabafake.Fake, alibaba.Cloud, *config.Config) {
	t.Helper()
	f := alibabafake.New(t)
	c := fast
	c.Env = cloudtest.EnvOver(f.LookupEnv, env...)
	return f, c, cloudtest.Load(t, withVSwitch)
}

// count returns how many requests of action the fake served.
func count(f *alibabafake.Fake, action string) int { return len(f.Params(action)) }

// fail makes the next request of action answer ECS's error code and message.
func fail(f *alibabafake.Fake, action string, status int, code, message string) {
	f.Inject(cloudtest.Fault{Match: "Action=" + action, Status: status, Code: code, Message: message})
}

// liveKinds counts the fake's live resources by kind.
func liveKinds(f *alibabafake.Fake) map[string]int {
	m := map[string]int{}
	for _, r := range f.Live() {
		m[r.Kind]++
	}
	return m
}

// noSecrets fails when err's text carries a credential value.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{alibabafake.AccessKeyID, alibabafake.AccessKeySecret, "LTAIfake"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error carries a credential value %q: %v", s, err)
		}
	}
}

func TestThrottlingCodeRetriedWhateverTheStatus(t *testing.T) {
	f, ali, cfg := start(t)
	fail(f, "", 400, "Throttling.User", "Request was denied due to user flow control.")
	if _, err := ali.ListImages(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if n := count(f, "DescribeImages"); n != 2 {
		t.Errorf("%d calls, want a retry after Throttling.User", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f, c, cfg := start(t)
	f.FailNext(503, 1_000_000)
	c.Tuning.Retry.MaxElapsed = 50 * time.Millisecond
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloudtest.ErrorSays("ServiceUnavailable"))
}

// Tuning.MaxAttempts, when set, ends the retries before Retry.MaxElapsed.
func TestMaxAttemptsBoundsRetries(t *testing.T) {
	f, c, cfg := start(t)
	f.FailNext(503, 10)
	c.Tuning.MaxAttempts = 3
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloudtest.ErrorSays("ServiceUnavailable"))
	if n := count(f, "DescribeImages"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := start(t)
	c.Tuning.CallTimeout = 100 * time.Millisecond
	c.Tuning.Retry.MaxElapsed = 300 * time.Millisecond
	f.HangNext(1_000)
	err := cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloud.IsTimeout)
	noSecrets(t, err)
	t.Log(err)
	if !strings.Contains(err.Error(), "DescribeImages") {
		t.Errorf("err %q does not name the call", err)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	f, ali, cfg := start(t)
	fail(f, "DescribeImages", 403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
	_, err := ali.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error")
	}
	cloudtest.WantContains(t, "the error", err.Error(), "Forbidden.RAM", "User not authorized to operate on the specified resource.", f.LastRequestID(), "HTTP 403", "DescribeImages", alibabafake.Region)
	if n := count(f, "DescribeImages"); n != 1 {
		t.Errorf("a 403 was retried (%d calls)", n)
	}
	noSecrets(t, err)
}

func TestEndpointWithoutScheme(t *testing.T) {
	// host:port alone means https; the fake speaks http, so the call fails
	// at TLS, not by reaching any other address.
	f, c, cfg := start(t)
	env := c.Env
	c.Env = func(key string) (string, bool) {
		if key == alibaba.EndpointEnv {
			return strings.TrimPrefix(f.URL(), "http://"), true
		}
		return env(key)
	}
	c.Tuning.Retry.MaxElapsed = time.Millisecond
	_, err := c.CheckCredentials(t.Context(), cfg)
	if err == nil {
		t.Fatal("https to an http server succeeded")
	}
	noSecrets(t, err)
	if len(f.Requests()) != 0 {
		t.Errorf("served %v over plain http", f.Requests())
	}
}

// A Cloud with an Env reads nothing from the process environment: the
// endpoint and keys set there are not used.
func TestEnvWinsOverTheProcessEnvironment(t *testing.T) {
	f, ali, cfg := start(t)
	t.Setenv(alibaba.EndpointEnv, "http://127.0.0.1:1")
	t.Setenv("ALICLOUD_ACCESS_KEY", "LTAIfake-process-key")
	t.Setenv("ALICLOUD_SECRET_KEY", "fake-process-secret")
	if _, err := ali.CheckCredentials(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if p := f.Params("DescribeRegions"); len(p) != 1 || p[0].Get("AccessKeyId") != alibabafake.AccessKeyID {
		t.Errorf("DescribeRegions requests %v: want one, signed with the Env's key", p)
	}
}
