package cli

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
)

// TestMain keeps every test of the command line off the network: the cloud
// SDKs read the process environment (their standard credential chains),
// so it points every cloud at a closed loopback port, turns off the
// metadata services and gives clearly fake credentials. Tests that talk to
// a cloud's wire-level fake override these with t.Setenv.
func TestMain(m *testing.M) {
	closed := closedPort()
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_ACCESS_KEY_ID":                   awsfake.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":               awsfake.SecretAccessKey,
		"AWS_CONFIG_FILE":                     os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":         os.DevNull,
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
		"ALICLOUD_ACCESS_KEY":                 "fake-access-key",
		"ALICLOUD_SECRET_KEY":                 "fake-secret",
		"OCI_CLI_CONFIG_FILE":                 os.DevNull,
		"OCI_CONFIG_FILE":                     os.DevNull,
		"GOOGLE_APPLICATION_CREDENTIALS":      os.DevNull,
		"SINDRI_AWS_ENDPOINT":                 closed,
		"SINDRI_AZURE_ENDPOINT":               closed,
		"SINDRI_GCP_ENDPOINT":                 closed,
		"SINDRI_OCI_ENDPOINT":                 closed,
		"SINDRI_ALIBABA_ENDPOINT":             closed,
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
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
