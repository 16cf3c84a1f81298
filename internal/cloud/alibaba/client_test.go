package alibaba_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
)

func TestTransientFailuresRetried(t *testing.T) {
	for _, status := range []int{429, 503, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f, cfg := start(t)
			f.SeedImage("sindri-a", "H", t0)
			f.FailNext(status, 2)
			got, err := fast.ListImages(t.Context(), cfg)
			if err != nil || len(got) != 1 {
				t.Fatalf("ListImages after %d×2 = %v, %v", status, got, err)
			}
			if n := count(f, "DescribeImages"); n != 3 {
				t.Errorf("%d DescribeImages calls, want 2 failures + 1 success", n)
			}
		})
	}
}

func TestThrottlingCodeRetriedWhateverTheStatus(t *testing.T) {
	f, cfg := start(t)
	f.FailAction("", 400, "Throttling.User", "Request was denied due to user flow control.")
	if _, err := fast.ListImages(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if n := count(f, "DescribeImages"); n != 2 {
		t.Errorf("%d calls, want a retry after Throttling.User", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f, cfg := start(t)
	f.FailNext(503, 1_000_000)
	c := fast
	c.Backoff.MaxElapsed = 50 * time.Millisecond
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Fatalf("err = %v, want ECS's ServiceUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	f, cfg := start(t)
	c := fast
	c.Timeout = 100 * time.Millisecond
	c.Backoff.MaxElapsed = 300 * time.Millisecond
	f.HangNext(1_000)
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !cloud.IsTimeout(err) {
		t.Fatalf("err = %v, want a time-out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	noSecrets(t, err)
	t.Log(err)
	if !strings.Contains(err.Error(), "DescribeImages") {
		t.Errorf("err %q does not name the call", err)
	}
}

func TestOneHangIsRetried(t *testing.T) {
	f, cfg := start(t)
	f.SeedImage("sindri-a", "H", t0)
	c := fast
	c.Timeout = 100 * time.Millisecond
	f.HangNext(1)
	if got, err := c.ListImages(t.Context(), cfg); err != nil || len(got) != 1 {
		t.Fatalf("after one hang: %v, %v", got, err)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	f, cfg := start(t)
	f.FailAction("DescribeImages", 403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
	_, err := fast.ListImages(t.Context(), cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Forbidden.RAM", "User not authorized to operate on the specified resource.", f.LastRequestID(), "HTTP 403", "DescribeImages", alibabafake.Region} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	if n := count(f, "DescribeImages"); n != 1 {
		t.Errorf("a 403 was retried (%d calls)", n)
	}
	noSecrets(t, err)
}

func TestCheckCredentials(t *testing.T) {
	_, cfg := start(t)
	// The zero value, as package targets uses it.
	got, err := alibaba.Cloud{}.CheckCredentials(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got != "credentials accepted in region cn-hangzhou (3 regions visible)" {
		t.Errorf("description = %q", got)
	}
	if strings.Contains(got, alibabafake.AccessKeyID) || strings.Contains(got, "fake") {
		t.Errorf("description names the key: %q", got)
	}
}

func TestBadCredentialsNeverPrinted(t *testing.T) {
	tests := []struct {
		name, env, value, code string
	}{
		{"unknown key", "ALICLOUD_ACCESS_KEY", "LTAIfake-unknown-key", "InvalidAccessKeyId.NotFound"},
		{"wrong secret", "ALICLOUD_SECRET_KEY", "fake-wrong-secret", "SignatureDoesNotMatch"},
		{"sts token", "ALICLOUD_SECURITY_TOKEN", "fake-sts-token-value", "SignatureDoesNotMatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg := start(t)
			t.Setenv(tc.env, tc.value)
			if tc.env == "ALICLOUD_SECURITY_TOKEN" {
				t.Setenv("ALICLOUD_SECRET_KEY", "fake-wrong-secret")
			}
			_, err := fast.CheckCredentials(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			noSecrets(t, err)
			t.Log(err)
			for _, s := range []string{tc.value, "fake-wrong-secret"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error carries %q: %v", s, err)
				}
			}
		})
	}
}

func TestStandardChainFromEnvironment(t *testing.T) {
	f, cfg := start(t)
	// The SDK's own variable names work too when the plugin's are unset.
	t.Setenv("ALICLOUD_ACCESS_KEY", "")
	t.Setenv("ALICLOUD_SECRET_KEY", "")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", alibabafake.AccessKeyID)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", alibabafake.AccessKeySecret)
	if _, err := fast.CheckCredentials(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if p := f.Calls("DescribeRegions")[0].Params; p.Get("AccessKeyId") != alibabafake.AccessKeyID || p.Get("Signature") == "" {
		t.Errorf("request not signed with the environment's key: %v", p)
	}
}

func TestEndpointWithoutScheme(t *testing.T) {
	f, cfg := start(t)
	// host:port alone means https; the fake speaks http, so the call fails
	// at TLS, not by reaching any other address.
	t.Setenv("SINDRI_ALIBABA_ENDPOINT", strings.TrimPrefix(f.URL(), "http://"))
	c := fast
	c.Backoff.MaxElapsed = time.Millisecond
	_, err := c.CheckCredentials(t.Context(), cfg)
	if err == nil {
		t.Fatal("https to an http server succeeded")
	}
	noSecrets(t, err)
	if len(f.Requests()) != 0 {
		t.Errorf("served %v over plain http", f.Requests())
	}
}
