package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildHelpOverridesWork: every override in build --help's examples
// works on the init config of each cloud the example names (the help
// showed --var region=eu-west-1 for aws and gcp, which packer refused: no
// template declared region), and no example passes with --var what build
// refuses (a variable standing for a sindri.yaml field).
func TestBuildHelpOverridesWork(t *testing.T) {
	r := run(t, nil, "build", "--help")
	r.check(t, ExitOK, nil, nil)
	lines := regexp.MustCompile(`(?m)^\s*sindri-packer build .*--(set|var) .*$`).FindAllString(r.stdout, -1)
	if len(lines) == 0 {
		t.Fatalf("build --help shows no override:\n%s", r.stdout)
	}
	for _, line := range lines {
		clouds := regexp.MustCompile(`--clouds (\S+)`).FindStringSubmatch(line)
		if clouds == nil {
			t.Errorf("example %q does not name its clouds", line)
			continue
		}
		for _, name := range strings.Split(clouds[1], ",") {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "sindri.yaml")
			run(t, nil, "init", "--cloud", name, "-o", cfg).check(t, ExitOK, nil, nil)
			args := []string{"render", "-c", cfg, "--out", filepath.Join(dir, "out"), "--set", "packer.build.sindri_version=3.0.0"}
			sets := regexp.MustCompile(`--set (\S+)=(\S+)`).FindAllStringSubmatch(line, -1)
			for _, m := range sets {
				args = append(args, "--set", m[1]+"="+m[2])
			}
			env := []string{"HOME=" + dir, "GCP_PROJECT_ID=my-project", "AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-000000000000",
				"OCI_COMPARTMENT_OCID=ocid1.compartment.oc1..example", "OCI_SUBNET_OCID=ocid1.subnet.oc1.iad.example"}
			run(t, env, args...).check(t, ExitOK, nil, nil)
			tpl, err := os.ReadFile(filepath.Join(dir, "out", name, "sindri.pkr.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range sets {
				if !strings.Contains(string(tpl), `"`+m[2]+`"`) {
					t.Errorf("%q: the %s template does not carry %s", line, name, m[2])
				}
			}
			for _, m := range regexp.MustCompile(`--var (\w+)=(\S+)`).FindAllStringSubmatch(line, -1) {
				b := run(t, env, "build", "-c", cfg, "--dry-run", "--var", m[1]+"="+m[2])
				if b.code == ExitBadInput && strings.Contains(b.stderr, "--var "+m[1]+": use --set") {
					t.Errorf("%q: build refuses --var %s", line, m[1])
				}
			}
		}
	}
}

// TestBuildRefusesVarForAConfigField: --var for a template variable that
// stands for a sindri.yaml field exits 2 before anything starts, naming
// the --set to use (packer took it, but the cache, the tags and the image
// test read the field: the AMI was built in one region and tested in
// another).
func TestBuildRefusesVarForAConfigField(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sindri.yaml")
	run(t, nil, "init", "--cloud", "aws", "-o", cfg).check(t, ExitOK, nil, nil)
	env := []string{"HOME=" + dir, "SINDRI_LATEST_VERSION=3.0.0"}
	run(t, env, "build", "-c", cfg, "--dry-run", "--var", "region=eu-west-1").
		check(t, ExitBadInput, nil, []string{"build: --var region: use --set packer.region=eu-west-1"})
	run(t, env, "build", "-c", cfg, "--dry-run", "--var", "sindri_version=3.1.0").
		check(t, ExitBadInput, nil, []string{"build: --var sindri_version: use --set packer.build.sindri_version=3.1.0"})
}
