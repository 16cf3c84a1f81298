package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// awsYAML is a single-cloud aws configuration that copies its AMI to a
// second region. The concrete sindri_version keeps the network out.
const awsYAML = `name: build-test
provider: packer
packer:
  cloud: aws
  region: us-east-1
  ami_regions: [us-west-2]
  build:
    sindri_version: 3.0.1
    name_prefix: sindri-dev
`

// What testdata/fake-packer-build reports for a successful build.
const (
	// The primary image ID is the AMI in the build region (us-east-1) of
	// the multi-region artifact "us-east-1:ami-0aaaaaaa,us-west-2:ami-0bbbbbbb".
	fakeAWSImageID   = "ami-0aaaaaaa"
	fakeAWSImageName = "sindri-dev-1"
)

// ghaDelimiter stands for the random delimiter each output is framed with
// (gha.AppendFileCommand); readOutputs writes every delimiter this way.
const ghaDelimiter = "ghadelimiter_RANDOM"

// ghaOutput is one output as it is written to $GITHUB_OUTPUT, with its
// random delimiter as readOutputs shows it.
func ghaOutput(name, value string) string {
	return name + "<<" + ghaDelimiter + "\n" + value + "\n" + ghaDelimiter + "\n"
}

var randomDelimiter = regexp.MustCompile(`ghadelimiter_[0-9a-f]{32}`)

// readOutputs reads a $GITHUB_OUTPUT file with each random delimiter
// written as ghaDelimiter, after checking that every output has its own.
func readOutputs(t *testing.T, path string) string {
	t.Helper()
	got := readFile(t, path)
	seen := map[string]int{}
	for _, d := range randomDelimiter.FindAllString(got, -1) {
		if seen[d]++; seen[d] > 2 {
			t.Errorf("delimiter %s frames more than one output in\n%s", d, got)
		}
	}
	return randomDelimiter.ReplaceAllString(got, ghaDelimiter)
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// actionsEnv is the environment of a GitHub Actions step: the outputs and
// job summary files (fresh, in a temporary folder) and GITHUB_ACTIONS=true.
func actionsEnv(t *testing.T) (env []string, outputs, summary string) {
	t.Helper()
	dir := t.TempDir()
	outputs, summary = filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	return []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + outputs, "GITHUB_STEP_SUMMARY=" + summary}, outputs, summary
}

// buildFixture is one build test's world: the fake packer (a test double,
// not the real tool) alone on PATH, an aws configuration, and where the
// manifest goes.
type buildFixture struct {
	bin      string // PATH: the fake as "packer", its control files and call records
	config   string
	manifest string
	// aws is the wire-level EC2 test double the aws target talks to: the
	// cache lookup, image tests and clean-up go there.
	aws *awsfake.Fake
}

func newBuildFixture(t *testing.T) buildFixture {
	t.Helper()
	bin := t.TempDir()
	mustWrite(t, filepath.Join(bin, "packer"), readFile(t, filepath.Join("testdata", "fake-packer-build")), 0o755)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sindri.yaml")
	mustWrite(t, cfg, awsYAML, 0o644)
	fake := awsfake.New(t)
	return buildFixture{bin: bin, config: cfg, manifest: filepath.Join(t.TempDir(), "out", "manifest.json"), aws: fake}
}

// build runs `sindri-packer build --skip-tests` on the fixture's
// configuration with PATH set to the fake's folder and extra environment
// variables. The image test stage has tests of its own (buildTested).
func (f buildFixture) build(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return f.buildTested(t, env, append([]string{"--skip-tests"}, args...)...)
}

// buildTested is build with the image test stage.
func (f buildFixture) buildTested(t *testing.T, env []string, args ...string) result {
	t.Helper()
	environ := append([]string{"PATH=" + f.bin}, env...)
	return runTargets(t, f.targets(), environ, append([]string{"build", "-c", f.config, "--manifest", f.manifest}, args...)...)
}

// fastBackoff keeps retries and state polls of the fakes short.
var fastBackoff = cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 2 * time.Second}

