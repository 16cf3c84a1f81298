package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

// canary is a secret no output may ever show.
const canary = "CANARY-7f3a9c-do-not-print"

// canaryEnv puts the canary in every credential variable the fakes do not
// need for their own (fake) authentication; those carry fake secrets that
// are checked the same way.
var canaryEnv = []string{
	"AWS_SESSION_TOKEN", "GITHUB_TOKEN", "PACKER_GITHUB_API_TOKEN", "ARM_CLIENT_SECRET",
	"GOOGLE_CREDENTIALS", "OCI_CLI_KEY_CONTENT", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECURITY_TOKEN",
	"ALIBABA_CLOUD_SECURITY_TOKEN", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
}

// The credentials of every cloud never appear in any log, output, summary
// or manifest: not on success, not in the errors of failing API calls.
func TestSecretsNeverPrinted(t *testing.T) {
	aws, az, gcp, oci, ali := awsfake.New(t), azurefake.New(t), gcpfake.New(t), ocifake.New(t), alibabafake.New(t)
	fakes := []cloudtest.Fake{aws, az, gcp, oci, ali}
	secrets := []string{canary, awsfake.SecretAccessKey, alibabafake.AccessKeySecret}
	for _, f := range fakes {
		for k, v := range f.Env() {
			t.Setenv(k, v)
			if strings.Contains(k, "SECRET") {
				secrets = append(secrets, v)
			}
		}
	}
	secrets = append(secrets, keyLines(t, os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), "private_key")...)
	secrets = append(secrets, keyLines(t, ociKeyFile(t, os.Getenv("OCI_CLI_CONFIG_FILE")), "")...)
	for _, k := range canaryEnv {
		t.Setenv(k, canary)
	}

	bin := t.TempDir()
	mustWrite(t, filepath.Join(bin, "packer"), readFile(t, filepath.Join("testdata", "fake-packer-build")), 0o755)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sindri.yaml")
	mustWrite(t, cfg, fiveCloudsYAML(gcp), 0o644)
	gh, outputs, summary := actionsEnv(t)
	manifest := filepath.Join(dir, "manifest.json")
	environ := append(append(os.Environ(), "PATH="+bin, "HOME="+t.TempDir()), gh...)

	var logs []string
	runAll := func(label string) {
		for _, args := range [][]string{
			{"build", "--skip-tests", "--debug", "--manifest", manifest},
			{"images", "list"},
			{"images", "list", "--json"},
			{"cleanup", "--dry-run", "--older-than", "0s"},
			{"status"},
			{"doctor"},
		} {
			r := run(t, environ, append(args, "-c", cfg)...)
			logs = append(logs, label+" "+strings.Join(args, " ")+"\n"+r.stdout+r.stderr)
		}
	}
	runAll("ok")
	if doctor := logs[len(logs)-1]; strings.Count(doctor, "credentials           ok") != 5 {
		t.Fatalf("with the canaries set, not every cloud accepted its fake credentials:\n%s", doctor)
	}
	// Every API call fails with the cloud's own error body.
	for _, f := range fakes {
		f.FailNext(403, 1000)
	}
	runAll("403")
	if !strings.Contains(strings.Join(logs, "\n"), "403") && !strings.Contains(strings.Join(logs, "\n"), "Forbidden") {
		t.Fatalf("the failing runs show no API error; the test is not exercising errors:\n%s", strings.Join(logs, "\n"))
	}

	files := map[string]string{"GITHUB_OUTPUT": readFile(t, outputs), "GITHUB_STEP_SUMMARY": readFile(t, summary), "manifest": readFile(t, manifest)}
	for i, l := range logs {
		files["run "+string(rune('a'+i))] = withoutMaskCommands(l)
	}
	for name, text := range files {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows a secret %q:\n%s", name, s, text)
			}
		}
	}
}

// withoutMaskCommands drops the ::add-mask:: lines: the runner consumes
// them and never shows them, and they must name the value they mask.
func withoutMaskCommands(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "::add-mask::") {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

// keyLines returns the base64 lines of a PEM key, from a file or from a
// JSON file's field.
func keyLines(t *testing.T, path, field string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if field != "" {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		data = []byte(m[field].(string))
	}
	var out []string
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) >= 16 && !bytes.HasPrefix(l, []byte("-----")) {
			out = append(out, string(l))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no key in %s", path)
	}
	return out
}

// ociKeyFile is the key_file an OCI config file names.
func ociKeyFile(t *testing.T, config string) string {
	t.Helper()
	for _, l := range strings.Split(readFile(t, config), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "key_file" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no key_file in %s", config)
	return ""
}

// fiveCloudsYAML is a configuration of all five clouds, each pointing at
// what its test double serves (gcp's project and zone are per double).
func fiveCloudsYAML(gcp *gcpfake.Fake) string {
	return `name: canary
packer:
  clouds:
    aws: {region: us-west-2}
    azure: {subscription_id: ` + azurefake.Subscription + `, resource_group: ` + azurefake.ResourceGroup + `, location: ` + azurefake.Location + `}
    gcp: {project_id: ` + gcp.Project + `, zone: ` + gcp.Zone + `}
    oci: {compartment_ocid: ` + ocifake.Compartment + `, availability_domain: "` + ocifake.AvailabilityDomain + `", subnet_ocid: ` + ocifake.Subnet + `, region: ` + ocifake.Region + `}
    alibaba: {region: ` + alibabafake.Region + `, vswitch_id: ` + alibabafake.VSwitchID + `}
  build:
    sindri_version: 3.0.1
`
}
