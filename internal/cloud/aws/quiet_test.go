package aws_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// TestNoCredentialsIsQuietAndHinted: without credentials, off an EC2
// instance whose metadata service refuses IMDSv2 tokens, the SDK used to
// print "WARN falling back to IMDSv1" on stderr by itself; nothing but
// the returned error may say anything, and that error gets the sign-in
// hint.
func TestNoCredentialsIsQuietAndHinted(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	}))
	defer imds.Close()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": home + "/none", "AWS_SHARED_CREDENTIALS_FILE": home + "/none",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_V1_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL,
	} {
		t.Setenv(k, v)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()

	c := aws.Cloud{Env: cloud.EnvList([]string{aws.EndpointEnv + "=" + imds.URL}), Tuning: cloud.Tuning{CallTimeout: 2 * time.Second, MaxAttempts: 1}}
	cfg := &config.Config{Packer: config.Packer{Clouds: config.CloudSet{AWS: &config.AWS{Region: "eu-west-1"}}}}
	_, err = c.CheckCredentials(context.Background(), cfg)
	os.Stderr = stderr
	w.Close()
	printed, _ := io.ReadAll(r)
	if err == nil {
		t.Fatal("CheckCredentials without credentials succeeded")
	}
	if len(printed) > 0 {
		t.Errorf("the SDK wrote to stderr by itself: %q", printed)
	}
	if h := c.CredentialHint(err); !strings.Contains(h, "aws sso login") || !strings.Contains(h, "AWS_PROFILE") {
		t.Errorf("CredentialHint(%v) = %q, want the sign-in commands", err, h)
	}
	if h := c.CredentialHint(cloud.ErrNotFound); h != "" {
		t.Errorf("CredentialHint(not found) = %q, want none", h)
	}
}
