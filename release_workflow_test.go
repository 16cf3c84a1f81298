package sindripacker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// releaseWorkflow is .github/workflows/release.yml, as far as the tests
// read it.
type releaseWorkflow struct {
	On   map[string]yaml.Node `yaml:"on"`
	Jobs map[string]struct {
		Needs   any               `yaml:"needs"`
		Outputs map[string]string `yaml:"outputs"`
		Steps   []wfStep          `yaml:"steps"`
	} `yaml:"jobs"`
}

// git runs git in dir with no user or system configuration, failing the
// test on an error; it returns the trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	return cmd
}

// runStep runs a run: step of the release workflow in dir as the runner
// would (bash, its env evaluated in ctx, GITHUB_OUTPUT and GITHUB_ENV
// files, the GITHUB_* variables given), returning its outputs, or the
// step's output and false when it fails.
func runStep(t *testing.T, dir string, st wfStep, ctx map[string]map[string]string, vars map[string]string) (map[string]string, string, bool) {
	t.Helper()
	if st.Shell != "bash" {
		t.Fatalf("step %s: shell %q, want bash", st.Name+st.ID, st.Shell)
	}
	outFile := filepath.Join(t.TempDir(), "set_output")
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.Run)
	cmd.Dir = dir
	// git's isolated environment, for the script's git commands.
	cmd.Env = append(gitCmd(dir).Env, "GITHUB_OUTPUT="+outFile, "GITHUB_ENV="+os.DevNull)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range st.Env {
		val, err := evalExpr(v, ctx)
		if err != nil {
			t.Fatalf("step %s: env %s: %v", st.Name+st.ID, k, err)
		}
		cmd.Env = append(cmd.Env, k+"="+val)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(out), false
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	outputs, err := parseEnvFile(string(data))
	if err != nil {
		t.Fatalf("step %s: GITHUB_OUTPUT: %v", st.Name+st.ID, err)
	}
	return outputs, string(out), true
}

// releaseRepo is a bare origin holding one commit on main with this
// repository's action.yml (and an older release's v1 tag below it), and a
// clone of that commit as actions/checkout leaves it.
func releaseRepo(t *testing.T) (origin, work, released string) {
	t.Helper()
	origin, work = filepath.Join(t.TempDir(), "origin.git"), filepath.Join(t.TempDir(), "work")
	git(t, "", "init", "-q", "--bare", "-b", "main", origin)
	seed := filepath.Join(t.TempDir(), "seed")
	git(t, "", "clone", "-q", origin, seed)
	if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, seed, "add", ".")
	git(t, seed, "commit", "-q", "-m", "old release")
	git(t, seed, "tag", "v1")
	action, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "action.yml"), action, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, seed, "add", ".")
	git(t, seed, "commit", "-q", "-m", "to release")
	git(t, seed, "push", "-q", "origin", "main", "refs/tags/v1")
	released = git(t, seed, "rev-parse", "HEAD")
	git(t, "", "clone", "-q", origin, work)
	return origin, work, released
}

