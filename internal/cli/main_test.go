package cli

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
)

// TestMain keeps every test of the command line off the network: testEnv
// points every cloud at a closed loopback port, turns off the metadata
// services and gives clearly fake credentials, in every run's environment
// and (for what still reads it) the process's. Tests that talk to a
// cloud's wire-level fake pass their own values after these.
func TestMain(m *testing.M) {
	for _, kv := range append(slices.Clone(testEnv), testCredentials...) {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// testEnv is the start of every in-process run's environment (runFull):
// the targets read the command's environment, not the process's.
var testEnv = func() []string {
	closed := closedPort()
	return []string{
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
		"OCI_CLI_CONFIG_FILE=" + os.DevNull,
		"OCI_CONFIG_FILE=" + os.DevNull,
		"GOOGLE_APPLICATION_CREDENTIALS=" + os.DevNull,
		"SINDRI_AWS_ENDPOINT=" + closed,
		"SINDRI_AZURE_ENDPOINT=" + closed,
		"SINDRI_GCP_ENDPOINT=" + closed,
		"SINDRI_OCI_ENDPOINT=" + closed,
		"SINDRI_ALIBABA_ENDPOINT=" + closed,
	}
}()

// testCredentials are clearly fake credentials, in the process environment
// only (what the wire-level fakes accept): a run's own environment holds
// the secrets its test gives it, and nothing else to mask.
var testCredentials = []string{
	"AWS_ACCESS_KEY_ID=" + awsfake.AccessKeyID,
	"AWS_SECRET_ACCESS_KEY=" + awsfake.SecretAccessKey,
	"ALICLOUD_ACCESS_KEY=fake-access-key",
	"ALICLOUD_SECRET_KEY=fake-secret",
}

// closedPort is the URL of a loopback port nothing listens on: requests
// are refused at once.
func closedPort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	return fmt.Sprintf("http://%s", addr)
}
