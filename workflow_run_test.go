package sindripacker_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// This file runs the parts of the workflows that a test can run without a
// runner: the shell of their run: steps, with the runner's file commands
// and the few expressions they use, to see what environment the Action's
// steps would get.

// wfStep is one step of a workflow job.
type wfStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

type wfJob struct {
	Env   map[string]string `yaml:"env"`
	Steps []wfStep          `yaml:"steps"`
}

type wfInput struct {
	Type    string `yaml:"type"`
	Default any    `yaml:"default"`
}

type workflow struct {
	On struct {
		WorkflowCall struct {
			Inputs  map[string]wfInput `yaml:"inputs"`
			Secrets map[string]struct {
				Required bool `yaml:"required"`
			} `yaml:"secrets"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Jobs map[string]wfJob `yaml:"jobs"`
}

func readWorkflow(t *testing.T, file string) workflow {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return wf
}

// exprRE is one ${{ ... }} expression.
var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// contextRef is the one expression form evaluated here: a value of a
// context, e.g. inputs.gcp-project-id, secrets.OCI_CLI_USER or
// needs.image.outputs.digest (context needs, name image.outputs.digest).
var contextRef = regexp.MustCompile(`^([a-z]+)\.([A-Za-z0-9_.-]+)$`)

// evalExpr replaces every ${{ context.name }} in s with its value in ctx
// (a name a context lacks is empty, as on GitHub); any other expression
// is an error, so nothing is evaluated by guess.
func evalExpr(s string, ctx map[string]map[string]string) (string, error) {
	var bad error
	out := exprRE.ReplaceAllStringFunc(s, func(e string) string {
		m := contextRef.FindStringSubmatch(exprRE.FindStringSubmatch(e)[1])
		if m == nil {
			bad = fmt.Errorf("expression %s is not evaluated by this test", e)
			return ""
		}
		vals, ok := ctx[m[1]]
		if !ok {
			bad = fmt.Errorf("expression %s: context %s is not evaluated by this test", e, m[1])
			return ""
		}
		return vals[m[2]]
	})
	return out, bad
}

// callContext is the inputs context of a workflow_call with given set over
// the declared defaults, and the secrets context.
func callContext(wf workflow, inputs, secrets map[string]string) map[string]map[string]string {
	in := map[string]string{}
	for name, decl := range wf.On.WorkflowCall.Inputs {
		if decl.Default != nil {
			in[name] = fmt.Sprint(decl.Default)
		}
	}
	for k, v := range inputs {
		in[k] = v
	}
	sec := map[string]string{}
	for k, v := range secrets {
		sec[k] = v
	}
	return map[string]map[string]string{"inputs": in, "secrets": sec}
}

// actionStep is one step that runs this Action, with the environment the
// runner would give its container for the variables asked about.
type actionStep struct {
	job, command string
	env          map[string]string // only the names asked for; absent = unset
}

// runJob plays a job's steps in order as far as they shape the
// environment of the names asked for: run: steps execute (bash, as
// `shell: bash` runs them) and what they write to GITHUB_ENV reaches the
// later steps; the Action's steps see the job's env, then GITHUB_ENV,
// then their own env. A failing run: step stops the job (its error).
func runJob(t *testing.T, name string, job wfJob, ctx map[string]map[string]string, names []string) ([]actionStep, error) {
	t.Helper()
	exported := map[string]string{}
	var out []actionStep
	for i, st := range job.Steps {
		where := fmt.Sprintf("job %s step %d (%s)", name, i+1, st.Name+st.ID)
		switch {
		case st.Run != "":
			if st.If != "" {
				return nil, fmt.Errorf("%s: a run step with if: is not evaluated by this test", where)
			}
			if st.Shell != "bash" {
				return nil, fmt.Errorf("%s: shell %q, want bash (the script uses bash)", where, st.Shell)
			}
			env := []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range st.Env {
				val, err := evalExpr(v, ctx)
				if err != nil {
					return nil, fmt.Errorf("%s: env %s: %w", where, k, err)
				}
				env = append(env, k+"="+val)
			}
			envFile := filepath.Join(t.TempDir(), "set_env")
			if err := os.WriteFile(envFile, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			env = append(env, "GITHUB_ENV="+envFile)
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.Run)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%s: %v: %s", where, err, out)
			}
			data, err := os.ReadFile(envFile)
			if err != nil {
				t.Fatal(err)
			}
			set, err := parseEnvFile(string(data))
			if err != nil {
				return nil, fmt.Errorf("%s: GITHUB_ENV: %w", where, err)
			}
			for k, v := range set {
				exported[k] = v
			}
		case strings.HasPrefix(st.Uses, "sindri-dev/sindri-packer-action@"):
			seen := map[string]string{}
			for _, layer := range []map[string]string{job.Env, exported, st.Env} {
				for _, n := range names {
					v, ok := layer[n]
					if !ok {
						continue
					}
					val, err := evalExpr(v, ctx)
					if err != nil {
						return nil, fmt.Errorf("%s: env %s: %w", where, n, err)
					}
					seen[n] = val
				}
			}
			out = append(out, actionStep{job: name, command: st.With["command"], env: seen})
		}
	}
	return out, nil
}

// parseEnvFile reads GITHUB_ENV as the runner does: name=value lines and
// name<<DELIMITER blocks.
func parseEnvFile(text string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			continue
		}
		eq, hd := strings.Index(l, "="), strings.Index(l, "<<")
		switch {
		case eq > 0 && (hd < 0 || eq < hd):
			out[l[:eq]] = l[eq+1:]
		case hd > 0:
			var lines []string
			closed := false
			for sc.Scan() {
				if sc.Text() == l[hd+2:] {
					closed = true
					break
				}
				lines = append(lines, sc.Text())
			}
			if !closed {
				return nil, fmt.Errorf("no closing delimiter for %q", l)
			}
			out[l[:hd]] = strings.Join(lines, "\n")
		default:
			return nil, fmt.Errorf("invalid line %q", l)
		}
	}
	return out, sc.Err()
}

// initTemplateVars are the variables the sindri.yaml of every `init
// --cloud` reads without a default (${NAME}; ${NAME:-x} has its own), read
// from the templates themselves.
func initTemplateVars(t *testing.T) []string {
	t.Helper()
	ref := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)
	var vars []string
	for _, c := range config.Clouds {
		data, err := config.Template(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(strings.ReplaceAll(string(data), "$$", ""), -1) {
			if m[2] == "" && !slices.Contains(vars, m[1]) {
				vars = append(vars, m[1])
			}
		}
	}
	sort.Strings(vars)
	if len(vars) == 0 {
		t.Fatal("no ${VAR} in any init template: this test would check nothing")
	}
	return vars
}

// inputName is the workflow input that carries variable v: GCP_PROJECT_ID
// is gcp-project-id.
func inputName(v string) string { return strings.ToLower(strings.ReplaceAll(v, "_", "-")) }

// reusableWorkflows are the workflows users call whose jobs read
// sindri.yaml.
var reusableWorkflows = []string{".github/workflows/validate-templates.yml", ".github/workflows/build-images.yml", ".github/workflows/repave.yml"}

// TestWorkflowsPassConfigValues: every ${VAR} an init template reads can
// be supplied through each reusable workflow (a caller's env does not
// reach a called workflow): an input named after it (a secret of the same
// name when the name says it is secret), which reaches every step of the
// Action that reads sindri.yaml (matrix, validate, build, repave, cleanup);
// left empty, the variable stays unset, so validate and matrix still use
// their placeholders (set to nothing, the config would fail with
// "expanded to nothing"); a value with a line break fails the job rather
// than writing a second variable.
func TestWorkflowsPassConfigValues(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	vars := initTemplateVars(t)
	for _, file := range reusableWorkflows {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			wf := readWorkflow(t, file)
			given, givenSecrets := map[string]string{}, map[string]string{}
			for _, v := range vars {
				if config.SecretName(v) {
					if _, ok := wf.On.WorkflowCall.Secrets[v]; !ok {
						t.Errorf("no secret %s for ${%s} (a caller's env does not reach a called workflow)", v, v)
					}
					givenSecrets[v] = "value-of-" + v
					continue
				}
				in, ok := wf.On.WorkflowCall.Inputs[inputName(v)]
				if !ok || in.Type != "string" {
					t.Errorf("no string input %s for ${%s} (a caller's env does not reach a called workflow): %+v", inputName(v), v, in)
				}
				given[inputName(v)] = "value-of-" + v
			}
			jobs := make([]string, 0, len(wf.Jobs))
			for name := range wf.Jobs {
				jobs = append(jobs, name)
			}
			sort.Strings(jobs)
			steps := 0
			for _, name := range jobs {
				with, err := runJob(t, name, wf.Jobs[name], callContext(wf, given, givenSecrets), vars)
				if err != nil {
					t.Errorf("values given: %v", err)
					continue
				}
				without, err := runJob(t, name, wf.Jobs[name], callContext(wf, nil, nil), vars)
				if err != nil {
					t.Errorf("no values given: %v", err)
					continue
				}
				reads := 0
				for i, st := range with {
					if st.command == "summarize" {
						continue // reads the manifests, not sindri.yaml
					}
					reads++
					for _, v := range vars {
						if got := st.env[v]; got != "value-of-"+v {
							t.Errorf("job %s, step %s: ${%s} is %q, want the value given to the workflow", name, st.command, v, got)
						}
						if got, ok := without[i].env[v]; ok {
							t.Errorf("job %s, step %s: with no value given, %s is set to %q; want it unset (set to nothing, validate's placeholder is not used)", name, st.command, v, got)
						}
					}
				}
				// A line break would write a second variable to GITHUB_ENV.
				for _, v := range vars {
					if config.SecretName(v) {
						continue
					}
					bad := callContext(wf, map[string]string{inputName(v): "x\nLD_PRELOAD=/tmp/evil.so"}, nil)
					seen, err := runJob(t, name, wf.Jobs[name], bad, []string{"LD_PRELOAD"})
					if reads > 0 && err == nil {
						t.Errorf("job %s: input %s with a line break: the job went on (steps %+v)", name, inputName(v), seen)
					}
				}
				steps += reads
			}
			if steps == 0 {
				t.Errorf("no step of the Action that reads sindri.yaml found")
			}
		})
	}
}
