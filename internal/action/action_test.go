package action_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sindri-dev/sindri-packer/internal/action"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// inputs is an environment of INPUT_* variables as the runner sets them:
// the name upper-cased, spaces (none here) as underscores, dashes kept.
func inputs(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m["INPUT_"+strings.ToUpper(kv[i])] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// defaults are what the runner passes for the inputs with a default in
// action.yml when the workflow gives none.
var defaults = []string{"command", "build", "config", "sindri.yaml", "clouds", "all", "working-directory", ".", "max-age", "30d"}

// planCases are the command lines each set of inputs makes.
var planCases = []struct {
	name  string
	in    []string
	steps [][]string
	env   []string
}{
	{
		name:  "defaults: build everything configured",
		in:    defaults,
		steps: [][]string{{"build", "--config", "sindri.yaml"}},
	},
	{
		name:  "no inputs at all",
		steps: [][]string{{"build"}},
	},
	{
		name: "build with every build input",
		in: append(slices.Clone(defaults), "clouds", "aws, gcp", "parallel", "2", "rebuild", "true",
			"skip-tests", "TRUE", "dry-run", "True", "timeout", "90m", "sindri-version", "3.0.1",
			"profile", "anthropic-dev", "extensions", "python,\nnode , go", "set", "packer.region=eu-west-1\n\npacker.build.cache=false\n"),
		steps: [][]string{{"build", "--parallel", "2", "--rebuild", "--skip-tests", "--dry-run", "--timeout", "90m",
			"--config", "sindri.yaml", "--clouds", "aws,gcp",
			"--set", "packer.region=eu-west-1", "--set", "packer.build.cache=false",
			"--set", "packer.build.sindri_version=3.0.1", "--set", "packer.build.profile=anthropic-dev",
			"--set", "packer.build.extensions=[python,node,go]"}},
	},
	{
		name:  "build then deploy",
		in:    append(slices.Clone(defaults), "deploy", "true", "clouds", "aws"),
		steps: [][]string{{"build", "--config", "sindri.yaml", "--clouds", "aws"}, {"deploy", "--config", "sindri.yaml", "--clouds", "aws"}},
	},
	{
		name:  "github token goes to the commands' environment",
		in:    append(slices.Clone(defaults), "github-token", "ghs_secret"),
		steps: [][]string{{"build", "--config", "sindri.yaml"}},
		env:   []string{"GITHUB_TOKEN=ghs_secret", "PACKER_GITHUB_API_TOKEN=ghs_secret"},
	},
	{
		name:  "validate",
		in:    append(slices.Clone(defaults), "command", "validate", "parallel", "3"),
		steps: [][]string{{"validate", "--parallel", "3", "--config", "sindri.yaml"}},
	},
	{
		name:  "test",
		in:    append(slices.Clone(defaults), "command", "test", "cloud", "qemu", "image", "images/x/image.qcow2"),
		steps: [][]string{{"test", "--cloud", "qemu", "--image", "images/x/image.qcow2", "--config", "sindri.yaml"}},
	},
	{
		name:  "deploy an image",
		in:    append(slices.Clone(defaults), "command", "deploy", "image", "ami-0123", "rebuild", "false", "skip-tests", "true"),
		steps: [][]string{{"deploy", "--image", "ami-0123", "--skip-tests", "--config", "sindri.yaml"}},
	},
	{
		name:  "image tests reachable only from the runner",
		in:    append(slices.Clone(defaults), "ssh-from", "203.0.113.7/32"),
		steps: [][]string{{"build", "--ssh-from", "203.0.113.7/32", "--config", "sindri.yaml"}},
	},
	{
		name:  "build then deploy with a key",
		in:    append(slices.Clone(defaults), "deploy", "true", "clouds", "aws", "ssh-public-key", "ssh-ed25519 AAAAC3 ci"),
		steps: [][]string{{"build", "--config", "sindri.yaml", "--clouds", "aws"}, {"deploy", "--ssh-public-key", "ssh-ed25519 AAAAC3 ci", "--config", "sindri.yaml", "--clouds", "aws"}},
	},
	{
		name:  "repave",
		in:    append(slices.Clone(defaults), "command", "repave", "keep", "5", "dry-run", "true", "parallel", "2", "timeout", "2h"),
		steps: [][]string{{"repave", "--max-age", "30d", "--keep", "5", "--parallel", "2", "--dry-run", "--timeout", "2h", "--config", "sindri.yaml"}},
	},
	{
		name:  "cleanup",
		in:    append(slices.Clone(defaults), "command", "cleanup", "run-id", "4242-1", "older-than", "6h"),
		steps: [][]string{{"cleanup", "--run-id", "4242-1", "--older-than", "6h", "--config", "sindri.yaml"}},
	},
	{
		name:  "matrix per region",
		in:    append(slices.Clone(defaults), "command", "matrix", "per-region", "true", "clouds", "aws"),
		steps: [][]string{{"matrix", "--per-region", "--config", "sindri.yaml", "--clouds", "aws"}},
	},
	{
		name:  "status",
		in:    append(slices.Clone(defaults), "command", "status", "clouds", "aws"),
		steps: [][]string{{"status", "--config", "sindri.yaml", "--clouds", "aws"}},
	},
	{
		name:  "stop",
		in:    append(slices.Clone(defaults), "command", "stop", "clouds", "gcp"),
		steps: [][]string{{"stop", "--config", "sindri.yaml", "--clouds", "gcp"}},
	},
	{
		name:  "start",
		in:    append(slices.Clone(defaults), "command", "start", "clouds", "gcp"),
		steps: [][]string{{"start", "--config", "sindri.yaml", "--clouds", "gcp"}},
	},
	{
		name:  "destroy never prompts",
		in:    append(slices.Clone(defaults), "command", "destroy", "clouds", "oci"),
		steps: [][]string{{"destroy", "--yes", "--config", "sindri.yaml", "--clouds", "oci"}},
	},
	{
		name:  "doctor",
		in:    append(slices.Clone(defaults), "command", "doctor", "clouds", "aws,azure"),
		steps: [][]string{{"doctor", "--config", "sindri.yaml", "--clouds", "aws,azure"}},
	},
	{
		name:  "images lists by default",
		in:    append(slices.Clone(defaults), "command", "images", "images-action", "list"),
		steps: [][]string{{"images", "list", "--config", "sindri.yaml"}},
	},
	{
		name:  "images with no images-action lists",
		in:    []string{"command", "images"},
		steps: [][]string{{"images", "list"}},
	},
	{
		name:  "images delete never prompts",
		in:    append(slices.Clone(defaults), "command", "images", "images-action", "delete", "clouds", "aws", "image", "ami-1,\nami-2"),
		steps: [][]string{{"images", "delete", "ami-1", "ami-2", "--yes", "--config", "sindri.yaml", "--clouds", "aws"}},
	},
	{
		name:  "images deprecate",
		in:    append(slices.Clone(defaults), "command", "images", "images-action", "deprecate", "clouds", "gcp", "image", "img-1"),
		steps: [][]string{{"images", "deprecate", "img-1", "--config", "sindri.yaml", "--clouds", "gcp"}},
	},
	{
		name:  "debug reaches build",
		in:    append(slices.Clone(defaults), "debug", "true"),
		steps: [][]string{{"build", "--debug", "--config", "sindri.yaml"}},
	},
	{
		name:  "debug reaches deploy",
		in:    append(slices.Clone(defaults), "command", "deploy", "debug", "True"),
		steps: [][]string{{"deploy", "--debug", "--config", "sindri.yaml"}},
	},
	{
		name:  "debug reaches repave",
		in:    append(slices.Clone(defaults), "command", "repave", "debug", "true"),
		steps: [][]string{{"repave", "--max-age", "30d", "--debug", "--config", "sindri.yaml"}},
	},
	{
		name:  "debug false adds nothing",
		in:    append(slices.Clone(defaults), "debug", "false"),
		steps: [][]string{{"build", "--config", "sindri.yaml"}},
	},
	{
		name:  "summarize reads only manifests",
		in:    append(slices.Clone(defaults), "command", "summarize", "manifests", "manifests/"),
		steps: [][]string{{"summarize", "--manifests", "manifests/"}},
	},
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, tt := range planCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := action.FromEnv(inputs(tt.in...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.steps, p.Steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.env, p.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("warnings: %v", p.Warnings)
			}
		})
	}
}

