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
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
)

func TestRetriesThrottlingAndUnavailable(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f, c, cfg := newFake(t)
			f.SeedImage("sindri-img", hashA, time.Now())
			f.FailNext(status, 2)
			im, err := c.FindImage(ctx(t), cfg, hashA)
			if err != nil || im == nil {
				t.Fatalf("FindImage = %+v, %v", im, err)
			}
			if n := count(f, "GET", "/global/images"); n != 3 {
				t.Errorf("%d list requests, want 3 (two failures, one success)", n)
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f, c, cfg := newFake(t)
	c.Backoff = cloud.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 50 * time.Millisecond}
	f.FailNext(http.StatusServiceUnavailable, 1000)
	start := time.Now()
	_, err := c.ListImages(ctx(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "The service is currently unavailable.") {
		t.Fatalf("ListImages = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("gave up after %v", time.Since(start))
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := newFake(t)
	c.CallTimeout = 100 * time.Millisecond
	c.Backoff = cloud.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 300 * time.Millisecond}
	f.HangNext(100)
	start := time.Now()
	_, err := c.ListImages(ctx(t), cfg)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListImages = %v, want a time-out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}

	if n := count(f, "GET", "/global/images"); n < 2 {
		t.Errorf("a time-out was not retried: %d requests", n)
	}
}

func TestOneHangIsRetried(t *testing.T) {
	// The caller's own HTTP client and its time-out work too.
	f, _, cfg := newFake(t)
	c := gcp.Cloud{Endpoint: f.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}, Backoff: tiny}
	f.HangNext(1)
	f.SeedImage("sindri-img", hashA, time.Now())
	if im, err := c.FindImage(ctx(t), cfg, hashA); err != nil || im == nil {
		t.Fatalf("FindImage after one hang = %+v, %v", im, err)
	}
}

func TestAPIErrorIsSurfaced(t *testing.T) {
	f, c, cfg := newFake(t)
	msg := "Required 'compute.images.list' permission for 'projects/fake-project'"
	f.FailNextWith(http.StatusForbidden, 1, "forbidden", msg)
	_, err := c.ListImages(ctx(t), cfg)
	if err == nil {
		t.Fatal("ListImages succeeded")
	}
	for _, want := range []string{"gcp: list images in project fake-project", "Error 403", msg, "forbidden", "request id fake-req-"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := count(f, "GET", "/global/images"); n != 1 {
		t.Errorf("a 403 was retried: %d requests", n)
	}
	noSecrets(t, f.CredentialsFile, err)
}

func TestCheckCredentials(t *testing.T) {
	f, c, cfg := newFake(t)
	got, err := c.CheckCredentials(ctx(t), cfg)
	if err != nil || got != "project fake-project (number 424242424242)" {
		t.Fatalf("CheckCredentials = %q, %v", got, err)
	}
	f.FailNextWith(http.StatusForbidden, 1, "forbidden", "Permission denied on resource project fake-project.")
	_, err = c.CheckCredentials(ctx(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "Permission denied on resource project fake-project.") {
		t.Fatalf("CheckCredentials = %v", err)
	}
	noSecrets(t, f.CredentialsFile, err)

	other := cloudtestLoad(t, "other-project-1")
	_, err = c.CheckCredentials(ctx(t), other)
	if err == nil || !strings.Contains(err.Error(), "The resource 'projects/other-project-1' was not found") {
		t.Fatalf("CheckCredentials(other project) = %v", err)
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
	f, _, cfg := newFake(t) // sets SINDRI_GCP_ENDPOINT and fake credentials
	got, err := gcp.Cloud{}.CheckCredentials(ctx(t), cfg)
	if err != nil || !strings.Contains(got, "project fake-project") {
		t.Fatalf("zero-value CheckCredentials = %q, %v", got, err)
	}
	if n := count(f, "GET", "/compute/v1/projects/fake-project"); n != 1 {
		t.Errorf("requests = %v", f.Requests())
	}
}
