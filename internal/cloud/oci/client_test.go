package oci_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// setup starts a fake and returns a target pointed at it through its Env
// (never the process environment) with tiny waits.
func setup(t *testing.T) (*ocifake.Fake, oci.Cloud, *config.Config) {
	t.Helper()
	f := ocifake.New(t)
	c := oci.Cloud{
		Env: cloudtest.EnvOf(f),
		Tuning: cloud.Tuning{
			CallTimeout:  5 * time.Second,
			Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 5 * time.Second},
			PollInterval: time.Millisecond,
		},
	}
	return f, c, cloudtest.Load(t, ocifake.YAML+"  tags: {Team: platform}\n")
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ourTags(hash string) map[string]string {
	return map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: hash, cloud.TagSindriVersion: "3.0.1"}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// failAlways makes every request whose line starts with match fail (more
// often than any call is attempted).
func failAlways(f *ocifake.Fake, match string, status int, code, message string) {
	for range 20 {
		f.Inject(cloudtest.Fault{Match: match, Status: status, Code: code, Message: message})
	}
}

// The target reads its endpoint and credentials through Env only: a
// process environment pointing elsewhere changes nothing.
func TestEnvWinsOverTheProcessEnvironment(t *testing.T) {
	f, c, cfg := setup(t)
	t.Setenv(oci.EndpointEnv, "http://127.0.0.1:1")
	t.Setenv("OCI_CLI_CONFIG_FILE", t.TempDir()+"/missing")
	id := f.SeedImage("sindri-a", "h1", t0)
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil || img.ID != id {
		t.Fatalf("GetImage = %+v, %v; want %s through the fake Env names", img, err, id)
	}
}

// Retries end within Retry.MaxElapsed (the conformance suite checks that
// throttling and 5xx are retried to success).
func TestRetriesAreBounded(t *testing.T) {
	f, c, cfg := setup(t)
	c.Tuning.MaxAttempts = 1000 // the time bound ends it, not the attempts
	c.Tuning.Retry = cloud.Backoff{Initial: 5 * time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 100 * time.Millisecond}
	f.FailNext(503, 1000)
	cloudtest.ListImagesGivesUp(t, c, cfg, 3*time.Second, cloudtest.ErrorSays("ServiceUnavailable"))
	if n := len(f.Requests()); n < 2 || n >= 1000 {
		t.Errorf("%d requests, want a few retries", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := setup(t)
	c.Tuning.CallTimeout = 50 * time.Millisecond
	c.Tuning.Retry.MaxElapsed = 200 * time.Millisecond
	f.HangNext(1000)
	cloudtest.ListImagesGivesUp(t, c, cfg, 3*time.Second, cloud.IsTimeout)
}

func TestMaxAttemptsBoundsRetries(t *testing.T) {
	f, c, cfg := setup(t)
	c.Tuning.MaxAttempts = 3
	f.FailNext(503, 1000)
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, func(error) bool { return true })
	if n := len(f.Requests()); n != 3 {
		t.Errorf("%d requests, want MaxAttempts (3)", n)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	f, c, cfg := setup(t)
	f.Inject(cloudtest.Fault{Match: "GET /20160918/images", Status: 409, Code: "IncorrectTagNamespace", Message: "Tag namespace 'x' is retired: contact your administrator."})
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error")
	}
	cloudtest.WantContains(t, "the error", err.Error(), "Tag namespace 'x' is retired: contact your administrator.", "IncorrectTagNamespace", "http 409", "opc-request-id fake-opc-request-", "ListImages")
}

func TestNoOCIBlock(t *testing.T) {
	cfg := cloudtest.Load(t, "packer:\n  cloud: qemu\n")
	if _, err := (oci.Cloud{}).ListImages(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "no oci block") {
		t.Errorf("error = %v", err)
	}
}

// Cancelling a call ends it at once, whether its request hangs or it
// waits between retries, and it is no data race (go test -race): the SDK
// never sees the context end (oracle/oci-go-sdk#603).
func TestCancellationEndsTheCall(t *testing.T) {
	for name, fault := range map[string]func(f *ocifake.Fake){
		"hanging request": func(f *ocifake.Fake) { f.HangNext(1) },
		"backoff wait":    func(f *ocifake.Fake) { f.FailNext(503, 100) },
	} {
		t.Run(name, func(t *testing.T) {
			f, c, cfg := setup(t)
			c.Tuning.CallTimeout = time.Minute
			c.Tuning.Retry = cloud.Backoff{Initial: time.Minute, Max: time.Minute, MaxElapsed: time.Hour}
			fault(f)
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				_, err := c.ListImages(ctx, cfg)
				errc <- err
			}()
			for len(f.Requests()) == 0 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // into the hang or the wait
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("error = %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ListImages did not return after its context was cancelled")
			}
			if n := len(f.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: nothing is retried after the cancellation", n)
			}
		})
	}
}
