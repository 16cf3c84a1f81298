package azure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func TestRetriesThrottlingAndOutages(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, f, cfg := setup(t, fakeConfig)
			id := f.SeedImage("sindri-a", "ha", t0)
			f.FailNext(status, 2)
			img, err := c.GetImage(t.Context(), cfg, id)
			if err != nil || img.ID != id {
				t.Fatalf("GetImage after %d x2 = %+v, %v", status, img, err)
			}
			if n := len(f.Requests()); n != 3 {
				t.Errorf("requests = %d, want 2 failures and a success", n)
			}
		})
	}
}

func TestRetryAfterBeyondCapIsNotWaited(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.RetryAfter = 3600 // an hour: more than MaxRetryDelay, so azcore gives up at once
	f.FailNext(429, 1)
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	var e *azure.APIError
	if !errors.As(err, &e) || e.Status != 429 || e.Code != "TooManyRequests" {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %s", time.Since(start))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.FailNext(503, 100)
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Requests()); n != 4 {
		t.Errorf("requests = %d, want 1 + MaxRetries(3)", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	c.TryTimeout, c.MaxRetries = 100*time.Millisecond, -1 // one try only
	f.HangNext(1)
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	// The next call, not hanging, works.
	if _, err := c.ListImages(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestErrorBodySurfaces(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	msg := "The client 'fa4e' with object id 'fa4e' does not have authorization to perform action 'Microsoft.Compute/images/read' over scope '/subscriptions/x' or the scope is invalid."
	f.FailRequest("GET", "/images", 403, "AuthorizationFailed", msg, 1)
	_, err := c.ListImages(t.Context(), cfg)
	var e *azure.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if e.Message != msg || e.Code != "AuthorizationFailed" || !strings.HasPrefix(e.RequestID, "fa4e") {
		t.Errorf("APIError = %+v", e)
	}
	if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), e.RequestID) || !strings.HasPrefix(err.Error(), "azure: list images") {
		t.Errorf("Error() = %s", err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("unwrap: %v", err)
	}
}

func TestCheckCredentialsZeroValue(t *testing.T) {
	_, f, cfg := setup(t, fakeConfig)
	env := f.Env()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c azure.Cloud // what package targets uses
	got, err := c.CheckCredentials(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "subscription 00000000-0000-0000-0000-00000000fa4e (Fake Subscription, Enabled)"; got != want {
		t.Errorf("CheckCredentials = %q, want %q", got, want)
	}
	// No credential value ever appears in an answer or an error.
	f.FailRequest("GET", "/subscriptions/", 401, "InvalidAuthenticationToken", "The access token is invalid.", 1)
	_, err = c.CheckCredentials(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "InvalidAuthenticationToken") {
		t.Fatalf("err = %v", err)
	}
	for _, text := range []string{got, err.Error()} {
		for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
			if strings.Contains(text, env[k]) {
				t.Errorf("%s leaked into %q", k, text)
			}
		}
		if strings.Contains(text, "sindri-fake-token") {
			t.Errorf("token leaked into %q", text)
		}
	}
}

func TestEndpointChecks(t *testing.T) {
	cfg := cloudtest.Load(t, fakeConfig)
	for _, ep := range []string{"http://example.com", "::bad"} {
		if _, err := (azure.Cloud{Endpoint: ep}).ListImages(t.Context(), cfg); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
	qemu := cloudtest.Load(t, "packer:\n  cloud: qemu\n")
	if _, err := (azure.Cloud{}).ListImages(t.Context(), qemu); err == nil || !strings.Contains(err.Error(), "no azure block") {
		t.Errorf("err = %v", err)
	}
}
