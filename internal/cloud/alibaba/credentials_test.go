package alibaba_test

import (
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
)

// ECS names no account: the description is the region and how many
// regions the key sees, never a part of the key.
func TestCheckCredentialsNamesTheIdentity(t *testing.T) {
	f, _, cfg := start(t)
	// The zero value, as package targets uses it, reads the process
	// environment.
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
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
			env := []string{tc.env + "=" + tc.value}
			if tc.env == "ALICLOUD_SECURITY_TOKEN" {
				env = append(env, "ALICLOUD_SECRET_KEY=fake-wrong-secret")
			}
			_, ali, cfg := start(t, env...)
			_, err := ali.CheckCredentials(t.Context(), cfg)
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
	// The SDK's own variable names work too when the plugin's are unset.
	f, ali, cfg := start(t, "ALICLOUD_ACCESS_KEY=", "ALICLOUD_SECRET_KEY=",
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+alibabafake.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+alibabafake.AccessKeySecret)
	if _, err := ali.CheckCredentials(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if p := f.Params("DescribeRegions")[0]; p.Get("AccessKeyId") != alibabafake.AccessKeyID || p.Get("Signature") == "" {
		t.Errorf("request not signed with the environment's key: %v", p)
	}
}
