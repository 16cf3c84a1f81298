package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAlibabaWithoutVSwitchStopsBeforeAnythingStarts: what `init --cloud
// alibaba` writes has no vswitch_id, which every launched instance needs;
// build (with its image test), test and deploy stop at load time with
// exit 2 naming the field where it belongs, instead of failing with exit
// 3 after the build ran. build --skip-tests and --dry-run need no
// instance, and a set vswitch_id passes the check.
func TestAlibabaWithoutVSwitchStopsBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	file := initConfig(t, "alibaba")
	env := []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}
	want := []string{file + ":", "packer.vswitch_id: missing: launching an instance", "--skip-tests"}
	for _, args := range [][]string{
		{"build", "-c", file},
		{"test", "-c", file, "--cloud", "alibaba", "--image", "m-bp1234567890abcdef"},
		{"deploy", "-c", file, "--ssh-public-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9ExampleExampleExampleExampleExampleExampl me@x"},
	} {
		r := run(t, env, args...)
		r.check(t, ExitBadInput, nil, want)
		if strings.Contains(r.stderr, "packer not found") || strings.Contains(r.stderr, "launching") && !strings.Contains(r.stderr, "missing: launching") {
			t.Errorf("%s started something:\n%s", args[0], r)
		}
	}
	for _, args := range [][]string{
		{"build", "-c", file, "--skip-tests"},
		{"build", "-c", file, "--set", "packer.vswitch_id=vsw-bp1234567890abcdef"},
	} {
		r := run(t, env, args...)
		if r.code == ExitBadInput || strings.Contains(r.stderr, "vswitch_id") {
			t.Errorf("%q: %s", args, r)
		}
	}
}

// TestPlaceholdersTakeEmptyVariables: in Actions an input nobody gave is
// the empty string; validate and matrix on a pull request treat it as
// unset (placeholder and notice), build still needs the real value.
func TestPlaceholdersTakeEmptyVariables(t *testing.T) {
	t.Parallel()
	file := initConfig(t, "oci")
	env := []string{"PATH=" + fakeTools(t, "", 0), "OCI_COMPARTMENT_OCID=", "OCI_SUBNET_OCID="}
	notices := []string{"notice: " + file + ":", "OCI_COMPARTMENT_OCID is not set or empty", "OCI_SUBNET_OCID is not set or empty"}
	run(t, env, "validate", "-c", file, "--out", filepath.Join(t.TempDir(), "out")).check(t, ExitOK, []string{"validate: ok (oci)"}, notices)
	run(t, env, "matrix", "-c", file).check(t, ExitOK, []string{`"cloud":"oci"`}, notices)
	run(t, env, "build", "-c", file).check(t, ExitBadInput, nil, []string{"OCI_COMPARTMENT_OCID} expanded to nothing"})
}
