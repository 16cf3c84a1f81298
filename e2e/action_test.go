package e2e

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/action")

// actionRun is one run of the container's entrypoint, `sindri-packer
// action`, with the runner's files.
type actionRun struct {
	runResult
	output, summary, env string // contents of GITHUB_OUTPUT, _STEP_SUMMARY, _ENV ("" when not written)
}

// runAction runs the binary exactly as the Action's container does: the
// entrypoint `sindri-packer action`, inputs as INPUT_<NAME> variables
// (upper-case, dashes kept, as the runner passes them to a Docker action),
// GITHUB_ACTIONS=true and the runner's GITHUB_OUTPUT, GITHUB_STEP_SUMMARY
// and GITHUB_ENV files, in dir (the workspace).
func runAction(t *testing.T, dir string, env []string, inputs map[string]string) actionRun {
	t.Helper()
	files := t.TempDir()
	out, sum, genv := filepath.Join(files, "output"), filepath.Join(files, "summary"), filepath.Join(files, "env")
	for _, f := range []string{out, sum, genv} {
		if err := os.WriteFile(f, nil, 0o644); err != nil { // the runner creates them empty
			t.Fatal(err)
		}
	}
	env = append(append([]string{}, env...),
		"GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+out, "GITHUB_STEP_SUMMARY="+sum, "GITHUB_ENV="+genv,
		"GITHUB_WORKSPACE="+dir, "GITHUB_RUN_ID=4242", "GITHUB_RUN_ATTEMPT=1")
	names := make([]string, 0, len(inputs))
	for k := range inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+inputs[k])
	}
	r := actionRun{runResult: runBinary(t, dir, env, "action")}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Each output has a random delimiter of its own: shown as one word.
	r.output = randomDelimiter.ReplaceAllString(read(out), ghaDelimiter)
	r.summary, r.env = read(sum), read(genv)
	return r
}

// ghaDelimiter stands for each output's random delimiter in r.output.
const ghaDelimiter = "ghadelimiter_RANDOM"

var randomDelimiter = regexp.MustCompile(`ghadelimiter_[0-9a-f]{32}`)

// ghaOutput is one output as it is written, its delimiter as r.output
// shows it.
func ghaOutput(name, value string) string {
	return name + "<<" + ghaDelimiter + "\n" + value + "\n" + ghaDelimiter + "\n"
}

// golden compares got with testdata/action/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "action", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func baseEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir()}
}

// TestActionMatrix: the matrix job of build-images.yml.
func TestActionMatrix(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	cfg := `packer:
  clouds:
    aws: {region: us-east-1, ami_regions: [us-west-2]}
    gcp: {project_id: sindri-test-123, zone: europe-west4-a}
    qemu: {}
  build: {sindri_version: 3.0.1}
`
	if err := os.WriteFile(filepath.Join(work, "sindri.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runAction(t, work, baseEnv(t), map[string]string{
		// What action.yml's defaults put in the environment, plus the step's with:.
		"command": "matrix", "config": "sindri.yaml", "clouds": "all", "working-directory": ".",
		"github-token": "ghs_e2etoken", "per-region": "true",
	})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	matrix := `{"include":[{"cloud":"aws","region":"us-east-1"},{"cloud":"aws","region":"us-west-2"},` +
		`{"cloud":"gcp","region":"europe-west4-a"},{"cloud":"qemu","region":"local"}]}`
	if want := ghaOutput("matrix", matrix); r.output != want {
		t.Errorf("GITHUB_OUTPUT:\n%q\nwant\n%q", r.output, want)
	}
	if r.summary != "" || r.env != "" {
		t.Errorf("GITHUB_STEP_SUMMARY %q, GITHUB_ENV %q: want both empty", r.summary, r.env)
	}
	if !strings.Contains(r.stdout, "::add-mask::ghs_e2etoken\n") {
		t.Errorf("the token is not masked:\n%s", r.stdout)
	}

	// A bad input: exit 2, an annotation naming it, nothing written.
	r = runAction(t, work, baseEnv(t), map[string]string{"command": "matrix", "per-region": "yes please"})
	if r.code != 2 || !strings.Contains(r.stdout, "::error title=sindri-packer input per-region::") || r.output != "" {
		t.Errorf("bad input: exit %d, output %q\n%s\n%s", r.code, r.output, r.stdout, r.stderr)
	}
}

