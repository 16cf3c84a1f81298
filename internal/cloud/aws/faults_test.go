package aws_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
)

func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f, c, cfg := setup(t, "")
			id := f.SeedImage("sindri-1", "h1", t0)
			f.FailNext(status, 2)
			img, err := c.FindImage(t.Context(), cfg, "h1")
			if err != nil || img == nil || img.ID != id {
				t.Fatalf("FindImage = %+v, %v", img, err)
			}
			if n := len(f.Calls("DescribeImages")); n != 3 {
				t.Errorf("DescribeImages attempts = %d, want 3", n)
			}
		})
	}
}

// A retried RunInstances carries the same client token: one instance.
func TestRetriedLaunchMakesOneInstance(t *testing.T) {
	f, c, cfg := setup(t, "")
	image := f.SeedImage("sindri-1", "h1", t0)
	f.FailAction("RunInstances", http.StatusServiceUnavailable, "Unavailable", "The service is unavailable. Please try again shortly.")
	inst, err := c.Launch(t.Context(), launchReq(cfg, image))
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls("RunInstances")
	if len(calls) != 2 || calls[0].Form.Get("ClientToken") == "" || calls[0].Form.Get("ClientToken") != calls[1].Form.Get("ClientToken") {
		t.Errorf("RunInstances attempts = %d, tokens must be equal and set", len(calls))
	}
	if got := temporaries(f); len(got) != 3 {
		t.Errorf("live = %v, want one instance, its disk and group", got)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f, c, cfg := setup(t, "")
	c.MaxAttempts = 3
	f.FailNext(http.StatusServiceUnavailable, 10)
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "Unavailable") || !strings.Contains(err.Error(), "The service is unavailable") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Calls("DescribeImages")); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, c, cfg := setup(t, "")
	c.Timeout = 150 * time.Millisecond
	c.MaxAttempts = 2
	f.HangNext(5)
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error from a hanging endpoint")
	}
	if !cloud.IsTimeout(err) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("err = %v, want a time-out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if n := len(f.Calls("DescribeImages")); n != 2 {
		t.Errorf("attempts = %d, want 2 (time-outs are retried, boundedly)", n)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	f, c, cfg := setup(t, "")
	f.FailAction("DescribeImages", http.StatusForbidden, "UnauthorizedOperation", `You are not authorized to perform this operation. Encoded authorization failure message: "x<y>&z"`)
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"aws: list images in us-west-2", "UnauthorizedOperation", `Encoded authorization failure message: "x<y>&z"`, "RequestID: " + f.LastRequestID()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if n := len(f.Calls("DescribeImages")); n != 1 {
		t.Errorf("a 403 was retried: %d attempts", n)
	}
	if strings.Contains(msg, awsfake.SecretAccessKey) {
		t.Error("the secret key is in the error")
	}
}

func TestCheckCredentials(t *testing.T) {
	f, c, cfg := setup(t, "")
	got, err := c.CheckCredentials(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "account 123456789012 (arn:aws:iam::123456789012:user/sindri-fake-ci)"; got != want {
		t.Errorf("CheckCredentials = %q, want %q", got, want)
	}
	if calls := f.Calls("GetCallerIdentity"); len(calls) != 1 || calls[0].Form.Get("Version") != "2011-06-15" {
		t.Errorf("calls = %+v", calls)
	}
	// The zero value, through the environment.
	if got, err := (aws.Cloud{}).CheckCredentials(t.Context(), cfg); err != nil || !strings.HasPrefix(got, "account 123456789012") {
		t.Errorf("zero value: %q, %v", got, err)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETVALUE"
	const token = "FwoGZXIvYXdzSESSIONTOKENVALUE"
	f, c, cfg := setup(t, "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	f.SeedImage("sindri-1", "h1", t0)

	var errs []error
	_, err := c.CheckCredentials(t.Context(), cfg)
	errs = append(errs, err)
	_, err = c.FindImage(t.Context(), cfg, "h1")
	errs = append(errs, err)
	_, err = c.Launch(t.Context(), launchReq(cfg, "ami-0123456789abcdef0"))
	errs = append(errs, err)
	f.FailNext(http.StatusServiceUnavailable, 100)
	_, err = c.Leftovers(t.Context(), cfg, cloud.SweepFilter{})
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d: no error with wrong credentials", i)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("call %d: a credential in %q", i, err)
		}
	}
	if !strings.Contains(errs[0].Error(), "AuthFailure") && !strings.Contains(errs[0].Error(), "InvalidClientTokenId") {
		t.Errorf("CheckCredentials err = %v", errs[0])
	}
	// The STS error body is read in its own protocol.
	if !strings.Contains(errs[0].Error(), "RequestID: ") {
		t.Errorf("no request id in %v", errs[0])
	}
}
