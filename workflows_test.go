package sindripacker_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// lint runs actionlint, as a library, over files and returns its findings
// as "FILE:LINE:COL: message [kind]".
func lint(t *testing.T, files []string) []string {
	t.Helper()
	opts := &actionlint.LinterOptions{}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc // the run: scripts too, where shellcheck is installed
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, filepath.Base(e.Filepath)+":"+strconv.Itoa(e.Line)+":"+strconv.Itoa(e.Column)+": "+e.Message+" ["+e.Kind+"]")
	}
	return out
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{".github/workflows", "workflows"} {
		for _, pat := range []string{"*.yml", "*.yaml"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			files = append(files, m...)
		}
	}
	slices.Sort(files)
	return files
}

// TestWorkflowsLint: every workflow, this project's and the starters users
// copy, passes actionlint.
func TestWorkflowsLint(t *testing.T) {
	t.Parallel()
	files := workflowFiles(t)
	for _, want := range []string{".github/workflows/build-images.yml", ".github/workflows/repave.yml",
		".github/workflows/validate-templates.yml", ".github/workflows/ci.yml",
		"workflows/sindri-build.yml", "workflows/sindri-repave.yml", "workflows/sindri-validate.yml"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s is missing", want)
		}
	}
	for _, f := range lint(t, files) {
		t.Error(f)
	}
}

// TestWorkflowsLintBroken: the same lint fails on a broken workflow with
// the findings expected beside it.
func TestWorkflowsLintBroken(t *testing.T) {
	t.Parallel()
	got := lint(t, []string{"testdata/workflows/broken.yml"})
	want, err := os.ReadFile("testdata/workflows/broken.want")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("no finding starts with %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// TestStarterWorkflows: each starter workflow has its .properties.json, as
// GitHub's starter workflows do, with an icon that exists.
func TestStarterWorkflows(t *testing.T) {
	t.Parallel()
	starters, _ := filepath.Glob("workflows/*.yml")
	if len(starters) < 3 {
		t.Fatalf("starter workflows %q", starters)
	}
	for _, f := range starters {
		data, err := os.ReadFile(strings.TrimSuffix(f, ".yml") + ".properties.json")
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var p struct {
			Name         string   `json:"name"`
			Description  string   `json:"description"`
			IconName     string   `json:"iconName"`
			Categories   []string `json:"categories"`
			FilePatterns []string `json:"filePatterns"`
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Errorf("%s properties: %v", f, err)
			continue
		}
		if p.Name == "" || p.Description == "" || len(p.Categories) == 0 {
			t.Errorf("%s properties: %+v", f, p)
		}
		if _, err := os.Stat(filepath.Join("workflows", "icons", p.IconName+".svg")); err != nil {
			t.Errorf("%s: icon: %v", f, err)
		}
	}
}

// TestWorkflowsUseTheAction: the reusable workflows call the action with
// inputs action.yml declares (actionlint cannot know a remote action's
// inputs), and the repave can never overlap itself.
func TestWorkflowsUseTheAction(t *testing.T) {
	t.Parallel()
	inputs := actionInputs(t)
	for _, f := range workflowFiles(t) {
		var wf struct {
			Concurrency struct {
				Group            string `yaml:"group"`
				CancelInProgress bool   `yaml:"cancel-in-progress"`
			} `yaml:"concurrency"`
			Jobs map[string]struct {
				Permissions map[string]string `yaml:"permissions"`
				Steps       []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, job := range wf.Jobs {
			for _, st := range job.Steps {
				if !strings.HasPrefix(st.Uses, "sindri-dev/sindri-packer-action@") {
					continue
				}
				for k := range st.With {
					if _, ok := inputs[k]; !ok {
						t.Errorf("%s: job %s: input %q is not in action.yml", f, name, k)
					}
				}
				if st.With["command"] == "build" && job.Permissions["id-token"] != "write" {
					t.Errorf("%s: job %s builds without id-token: write (OIDC)", f, name)
				}
			}
		}
		if filepath.Base(f) == "repave.yml" && (wf.Concurrency.Group != "sindri-repave" || wf.Concurrency.CancelInProgress) {
			t.Errorf("%s: concurrency %+v, want group sindri-repave without cancel-in-progress", f, wf.Concurrency)
		}
	}
}

// TestWorkflowsSessionDuration: the reusable workflows whose jobs log in
// to a cloud by OIDC take role-duration-seconds, and every login step that
// supports a session lifetime (configure-aws-credentials) is given it, so a
// build longer than the default hour can keep its credentials.
func TestWorkflowsSessionDuration(t *testing.T) {
	t.Parallel()
	for _, f := range []string{".github/workflows/build-images.yml", ".github/workflows/repave.yml"} {
		var wf struct {
			On struct {
				WorkflowCall struct {
					Inputs map[string]struct {
						Type    string `yaml:"type"`
						Default any    `yaml:"default"`
					} `yaml:"inputs"`
				} `yaml:"workflow_call"`
			} `yaml:"on"`
			Jobs map[string]struct {
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		in, ok := wf.On.WorkflowCall.Inputs["role-duration-seconds"]
		if !ok || in.Type != "number" || in.Default != 3600 {
			t.Errorf("%s: input role-duration-seconds %+v (present %v), want a number defaulting to 3600", f, in, ok)
		}
		logins := 0
		for name, job := range wf.Jobs {
			for _, st := range job.Steps {
				if !strings.HasPrefix(st.Uses, "aws-actions/configure-aws-credentials@") {
					continue
				}
				logins++
				if got := st.With["role-duration-seconds"]; got != "${{ inputs.role-duration-seconds }}" {
					t.Errorf("%s: job %s: AWS login role-duration-seconds %q, want the input", f, name, got)
				}
			}
		}
		if logins == 0 {
			t.Errorf("%s: no AWS login step", f)
		}
	}
}