// TestActionSummarize: the summarize job of build-images.yml over the
// manifests of two matrix jobs, as actions/download-artifact lays them out.
func TestActionSummarize(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "manifests"), os.DirFS(filepath.Join("testdata", "action", "manifests"))); err != nil {
		t.Fatal(err)
	}
	r := runAction(t, work, baseEnv(t), map[string]string{"command": "summarize", "manifests": "manifests", "config": "sindri.yaml", "working-directory": "."})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "summarize.github_output", r.output)
	golden(t, "summarize.step_summary", r.summary)
	merged, err := os.ReadFile(filepath.Join(work, "sindri-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summarize.manifest.json", string(merged))
	if r.env != "" {
		t.Errorf("GITHUB_ENV %q", r.env)
	}
	// The outputs name each cloud's image, whatever the golden says.
	for _, want := range []string{ghaOutput("aws-image-id", "ami-0aaaaaaa"), ghaOutput("gcp-image-id", "sindri-1764400000"), ghaOutput("manifest", "sindri-manifest.json")} {
		if !strings.Contains(r.output, want) {
			t.Errorf("GITHUB_OUTPUT lacks %q", want)
		}
	}
}

// installedTools is the environment with the toolchain of tools/install.sh
// first on PATH, or a reason to skip.
func installedTools(t *testing.T) []string {
	t.Helper()
	dir := toolsDir(t)
	if err := packerMissing(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("packer is not installed in %s: run tools/install.sh (CI must not skip)", dir)
		}
		t.Skipf("needs the real packer: %s/bin/packer is missing (run tools/install.sh, then source tools/env.sh)", dir)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("needs shellcheck (tools/install.sh installs it)")
	}
	return append(toolsEnv(t), "HOME="+t.TempDir(), "CHECKPOINT_DISABLE=1")
}

// TestActionValidate: the validate-templates workflow's step, with the
// real packer and plugins: a clean configuration passes with nothing in
// the runner's files; a broken workflow beside it is an error annotation
// on the file and exit 1.
func TestActionValidate(t *testing.T) {
	t.Parallel()
	env := installedTools(t)
	work := t.TempDir()
	if r := runBinary(t, work, env, "init", "--cloud", "qemu"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	inputs := map[string]string{"command": "validate", "config": "sindri.yaml", "clouds": "all", "working-directory": ".",
		"sindri-version": "3.0.1", "profile": "minimal", "extensions": "python,node"}
	r := runAction(t, work, env, inputs)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "validate: ok (qemu)\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// validate writes no outputs and no environment, only its job summary.
	if r.output != "" || r.env != "" {
		t.Errorf("runner files written by validate: output %q env %q", r.output, r.env)
	}
	if !strings.Contains(r.summary, "sindri-packer validate passed") {
		t.Errorf("validate's job summary: %q", r.summary)
	}

	broken, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "workflows", "broken.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, ".github", "workflows", "ci.yml"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runAction(t, work, env, inputs)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (findings)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Relative to the workspace, so GitHub puts it on the file in the diff.
	ann := "::error col=11,file=.github/workflows/ci.yml,line=11,title=actionlint::input \"fetch-depht\" is not defined"
	if !strings.Contains(r.stdout, ann) {
		t.Errorf("no annotation %q in:\n%s", ann, r.stdout)
	}
	if r.output != "" || r.env != "" {
		t.Errorf("runner files: output %q env %q", r.output, r.env)
	}
}
