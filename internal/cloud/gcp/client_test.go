package gcp_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// tiny keeps retries and polls fast; the bounds still apply.
var tiny = cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 2 * time.Second}

// newFake starts a fake and returns it with a Cloud pointed at it the way
// the command line is (its environment, through the Env seam), and the
// fake's project's config.
func newFake(t *testing.T) (*gcpfake.Fake, gcp.Cloud, *config.Config) {
	t.Helper()
	f := gcpfake.New(t)
	// The metadata host goes to the fake in the process environment too:
	// should anything look for credentials there, it stays on this machine.
	for _, k := range []string{"GCE_METADATA_HOST", "GCE_METADATA_IP"} {
		t.Setenv(k, f.Env()[k])
	}
	c := gcp.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloud.Tuning{Retry: tiny, PollInterval: time.Millisecond, PollMax: time.Millisecond, WaitTimeout: 5 * time.Second}}
	cfg := cloudtest.Load(t, `
packer:
  cloud: gcp
  project_id: `+f.Project+`
  zone: `+f.Zone+`
  labels:
    team: platform
`)
	t.Cleanup(func() { noMetadata(t, f) })
	return f, c, cfg
}

// noMetadata fails when anything asked the (fake) metadata server.
func noMetadata(t *testing.T, f *gcpfake.Fake) {
	t.Helper()
	for _, r := range f.Requests() {
		if strings.Contains(r, "computeMetadata") || strings.Contains(r, "/token") {
			t.Errorf("credential lookup reached the network: %s", r)
		}
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// count returns how many requests match method and a path suffix.
func count(f *gcpfake.Fake, method, suffix string) int {
	n := 0
	for _, r := range f.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

func cloudtestLoad(t *testing.T, project string) *config.Config {
	t.Helper()
	return cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: "+project+"\n")
}

func cloudtestLoadAWS(t *testing.T) *config.Config {
	t.Helper()
	return cloudtest.Load(t, "packer:\n  cloud: aws\n")
}

func TestMaxAttemptsBoundsRetries(t *testing.T) {
	f, c, cfg := newFake(t)
	f.FailNext(http.StatusServiceUnavailable, 10)
	c.Tuning.MaxAttempts = 3
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloudtest.ErrorSays("The service is currently unavailable."))
	if n := count(f, "GET", "/global/images"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f, c, cfg := newFake(t)
	c.Tuning.Retry = cloud.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 50 * time.Millisecond}
	f.FailNext(http.StatusServiceUnavailable, 1000)
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloudtest.ErrorSays("The service is currently unavailable."))
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := newFake(t)
	c.Tuning.CallTimeout = 100 * time.Millisecond
	c.Tuning.Retry = cloud.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 300 * time.Millisecond}
	f.HangNext(100)
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
	if n := count(f, "GET", "/global/images"); n < 2 {
		t.Errorf("a time-out was not retried: %d requests", n)
	}
}

func TestOneHangIsRetried(t *testing.T) {
	// The caller's own HTTP client and its time-out work too.
	f, _, cfg := newFake(t)
	c := gcp.Cloud{Endpoint: f.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}, Tuning: cloud.Tuning{Retry: tiny}}
	f.HangNext(1)
	f.SeedImage("sindri-img", hashA, time.Now())
	if im, err := c.FindImage(ctx(t), cfg, hashA); err != nil || im == nil {
		t.Fatalf("FindImage after one hang = %+v, %v", im, err)
	}
}

func TestAPIErrorIsSurfaced(t *testing.T) {
	f, c, cfg := newFake(t)
	msg := "Required 'compute.images.list' permission for 'projects/fake-project'"
	f.Inject(cloudtest.Fault{Status: http.StatusForbidden, Code: "forbidden", Message: msg})
	_, err := c.ListImages(ctx(t), cfg)
	if err == nil {
		t.Fatal("ListImages succeeded")
	}
	cloudtest.WantContains(t, "the error", err.Error(), "gcp: list images in project fake-project", "Error 403", msg, "forbidden", "request id fake-req-")
	if n := count(f, "GET", "/global/images"); n != 1 {
		t.Errorf("a 403 was retried: %d requests", n)
	}
	noSecrets(t, f.CredentialsFile, err)
}

// noSecrets fails when err repeats any value of the credentials file.
func noSecrets(t *testing.T, file string, err error) {
	t.Helper()
	data, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, secret := range []string{"fake-private-key-id-0000", "ZmFrZS1rZXktbm90LWEta2V5", "PRIVATE KEY", "sindri-fake@"} {
		if !strings.Contains(string(data), secret) {
			t.Fatalf("credentials file lacks %q", secret)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a credential value %q: %v", secret, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	c := gcp.Cloud{Endpoint: "http://127.0.0.1:1"}
	cfg := cloudtestLoadAWS(t)
	if _, err := c.ListImages(ctx(t), cfg); err == nil || !strings.Contains(err.Error(), "no gcp block") {
		t.Errorf("ListImages without a gcp block = %v", err)
	}
	if _, err := c.Launch(ctx(t), cloud.LaunchRequest{Config: cloudtestLoad(t, "p-123456")}); err == nil {
		t.Error("Launch without an image succeeded")
	}
}

func TestZeroValueReadsEndpointFromEnv(t *testing.T) {
	f, _, cfg := newFake(t)
	for k, v := range f.Env() { // SINDRI_GCP_ENDPOINT and fake credentials
		t.Setenv(k, v)
	}
	got, err := gcp.Cloud{}.CheckCredentials(ctx(t), cfg)
	if err != nil || !strings.Contains(got, "project fake-project") {
		t.Fatalf("zero-value CheckCredentials = %q, %v", got, err)
	}
	if n := count(f, "GET", "/compute/v1/projects/fake-project"); n != 1 {
		t.Errorf("requests = %v", f.Requests())
	}
}

// The Env seam, not the process environment, names the endpoint when it
// is set: the process's SINDRI_GCP_ENDPOINT goes nowhere.
func TestEnvWinsOverTheProcessEnvironment(t *testing.T) {
	f, c, cfg := newFake(t)
	t.Setenv(gcp.EndpointEnv, "http://127.0.0.1:1")
	got, err := c.CheckCredentials(ctx(t), cfg)
	if err != nil || !strings.Contains(got, "project fake-project") {
		t.Fatalf("CheckCredentials through Env = %q, %v", got, err)
	}
	if n := count(f, "GET", "/compute/v1/projects/fake-project"); n != 1 {
		t.Errorf("requests = %v", f.Requests())
	}
}