// Every command the Action accepts makes a plan (a command without steps
// would be a nil function in commandSteps).
func TestEveryCommandHasAPlan(t *testing.T) {
	t.Parallel()
	for _, c := range action.Commands {
		in := []string{"command", c, "cloud", "aws", "image", "ami-0123abcd", "manifests", "m"}
		if c == "images" {
			in = in[:2]
		}
		p, err := action.FromEnv(inputs(in...))
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		if len(p.Steps) == 0 || p.Steps[0][0] != c {
			t.Errorf("%s: steps %q", c, p.Steps)
		}
	}
}

func TestPlanSecretsAndDir(t *testing.T) {
	t.Parallel()
	p, err := action.FromEnv(inputs("github-token", "ghs_x", "working-directory", "infra/images", "command", "validate", "pr-comment", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != "infra/images" || !p.Comment || !slices.Equal(p.Secrets, []string{"ghs_x"}) {
		t.Errorf("plan %+v", p)
	}
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    []string
		input string
		msg   string
	}{
		{[]string{"command", "publish"}, "command", `"publish" is not one of validate, build`},
		{[]string{"clouds", "aws,digitalocean"}, "clouds", `unknown cloud "digitalocean"`},
		{[]string{"parallel", "0"}, "parallel", "at least 1"},
		{[]string{"parallel", "two"}, "parallel", `"two" is not a whole number`},
		{[]string{"rebuild", "yes"}, "rebuild", `"yes" is not a boolean`},
		{[]string{"skip-tests", "1"}, "skip-tests", "not a boolean"},
		{[]string{"deploy", "on"}, "deploy", "not a boolean"},
		{[]string{"ssh-from", "everyone"}, "ssh-from", "not a CIDR"},
		{[]string{"timeout", "soon"}, "timeout", "not a duration"},
		{[]string{"timeout", "2d"}, "timeout", "hours or minutes"},
		{[]string{"sindri-version", "3.0"}, "sindri-version", "not latest or a release version"},
		{[]string{"profile", "Full Stack"}, "profile", "not a profile name"},
		{[]string{"extensions", "python,Node"}, "extensions", `"Node" is not an extension name`},
		{[]string{"set", "packer.region"}, "set", "expected one path=value per line"},
		{[]string{"set", "=x"}, "set", "expected one path=value"},
		{[]string{"command", "test", "image", "x.qcow2"}, "cloud", "required by command test"},
		{[]string{"command", "test", "cloud", "qemu"}, "image", "required by command test"},
		{[]string{"command", "test", "cloud", "vmware", "image", "x"}, "cloud", `unknown cloud "vmware"`},
		{[]string{"command", "summarize"}, "manifests", "required by command summarize"},
		{[]string{"command", "repave", "max-age", "a month"}, "max-age", "not a duration"},
		{[]string{"command", "repave", "keep", "-1"}, "keep", "at least 1"},
		{[]string{"command", "cleanup", "older-than", "-5m"}, "older-than", "not a duration"},
		{[]string{"command", "deploy", "dry-run", "true", "timeout", "1d"}, "timeout", "hours or minutes"},
		{[]string{"command", "matrix", "per-region", "maybe"}, "per-region", "not a boolean"},
		{[]string{"command", "validate", "pr-comment", "sure"}, "pr-comment", "not a boolean"},
		{[]string{"command", "images", "images-action", "purge"}, "images-action", `"purge" is not one of list, delete, deprecate`},
		{[]string{"command", "images", "images-action", "delete"}, "image", "required by images-action delete"},
		{[]string{"command", "images", "images-action", "deprecate"}, "image", "required by images-action deprecate"},
		{[]string{"command", "images", "image", "ami-1"}, "image", "give no image"},
		{[]string{"command", "build", "debug", "loud"}, "debug", "not a boolean"},
		{[]string{"command", "restart"}, "command", `"restart" is not one of validate`},
	}
	for _, tt := range tests {
		t.Run(tt.input+" "+strings.Join(tt.in, " "), func(t *testing.T) {
			t.Parallel()
			p, err := action.FromEnv(inputs(tt.in...))
			ie, ok := err.(*action.InputError)
			if !ok {
				t.Fatalf("got plan %+v, error %v; want an input error", p, err)
			}
			if ie.Input != tt.input || !strings.Contains(ie.Message, tt.msg) {
				t.Errorf("error %q, want input %s with %q", ie.Error(), tt.input, tt.msg)
			}
		})
	}
}

func TestIgnoredInputsWarn(t *testing.T) {
	t.Parallel()
	p, err := action.FromEnv(inputs("command", "matrix", "image", "ami-1", "rebuild", "false", "keep", "4", "debug", "true"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.Input+": "+w.Message)
	}
	want := []string{
		"image: ignored: command matrix does not read it (read by: test, deploy, images)",
		"keep: ignored: command matrix does not read it (read by: repave)",
		"debug: ignored: command matrix does not read it (read by: build, deploy, repave)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestFormatsMatchConfig checks that what the action accepts for the
// values it turns into --set overrides is what config accepts for those
// fields, so the action's early check never disagrees with the file's.
func TestFormatsMatchConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "sindri.yaml")
	if err := os.WriteFile(file, []byte("packer:\n  cloud: qemu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{
		"sindri-version": {"latest", "3.0.1", "v3.0.1", "3.0.1-rc.1", "3.0", "3", "LATEST", "3.0.1 ", "x3.0.1"},
		"profile":        {"minimal", "anthropic-dev", "a.b_c", "Minimal", "-x", "a b", "ä"},
		"extensions":     {"python", "node-18", "Py", "_x"},
	}
	for input, vals := range values {
		for _, v := range vals {
			p, err := action.FromEnv(inputs(input, v, "config", file))
			actionOK := err == nil
			var sets []string
			if actionOK {
				for i, a := range p.Steps[0] {
					if a == "--set" {
						sets = append(sets, p.Steps[0][i+1])
					}
				}
			} else {
				// What the action would have passed, to ask config.
				field := map[string]string{"sindri-version": "sindri_version", "profile": "profile", "extensions": "extensions"}[input]
				if input == "extensions" {
					v = "[" + v + "]"
				}
				sets = []string{"packer.build." + field + "=" + v}
			}
			_, cerr := config.Load(file, config.Options{Sets: sets, Getenv: func(string) (string, bool) { return "", false }})
			if configOK := cerr == nil; configOK != actionOK {
				t.Errorf("%s=%q: action accepts %v, config accepts %v (%v / %v)", input, v, actionOK, configOK, err, cerr)
			}
		}
	}
}

func TestContainerPaths(t *testing.T) {
	t.Parallel()
	files := map[string]bool{"/github/workspace/gha-creds-1a2b.json": true, "/already/there.json": true}
	env := map[string]string{
		"GITHUB_WORKSPACE":                       "/github/workspace",
		"GOOGLE_APPLICATION_CREDENTIALS":         "/home/runner/work/images/images/gha-creds-1a2b.json",
		"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": "/already/there.json",
		"GOOGLE_GHA_CREDS_PATH":                  "/home/runner/work/images/images/gha-creds-gone.json",
	}
	got := action.ContainerPaths(func(k string) string { return env[k] }, func(p string) bool { return files[p] })
	want := []string{"GOOGLE_APPLICATION_CREDENTIALS=/github/workspace/gha-creds-1a2b.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := action.ContainerPaths(func(string) string { return "" }, func(string) bool { return false }); got != nil {
		t.Errorf("outside a runner: %v", got)
	}
}