// targets serves the aws target from the fixture's EC2 test double (the
// credentials are TestMain's, which it accepts); the rest as usual.
func (f buildFixture) targets() func(string) (cloud.Target, error) {
	return func(name string) (cloud.Target, error) {
		if name == "aws" {
			return aws.Cloud{Endpoint: f.aws.URL(), Tuning: cloud.Tuning{Retry: fastBackoff, CallTimeout: 5 * time.Second, PollInterval: time.Millisecond, PollMax: 5 * time.Millisecond}}, nil
		}
		return targets.Builder(name)
	}
}

// fail makes the fake's builds exit with status after printing errors as
// packer's ui error lines.
func (f buildFixture) fail(t *testing.T, status int, errors ...string) {
	t.Helper()
	mustWrite(t, filepath.Join(f.bin, "build.exit"), strconv.Itoa(status)+"\n", 0o644)
	mustWrite(t, filepath.Join(f.bin, "build.errors"), strings.Join(errors, "\n")+"\n", 0o644)
}

func (f buildFixture) readManifest(t *testing.T) *pipeline.Manifest {
	t.Helper()
	m, err := pipeline.ReadManifest(f.manifest)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// buildCalls returns the argument lists of the fake's `packer build` calls.
func (f buildFixture) buildCalls(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	for _, c := range fakeCalls(t, f.bin) {
		if c[0] == "build" {
			out = append(out, c)
		}
	}
	return out
}

// wantBuilds fails the test unless packer build has run want times so far;
// when says at which point of the test.
func (f buildFixture) wantBuilds(t *testing.T, want int, when string) {
	t.Helper()
	if n := len(f.buildCalls(t)); n != want {
		t.Fatalf("%s: packer build ran %d times, want %d", when, n, want)
	}
}

// noRun fails unless packer was never called and no manifest written.
func (f buildFixture) noRun(t *testing.T) {
	t.Helper()
	if calls := fakeCalls(t, f.bin); len(calls) > 0 {
		t.Errorf("packer was called: %q", calls)
	}
	if _, err := os.Stat(f.manifest); !os.IsNotExist(err) {
		t.Errorf("manifest written (%v)", err)
	}
}

// fakeEnv returns what the fake recorded of packer's environment, per call.
func fakeEnv(t *testing.T, bin string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(bin, "env.*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, readFile(t, p))
	}
	return out
}

func TestBuildInActions(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	env, outputs, summary := actionsEnv(t)
	varFile := filepath.Join(t.TempDir(), "extra.pkrvars.hcl")
	mustWrite(t, varFile, "owner = \"me\"\n", 0o644)

	r := f.build(t, append(env, "AWS_SECRET_ACCESS_KEY=s3cr3t"), "--run-id", "run-7", "--var", "db_password=hunter2", "--var", "owner=me", "--var-file", varFile)
	r.check(t, ExitOK, []string{"::add-mask::s3cr3t\n", "::add-mask::hunter2\n", "| aws | us-east-1, us-west-2 |"}, nil)
	if strings.Contains(r.stdout, "::add-mask::me\n") {
		t.Errorf("a variable without a secret-like name was masked:\n%s", r)
	}

	aws := checkBuildManifest(t, f)
	// Step outputs, byte for byte, in name order.
	wantOutputs := ghaOutput("aws-image-id", fakeAWSImageID) +
		ghaOutput("config-hash", aws.ConfigHash) + ghaOutput("config-hashes", `{"aws":"`+aws.ConfigHash+`"}`) +
		ghaOutput("image-regions", `{"aws":{"us-east-1":"ami-0aaaaaaa","us-west-2":"ami-0bbbbbbb"}}`) +
		ghaOutput("images", `{"aws":"`+fakeAWSImageID+`"}`) +
		ghaOutput("manifest", f.manifest) +
		// --skip-tests: the image is not tested.
		ghaOutput("test-result", "skipped")
	if got := readOutputs(t, outputs); got != wantOutputs {
		t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", got, wantOutputs)
	}

	checkBuildSummary(t, r, summary)
	checkBuildPackerArgs(t, f, aws, varFile)
	// One cloud (every matrix job): its lines stream as they come, each
	// with its time, in no group (several clouds are grouped: pipeline's
	// TestGroupedLogs).
	if strings.Contains(r.stderr, "::group::") {
		t.Errorf("one cloud's log is grouped:\n%s", r)
	}
	for _, want := range []string{"==> amazon-ebs.sindri: Creating AMI sindri-dev-1", "built " + fakeAWSImageID} {
		if !regexp.MustCompile(`\[aws\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ` + regexp.QuoteMeta(want)).MatchString(r.stderr) {
			t.Errorf("the aws log lacks the timestamped %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stderr, "differs from the manifest") {
		t.Errorf("the machine-readable artifact id was misread:\n%s", r)
	}
}

// checkBuildManifest checks TestBuildInActions' unified manifest and
// returns its aws result.
func checkBuildManifest(t *testing.T, f buildFixture) *pipeline.CloudResult {
	t.Helper()
	m := f.readManifest(t)
	if m.RunID != "run-7" || m.PackerVersion != "1.9.4" || m.SindriVersion != "3.0.1" || !hex64.MatchString(m.ConfigHash) {
		t.Errorf("manifest run_id %q, packer %q, sindri %q, config_hash %q", m.RunID, m.PackerVersion, m.SindriVersion, m.ConfigHash)
	}
	if m.StartedAt.IsZero() || m.FinishedAt.Before(m.StartedAt) {
		t.Errorf("manifest started %s, finished %s", m.StartedAt, m.FinishedAt)
	}
	if len(m.Clouds) != 1 {
		t.Fatalf("manifest clouds %v, want aws only", m.Names())
	}
	aws := m.Clouds["aws"]
	if aws == nil {
		t.Fatal("manifest has no aws result")
	}
	wantImages := map[string]string{"us-east-1": "ami-0aaaaaaa", "us-west-2": "ami-0bbbbbbb"}
	if aws.Status != pipeline.StatusBuilt || aws.ImageID != fakeAWSImageID || aws.ImageName != fakeAWSImageName ||
		!hex64.MatchString(aws.ConfigHash) || aws.Error != "" || len(aws.PackerErrors) != 0 {
		t.Errorf("aws result %+v", aws)
	}
	if len(aws.Images) != len(wantImages) {
		t.Errorf("aws images %v, want %v (the older run's entry in packer's manifest must be ignored)", aws.Images, wantImages)
	}
	for region, id := range wantImages {
		if aws.Images[region] != id {
			t.Errorf("aws images %v, want %v", aws.Images, wantImages)
		}
	}

	return aws
}

// checkBuildSummary checks that the job summary is the table the
// terminal shows.
func checkBuildSummary(t *testing.T, r result, summary string) {
	t.Helper()
	sum := readFile(t, summary)
	for _, want := range []string{
		"### sindri-packer build `run-7`\n",
		"Sindri 3.0.1 · Packer 1.9.4\n",
		"| cloud | regions | image ID | status | duration | cached | config hash |\n",
		"| aws | us-east-1, us-west-2 | `" + fakeAWSImageID + "` | built | ",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("job summary lacks %q:\n%s", want, sum)
		}
	}
	if !strings.Contains(r.stdout, strings.TrimSuffix(sum, "\n")) {
		t.Errorf("the terminal table differs from the job summary:\n%s", r)
	}

}

// checkBuildPackerArgs checks that packer got the run's variables, the
// user's, and the defaults.
func checkBuildPackerArgs(t *testing.T, f buildFixture, aws *pipeline.CloudResult, varFile string) {
	t.Helper()
	calls := f.buildCalls(t)
	if len(calls) != 1 {
		t.Fatalf("packer build calls %q, want one", calls)
	}
	got := slices.Clone(calls[0])
	for i, a := range got {
		if p, ok := strings.CutPrefix(a, "manifest_path="); ok && filepath.Base(p) == "packer-manifest.json" {
			got[i] = "manifest_path=@WORK@/packer-manifest.json"
			if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
				t.Errorf("the build's work folder %s is left behind (%v)", filepath.Dir(p), err)
			}
		}
	}
	if last := got[len(got)-1]; strings.HasSuffix(last, filepath.Join("render", "aws")) {
		got[len(got)-1] = "@RENDERED@"
	}
	want := []string{
		"build", "-machine-readable", "-color=false", "-timestamp-ui=false", "-on-error=cleanup",
		"-var", "config_hash=" + aws.ConfigHash,
		"-var", "db_password=hunter2",
		"-var", "manifest_path=@WORK@/packer-manifest.json",
		"-var", "owner=me",
		"-var", "run_id=run-7",
		"-var-file=" + varFile,
		"@RENDERED@",
	}
	if !slices.Equal(got, want) {
		t.Errorf("packer build arguments:\n%q\nwant\n%q", got, want)
	}

}

func TestBuildOutsideActions(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	outputs := filepath.Join(t.TempDir(), "output")
	r := f.build(t, []string{"GITHUB_OUTPUT=" + outputs, "AWS_SECRET_ACCESS_KEY=s3cr3t"},
		"--on-error", "abort", "--debug", "--parallel", "1", "--timeout", "1h")
	r.check(t, ExitOK, []string{"| aws | us-east-1, us-west-2 | `" + fakeAWSImageID + "` | built |"},
		[]string{"[aws] ==> amazon-ebs.sindri: Launching a source AWS instance...\n", "[aws] built " + fakeAWSImageID + "\n"})
	if strings.Contains(r.stdout+r.stderr, "::") {
		t.Errorf("workflow commands outside GitHub Actions:\n%s", r)
	}
	if _, err := os.Stat(outputs); !os.IsNotExist(err) {
		t.Errorf("GITHUB_OUTPUT written outside GitHub Actions (%v)", err)
	}
	calls := f.buildCalls(t)
	if len(calls) != 1 || !slices.Contains(calls[0], "-on-error=abort") {
		t.Errorf("packer build calls %q, want one with -on-error=abort", calls)
	}
	// --debug turns on packer's own log; the update check is always off.
	for _, env := range fakeEnv(t, f.bin) {
		if env != "PACKER_LOG=1\nCHECKPOINT_DISABLE=1\nPACKER_NO_COLOR=1\n" {
			t.Errorf("packer's environment:\n%s", env)
		}
	}
	if m := f.readManifest(t); m.Clouds["aws"].Status != pipeline.StatusBuilt {
		t.Errorf("aws %+v", m.Clouds["aws"])
	}
}

func TestBuildFailure(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	errs := []string{
		"==> amazon-ebs.sindri: Error launching source instance: UnauthorizedOperation: You are not authorized to perform this operation., status code: 403",
		"Build 'amazon-ebs.sindri' errored after 2 seconds 71 milliseconds: Error launching source instance: UnauthorizedOperation, status code: 403",
	}
	f.fail(t, 1, errs...)
	env, outputs, _ := actionsEnv(t)
	r := f.build(t, env, "--run-id", "run-9")
	wantError := "packer build exited 1: " + errs[1]
	r.check(t, ExitFindings,
		[]string{"::error title=sindri-packer build aws failed::" + wantError + "%0A" + errs[0] + "%0A" + errs[1] + "\n", "| aws | — | — | failed: " + wantError + " |"},
		[]string{"build failed: aws (manifest: " + f.manifest + ")\n"})
	if strings.Contains(r.stderr, "error:") {
		t.Errorf("a failed build is a finding, not an error:\n%s", r)
	}

	m := f.readManifest(t)
	aws := m.Clouds["aws"]
	if aws == nil || aws.Status != pipeline.StatusFailed || aws.Error != wantError || !slices.Equal(aws.PackerErrors, errs) ||
		aws.ImageID != "" || aws.Images != nil || !hex64.MatchString(aws.ConfigHash) {
		t.Errorf("aws result %+v", aws)
	}
	if m.RunID != "run-9" {
		t.Errorf("run_id %q", m.RunID)
	}
	want := ghaOutput("config-hash", aws.ConfigHash) + ghaOutput("config-hashes", `{"aws":"`+aws.ConfigHash+`"}`) + ghaOutput("image-regions", "{}") + ghaOutput("images", "{}") + ghaOutput("manifest", f.manifest) + ghaOutput("test-result", "skipped")
	if got := readOutputs(t, outputs); got != want {
		t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuildDryRun(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	r := f.build(t, nil, "--dry-run")
	r.check(t, ExitOK, []string{"| aws | — | — | planned |"}, []string{"[aws] would build (config hash "})
	if calls := fakeCalls(t, f.bin); !slices.EqualFunc(calls, [][]string{{"version"}}, slices.Equal) {
		t.Errorf("packer calls %q, want only version", calls)
	}
	m := f.readManifest(t)
	if aws := m.Clouds["aws"]; aws.Status != pipeline.StatusPlanned || !hex64.MatchString(aws.ConfigHash) || aws.ImageID != "" {
		t.Errorf("aws %+v", aws)
	}
}

func TestBuildExistingImage(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	env, outputs, _ := actionsEnv(t)
	r := f.build(t, env, "--set", "packer.image_id=ami-0a1b2c3d")
	r.check(t, ExitOK, []string{"| aws | — | `ami-0a1b2c3d` | existing |"}, []string{"using the configured image_id ami-0a1b2c3d"})
	if calls := f.buildCalls(t); len(calls) > 0 {
		t.Errorf("packer build ran for an existing image: %q", calls)
	}
	if aws := f.readManifest(t).Clouds["aws"]; aws.Status != pipeline.StatusExisting || aws.ImageID != "ami-0a1b2c3d" {
		t.Errorf("aws %+v", aws)
	}
	if got := readOutputs(t, outputs); !strings.HasPrefix(got, ghaOutput("aws-image-id", "ami-0a1b2c3d")) {
		t.Errorf("GITHUB_OUTPUT lacks aws-image-id:\n%s", got)
	}
}

// TestBuildBadInput: every case exits 2 before packer runs.
func TestBuildBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{name: "bad --on-error", args: []string{"--on-error", "ignore"}, want: `--on-error must be cleanup or abort, got "ignore"`},
		{name: "negative --parallel", args: []string{"--parallel", "-1"}, want: "--parallel must be at least 1, got -1"},
		{name: "--var without =", args: []string{"--var", "region"}, want: `--var "region": expected name=value`},
		{name: "--var without a name", args: []string{"--var", "=x"}, want: `--var "=x": expected name=value`},
		{name: "missing --var-file", args: []string{"--var-file", "no-such.pkrvars.hcl"}, want: "--var-file: stat no-such.pkrvars.hcl: no such file or directory"},
		{name: "cloud not configured", args: []string{"--clouds", "gcp"}, want: "--clouds: gcp is not configured"},
		{name: "bad --set", args: []string{"--set", "packer.volume_size=big"}, want: "packer.volume_size"},
		{name: "stray argument", args: []string{"now"}, want: `unknown command "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBuildFixture(t)
			r := f.build(t, []string{"GITHUB_ACTIONS=true"}, tt.args...)
			r.check(t, ExitBadInput, nil, []string{tt.want})
			f.noRun(t)
		})
	}
}

func TestBuildConfigMissing(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	f.config = filepath.Join(t.TempDir(), "sindri.yaml")
	f.build(t, nil).check(t, ExitBadInput, nil, []string{"sindri.yaml"})
	f.noRun(t)
}

func TestBuildWithoutPacker(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	r := run(t, []string{"PATH=" + t.TempDir()}, "build", "-c", f.config, "--manifest", f.manifest)
	r.check(t, ExitFailure, nil, []string{"packer not found on PATH", "tools/install.sh"})
	f.noRun(t)
}

// TestBuildConfigHash: the same configuration hashes the same in every
// run; any change to what goes into the image changes the hash.
func TestBuildConfigHash(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	hashes := func(args ...string) (run, aws string) {
		t.Helper()
		f.build(t, nil, append([]string{"--dry-run"}, args...)...).check(t, ExitOK, nil, nil)
		m := f.readManifest(t)
		return m.ConfigHash, m.Clouds["aws"].ConfigHash
	}
	run1, aws1 := hashes("--run-id", "one")
	run2, aws2 := hashes("--run-id", "two", "--var", "owner=me")
	if run1 != run2 || aws1 != aws2 {
		t.Errorf("two runs of one configuration hash differently: run %s / %s, aws %s / %s", run1, run2, aws1, aws2)
	}
	run3, aws3 := hashes("--set", "packer.instance_type=t3.xlarge")
	if run3 == run1 || aws3 == aws1 {
		t.Errorf("changing instance_type kept the hash: run %s, aws %s", run3, aws3)
	}
	if run1 == aws1 || !hex64.MatchString(run1) || !hex64.MatchString(aws1) {
		t.Errorf("run hash %q, aws hash %q", run1, aws1)
	}
}

func TestBuildDefaultRunID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want *regexp.Regexp
	}{
		{name: "run and attempt", env: []string{"GITHUB_RUN_ID=4242", "GITHUB_RUN_ATTEMPT=3"}, want: regexp.MustCompile(`^4242-3$`)},
		{name: "run only", env: []string{"GITHUB_RUN_ID=4242"}, want: regexp.MustCompile(`^4242$`)},
		{name: "outside Actions", want: regexp.MustCompile(`^\d{8}t\d{6}-[0-9a-f]{6}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBuildFixture(t)
			f.build(t, tt.env, "--dry-run").check(t, ExitOK, nil, nil)
			if id := f.readManifest(t).RunID; !tt.want.MatchString(id) {
				t.Errorf("run_id %q, want %s", id, tt.want)
			}
		})
	}
}

