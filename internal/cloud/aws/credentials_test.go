package aws_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
)

func TestCheckCredentialsNamesTheIdentity(t *testing.T) {
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
	// The zero value, through the process environment.
	setProcessEnv(t, f)
	if got, err := (aws.Cloud{}).CheckCredentials(t.Context(), cfg); err != nil || !strings.HasPrefix(got, "account 123456789012") {
		t.Errorf("zero value: %q, %v", got, err)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETVALUE"
	const token = "FwoGZXIvYXdzSESSIONTOKENVALUE"
	f, c, cfg := setup(t, "")
	c.Env = fakeEnv(f, "AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG0", "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+token)
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
