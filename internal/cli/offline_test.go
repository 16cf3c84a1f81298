package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// awsNoCredentials is what the AWS SDK answers without any credentials:
// the useful part comes last, after more than 200 characters of chain.
const awsNoCredentials = "aws: check credentials (sts get-caller-identity in us-east-1): operation error STS: GetCallerIdentity, " +
	"get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, " +
	"canceled, context deadline exceeded; the end of the chain"

// TestDoctorShowsTheWholeCauseAndHowToSignIn: doctor's table cuts a detail
// to one line; the whole cause chain follows it, with the cloud's sign-in
// hint, and --json carries both too.
func TestDoctorShowsTheWholeCauseAndHowToSignIn(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.fail["CheckCredentials"] = errorString(awsNoCredentials)
	r := runWith(t, fake, "", env, "doctor", "-c", cfg)
	r.check(t, 1, []string{"the end of the chain", "aws sso login", "AWS_PROFILE"}, nil)
	r = runWith(t, fake, "", env, "doctor", "-c", cfg, "--json")
	r.check(t, 1, []string{"the end of the chain", "aws sso login"}, nil)
}

// TestCredentialFailuresSayHowToSignIn: images, cleanup and status add the
// cloud's sign-in hint to a credential failure, and only to one.
func TestCredentialFailuresSayHowToSignIn(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.fail["ListImages"] = errorString("operation error EC2: DescribeImages, get identity: get credentials: failed to refresh cached credentials")
	runWith(t, fake, "", env, "images", "list", "-c", cfg).check(t, 3, nil, []string{"failed to refresh cached credentials", "hint: aws credentials: sign in with `aws sso login"})
	fake.fail["Leftovers"] = errorString("operation error EC2: DescribeInstances, https response error StatusCode: 401, api error AuthFailure: AWS was not able to validate the provided access credentials")
	runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, 3, nil, []string{"AuthFailure", "hint: aws credentials"})
	fake.fail["ListInstances"] = errorString("operation error EC2: DescribeInstances, api error RequestExpired: request has expired")
	r := runWith(t, fake, "", env, "status", "-c", cfg)
	r.check(t, 3, nil, []string{"RequestExpired"})
	if strings.Contains(r.stderr, "hint:") {
		t.Errorf("a failure that is not about credentials got the sign-in hint:\n%s", r)
	}
}

// TestRenderOfflineNamesTheVersionField: a fresh init file says
// sindri_version: latest, which needs the GitHub API; offline, render
// fails (exit 3) with the field to set and where it is written, and the
// file itself says so beside the field.
func TestRenderOfflineNamesTheVersionField(t *testing.T) {
	for _, name := range []string{"aws", "qemu"} {
		path := initConfig(t, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		line := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "sindri_version: latest" }) + 1
		if line == 0 || !strings.Contains(strings.Join(lines[max(0, line-6):line], "\n"), "offline") {
			t.Errorf("%s: the init comment beside sindri_version does not mention offline use", name)
		}
		r := run(t, []string{"GITHUB_API_URL=" + closedPort()}, "render", "-c", path, "--out", filepath.Join(t.TempDir(), "out"))
		r.check(t, ExitFailure, nil, []string{
			"set packer.build.sindri_version to a release",
			fmt.Sprintf("in %s:%d", path, line),
			"--set packer.build.sindri_version=",
			"SINDRI_LATEST_VERSION",
		})
	}
}

// TestDoctorHintsComeFromEachCloudsRealError: with no usable credentials
// the real targets' own errors (not a test double's) get their cloud's
// sign-in hint in doctor --json.
func TestDoctorHintsComeFromEachCloudsRealError(t *testing.T) {
	cfg := configFile(t, "provider: packer\npacker:\n  clouds:\n    gcp:\n      project_id: sindri-test-123\n"+
		"    oci:\n      compartment_ocid: ocid1.compartment.oc1..aaaatest\n      subnet_ocid: ocid1.subnet.oc1..aaaatest\n      availability_domain: AD-1\n")
	// No test endpoint for gcp: its real credential chain runs (and fails
	// on the empty GOOGLE_APPLICATION_CREDENTIALS file of testEnv).
	r := run(t, []string{"HOME=" + t.TempDir(), "PATH=" + t.TempDir(), "SINDRI_GCP_ENDPOINT="}, "doctor", "-c", cfg, "--json", "--timeout", "20s")
	var out struct {
		Checks []checkJSON `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r)
	}
	want := map[string]string{"gcp": "gcloud auth application-default login", "oci": "oci setup config"}
	for _, ch := range out.Checks {
		if ch.Check != "credentials" || want[ch.Cloud] == "" {
			continue
		}
		if ch.Status != "failed" || !strings.Contains(ch.Detail, "hint: "+ch.Cloud+" credentials") || !strings.Contains(ch.Detail, want[ch.Cloud]) {
			t.Errorf("%s credentials: %+v, want a failure with the hint %q", ch.Cloud, ch, want[ch.Cloud])
		}
		delete(want, ch.Cloud)
	}
	if len(want) > 0 {
		t.Errorf("no credentials check for %v", want)
	}
}