// TestBuildPackerVersionCache: packer is asked its version once per binary;
// the answer is kept in the user's cache folder.
func TestBuildPackerVersionCache(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	cache := t.TempDir()
	for range 2 {
		f.build(t, []string{"XDG_CACHE_HOME=" + cache}, "--dry-run").check(t, ExitOK, nil, nil)
		if v := f.readManifest(t).PackerVersion; v != "1.9.4" {
			t.Errorf("packer_version %q", v)
		}
	}
	if calls := fakeCalls(t, f.bin); len(calls) != 1 || calls[0][0] != "version" {
		t.Errorf("packer calls %q, want one version", calls)
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "sindri-packer", "packer-version", "*")); len(files) != 1 || readFile(t, files[0]) != "1.9.4\n" {
		t.Errorf("version cache files %q", files)
	}
}

// TestBuildReportFailures: results that cannot be written are a tool
// failure (exit 3), not a silent success.
func TestBuildReportFailures(t *testing.T) {
	t.Parallel()
	t.Run("manifest", func(t *testing.T) {
		t.Parallel()
		f := newBuildFixture(t)
		blocker := filepath.Join(t.TempDir(), "file")
		mustWrite(t, blocker, "", 0o644)
		f.manifest = filepath.Join(blocker, "manifest.json")
		f.build(t, nil, "--dry-run").check(t, ExitFailure, nil, []string{"write manifest"})
	})
	t.Run("outputs", func(t *testing.T) {
		t.Parallel()
		f := newBuildFixture(t)
		r := f.build(t, []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + t.TempDir()}, "--dry-run")
		r.check(t, ExitFailure, nil, []string{"github actions output"})
		if m := f.readManifest(t); m.Clouds["aws"].Status != pipeline.StatusPlanned {
			t.Errorf("the manifest must be written before the outputs: %+v", m.Clouds["aws"])
		}
	})
	t.Run("summary", func(t *testing.T) {
		t.Parallel()
		f := newBuildFixture(t)
		r := f.build(t, []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + filepath.Join(t.TempDir(), "out"), "GITHUB_STEP_SUMMARY=" + t.TempDir()}, "--dry-run")
		r.check(t, ExitFailure, nil, []string{"github actions step summary"})
	})
}

// TestBuildRegion: --region builds the one cloud in that region with no
// copies: the same config hash as a file written that way by hand.
func TestBuildRegion(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	hash := func(cfg string, args ...string) string {
		t.Helper()
		f.build(t, nil, append([]string{"-c", cfg, "--dry-run"}, args...)...).check(t, ExitOK, nil, nil)
		return f.readManifest(t).Clouds["aws"].ConfigHash
	}
	pinned := hash(f.config, "--clouds", "aws", "--region", "eu-west-1")
	byHand := configFile(t, strings.Replace(strings.Replace(awsYAML, "region: us-east-1", "region: eu-west-1", 1), "  ami_regions: [us-west-2]\n", "", 1))
	if want := hash(byHand); pinned != want {
		t.Errorf("--region eu-west-1 hashes %s, the same config written by hand %s", pinned, want)
	}
	if pinned == hash(f.config) {
		t.Error("--region did not change the build")
	}
	r := f.build(t, nil, "--clouds", "aws", "--region", "not a region", "--dry-run")
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "packer.region") {
		t.Errorf("bad region: exit %d\n%s", r.code, r.stderr)
	}
}