// TestReleaseTagsRunThePrebuiltImage plays release.yml for v1.4.2: the
// image job pushes the image under v1.4.2 and v1; the tag job leaves the
// tags v1.4.2 (new) and v1 (moved) on one commit, whose action.yml - what
// @v1.4.2, @v1 and a SHA pin of either run - names that image by digest
// and differs from the released commit's only there; the branch still
// builds from the Dockerfile. A version tag pushed by hand would name a
// commit that builds from source, so the workflow does not start on one.
func TestReleaseTagsRunThePrebuiltImage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	data, err := os.ReadFile(".github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf releaseWorkflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var dispatch struct {
		Inputs map[string]wfInput `yaml:"inputs"`
	}
	if n, ok := wf.On["workflow_dispatch"]; !ok {
		var on []string
		for k := range wf.On {
			on = append(on, k)
		}
		t.Errorf("release.yml does not start by hand with a version (workflow_dispatch): on %q", on)
	} else if err := n.Decode(&dispatch); err != nil || dispatch.Inputs["version"].Type != "string" {
		t.Errorf("workflow_dispatch inputs %+v (%v): want a string input version", dispatch.Inputs, err)
	}
	if _, ok := wf.On["push"]; ok {
		t.Errorf("release.yml starts on a push: a pushed version tag names a commit whose action.yml builds the image from source")
	}
	step := func(job, match string) wfStep {
		t.Helper()
		for _, st := range wf.Jobs[job].Steps {
			if st.ID == match || strings.HasPrefix(st.Uses, match) || (st.Run != "" && match == "run") {
				return st
			}
		}
		t.Fatalf("release.yml: job %s has no step %s", job, match)
		return wfStep{}
	}

	origin, work, released := releaseRepo(t)
	const version, digest = "v1.4.2", "sha256:0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978"
	vars := map[string]string{"GITHUB_REPOSITORY": "Sindri-Dev/Sindri-Packer-Action", "GITHUB_SHA": released}
	ctx := map[string]map[string]string{"inputs": {"version": version}, "github": {"sha": released}}

	// The image job: the name step, then what build-push-action is given.
	names, log, ok := runStep(t, work, step("image", "name"), ctx, vars)
	if !ok {
		t.Fatalf("image job, name step: %s", log)
	}
	const image = "ghcr.io/sindri-dev/sindri-packer-action"
	ctx["steps"] = map[string]string{}
	for k, v := range names {
		ctx["steps"]["name.outputs."+k] = v
	}
	push := step("image", "docker/build-push-action@")
	tags, err := evalExpr(push.With["tags"], ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(strings.ReplaceAll(tags, ",", " ")); !slices.Equal(got, []string{image + ":" + version, image + ":v1"}) {
		t.Errorf("build-push-action tags %q, want %s:%s and the major %s:v1", got, image, version, image)
	}
	if push.With["push"] != "true" || push.ID == "" {
		t.Errorf("build-push-action push %q id %q: want it pushed, with an id for its digest", push.With["push"], push.ID)
	}
	if args, _ := evalExpr(push.With["build-args"], ctx); args != "SINDRI_PACKER_VERSION="+version {
		t.Errorf("build-args %q", args)
	}
	imageOutputs := map[string]string{}
	for k, v := range wf.Jobs["image"].Outputs {
		switch v {
		case "${{ steps." + push.ID + ".outputs.digest }}":
			imageOutputs[k] = digest
		default:
			imageOutputs[k], err = evalExpr(v, ctx)
			if err != nil {
				t.Fatalf("image job output %s: %v", k, err)
			}
		}
	}
	// A bad or existing version stops the release before anything is built.
	for _, bad := range []string{"1.4.2", "v1.4", "v1.4.2-rc1", "v1"} {
		if _, _, ok := runStep(t, work, step("image", "name"), map[string]map[string]string{"inputs": {"version": bad}}, vars); ok {
			t.Errorf("version %q: the name step passed", bad)
		}
	}

	// The tag job.
	var needs string
	if n, ok := wf.Jobs["tag"].Needs.(string); ok {
		needs = n
	}
	if needs != "image" {
		t.Fatalf("job tag needs %v, want image", wf.Jobs["tag"].Needs)
	}
	ctx["needs"] = map[string]string{}
	for k, v := range imageOutputs {
		ctx["needs"]["image.outputs."+k] = v
	}
	if _, log, ok := runStep(t, work, step("tag", "run"), ctx, vars); !ok {
		t.Fatalf("tag job: %s", log)
	}
	pinned := git(t, origin, "rev-parse", version+"^{commit}")
	if major := git(t, origin, "rev-parse", "v1^{commit}"); major != pinned {
		t.Errorf("v1 is at %s, v1.4.2 at %s: want the major tag moved to the release", major, pinned)
	}
	if parent := git(t, origin, "rev-parse", pinned+"^"); parent != released {
		t.Errorf("the release commit's parent is %s, want the released commit %s", parent, released)
	}
	want := "docker://" + image + ":" + version + "@" + digest
	for _, ref := range []string{version, "v1", pinned} { // @v1.4.2, @v1 and a SHA pin
		var a struct {
			Runs struct {
				Using string `yaml:"using"`
				Image string `yaml:"image"`
			} `yaml:"runs"`
		}
		if err := yaml.Unmarshal([]byte(git(t, origin, "show", ref+":action.yml")), &a); err != nil {
			t.Fatal(err)
		}
		if a.Runs.Using != "docker" || a.Runs.Image != want {
			t.Errorf("@%s: action.yml runs %+v, want the prebuilt image %s", ref, a.Runs, want)
		}
	}
	if diff := git(t, origin, "diff", "--stat", released, pinned); !strings.Contains(diff, "action.yml | 2 +-") || strings.Count(diff, "|") != 1 {
		t.Errorf("the release commit changes more than action.yml's image line:\n%s", diff)
	}
	if main := git(t, origin, "show", "main:action.yml"); !slices.Contains(strings.Split(main, "\n"), "  image: Dockerfile") {
		t.Errorf("main's action.yml no longer builds from the Dockerfile (forks and @main do)")
	}
	// A second run for the same version stops: a release tag never moves.
	if _, _, ok := runStep(t, work, step("image", "name"), ctx, vars); ok {
		t.Errorf("a second release of %s passed the name step", version)
	}
}
