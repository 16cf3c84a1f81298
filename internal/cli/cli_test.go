package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targetfake"
	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/tools"
)

// result is one in-process run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// argsCase is one command line of a table test and the texts the output
// must hold (in stdout or stderr: each test says which).
type argsCase struct {
	name string
	args []string
	want []string
}

// run runs `sindri-packer args...` in-process with environ as its whole
// environment.
func run(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	return runTargets(t, nil, environ, args...)
}

// runTargets is run with Command.Targets set (nil: package targets).
func runTargets(t *testing.T, targets func(string) (cloud.Target, error), environ []string, args ...string) result {
	t.Helper()
	return runFull(t, t.Context(), targets, "", environ, args...)
}

// runFull is the one in-process run every helper uses: its context,
// targets (nil: package targets), standard input and environment.
func runFull(t *testing.T, ctx context.Context, targets func(string) (cloud.Target, error), stdin string, environ []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Environ: append(slices.Clone(testEnv), environ...),
		Context: ctx,
		Targets: targets,
	}
	code := c.Main(append([]string{"sindri-packer"}, args...))
	return result{code, out.String(), errb.String()}
}

// packerOnly serves each target with only its Packer side and settings:
// no image inventory, no instances, nothing to sweep.
func packerOnly(name string) (cloud.Target, error) {
	t, err := targets.Builder(name)
	if err != nil {
		return nil, err
	}
	return packerSide{t: t}, nil
}

// packerSide is a TEST DOUBLE: a real target's Packer side and settings;
// every operation on images, instances and leftovers is not supported
// (and there is no build cache).
type packerSide struct {
	cloud.Base
	targetfake.NoInventory
	t cloud.Target
}

func (p packerSide) Name() string                                { return p.t.Name() }
func (p packerSide) Plugin() cloud.Plugin                        { return p.t.Plugin() }
func (p packerSide) SourceType() string                          { return p.t.SourceType() }
func (p packerSide) Variables(c *config.Config) []cloud.Variable { return p.t.Variables(c) }
func (p packerSide) SSHUser(c *config.Config) string             { return p.t.SSHUser(c) }
func (p packerSide) ValidImageID(id string) error                { return p.t.ValidImageID(id) }

func (p packerSide) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	p.t.Source(body, c, m)
}

func (p packerSide) Regions(c *config.Config) (string, []string) { return p.t.Regions(c) }

func (packerSide) FindImage(context.Context, *config.Config, string) (*cloud.Image, error) {
	return nil, nil
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// check fails the test unless the run exited with code and each stream
// contains the given substrings.
func (r result) check(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\n%s", r.code, code, r)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout does not contain %q\n%s", s, r)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not contain %q\n%s", s, r)
		}
	}
}

// writeConfig writes the `init` template of cloud into a fresh folder,
// changed by the old→new replacements, and returns its path.
func writeConfig(t *testing.T, cloud string, replace ...string) string {
	t.Helper()
	data, err := config.Template(cloud)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(text, replace[i]) {
			t.Fatalf("the %s template has no %q to replace", cloud, replace[i])
		}
		text = strings.Replace(text, replace[i], replace[i+1], 1)
	}
	return configFile(t, text)
}

// configFile writes data as sindri.yaml into a fresh folder and returns
// its path.
func configFile(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sindri.yaml")
	mustWrite(t, path, data, 0o644)
	return path
}

// initConfig writes the documented sindri.yaml of cloud with `init` into a
// fresh folder and returns its path.
func initConfig(t *testing.T, cloud string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sindri.yaml")
	run(t, nil, "init", "--cloud", cloud, "-o", path).check(t, ExitOK, nil, nil)
	return path
}

// cloudEnv is what the init templates reference as ${VAR}, with values that
// pass validation.
var cloudEnv = []string{
	"AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-000000000000",
	"GCP_PROJECT_ID=sindri-test-123",
	"OCI_COMPARTMENT_OCID=ocid1.compartment.oc1..aaaatest",
	"OCI_SUBNET_OCID=ocid1.subnet.oc1..aaaatest",
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []argsCase{ // want: in stdout
		{name: "root --help", args: []string{"--help"}, want: []string{"Usage:", "sindri-packer [command]", "Exit codes: 0 success", "init", "render", "validate", "schema", "--config", "--clouds", "--set"}},
		{name: "root -h", args: []string{"-h"}, want: []string{"Usage:", "Exit codes"}},
		{name: "no arguments", args: nil, want: []string{"Usage:", "Available Commands:"}},
		{name: "help command", args: []string{"help", "render"}, want: []string{"sindri-packer render [--out DIR]", "SINDRI_LATEST_VERSION"}},
		{name: "init", args: []string{"init", "--help"}, want: []string{"sindri-packer init --cloud CLOUD [-o FILE] [--force]", strings.Join(config.Clouds, ", "), "--force", "--output"}},
		{name: "render", args: []string{"render", "--help"}, want: []string{"sindri-packer render [--out DIR]", "GITHUB_API_URL", "--out", "--config"}},
		{name: "validate", args: []string{"validate", "--help"}, want: []string{"sindri-packer validate [--syntax-only] [--out DIR]", "tools/install.sh", "--syntax-only", "--parallel", "--no-cache"}},
		{name: "schema", args: []string{"schema", "--help"}, want: []string{"sindri-packer schema", "yaml-language-server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, nil, tt.args...)
			r.check(t, ExitOK, tt.want, nil)
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "--version")
	want := fmt.Sprintf("sindri-packer %s (packer %s)\n", Version(), tools.PackerVersion())
	if r.code != ExitOK || r.stdout != want {
		t.Errorf("got %s\nwant stdout %q", r, want)
	}
	// Main runs with a background context when none is given.
	var out bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &out}
	if code := c.Main([]string{"sindri-packer", "--version"}); code != ExitOK || out.String() != want {
		t.Errorf("without a Context: exit %d, %q", code, out.String())
	}
	if Version() != "dev" {
		t.Errorf("Version() = %q in a test binary, want dev", Version())
	}
}

// Not parallel: it sets the link-time variable.
func TestVersionLinkTime(t *testing.T) {
	old := version
	version = "1.2.3"
	t.Cleanup(func() { version = old })
	if got := Version(); got != "1.2.3" {
		t.Errorf("Version() = %q, want the -X value 1.2.3", got)
	}
	r := run(t, nil, "--version")
	if !strings.HasPrefix(r.stdout, "sindri-packer 1.2.3 (packer ") {
		t.Errorf("--version printed %q", r.stdout)
	}
}

func TestBadInvocation(t *testing.T) {
	t.Parallel()
	tests := []argsCase{ // want: in stderr
		{name: "unknown command", args: []string{"bogus"}, want: []string{`unknown command "bogus"`, "sindri-packer --help"}},
		{name: "unknown root flag", args: []string{"--bogus"}, want: []string{"unknown flag: --bogus", "(see 'sindri-packer --help')"}},
		{name: "unknown subcommand flag", args: []string{"render", "--bogus"}, want: []string{"render: unknown flag: --bogus", "(see 'sindri-packer render --help')"}},
		{name: "flag without value", args: []string{"init", "--cloud"}, want: []string{"flag needs an argument", "sindri-packer init --help"}},
		{name: "bad integer", args: []string{"validate", "--parallel", "many"}, want: []string{"invalid argument", "--parallel"}},
		{name: "stray argument", args: []string{"init", "--cloud", "qemu", "extra"}, want: []string{`unknown command "extra"`}},
		{name: "stray argument to schema", args: []string{"schema", "extra"}, want: []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, nil, tt.args...)
			r.check(t, ExitBadInput, nil, tt.want)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestInit(t *testing.T) {
	t.Parallel()
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			t.Parallel()
			want, err := config.Template(cloud)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), cloud+".yaml")
			mustRead := func() string {
				t.Helper()
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}

			r := run(t, nil, "init", "--cloud", cloud, "-o", path)
			r.check(t, ExitOK, []string{fmt.Sprintf("wrote %s for cloud %s", path, cloud)}, nil)
			if got := mustRead(); got != string(want) {
				t.Errorf("wrote %d bytes that differ from the %s template", len(got), cloud)
			}

			// The written file is a valid configuration for that cloud.
			r = run(t, cloudEnv, "render", "-c", path, "--out", filepath.Join(t.TempDir(), "out"), "--set", "packer.build.sindri_version=3.0.1")
			r.check(t, ExitOK, []string{filepath.Join(cloud, "sindri.pkr.hcl")}, nil)

			// An existing file is kept...
			const mine = "# my own settings\n"
			if err := os.WriteFile(path, []byte(mine), 0o644); err != nil {
				t.Fatal(err)
			}
			r = run(t, nil, "init", "--cloud", cloud, "--output", path)
			r.check(t, ExitBadInput, nil, []string{path + " already exists", "--force"})
			if got := mustRead(); got != mine {
				t.Errorf("refused init changed the file to %q", got)
			}

			// ...unless --force.
			r = run(t, nil, "init", "--cloud", cloud, "-o", path, "--force")
			r.check(t, ExitOK, []string{"wrote " + path}, nil)
			if got := mustRead(); got != string(want) {
				t.Errorf("init --force did not overwrite the file with the template")
			}
		})
	}
}

// Not parallel: it changes the working folder.
func TestInitDefaultOutput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := run(t, nil, "init", "--cloud", "qemu")
	r.check(t, ExitOK, []string{"wrote sindri.yaml for cloud qemu"}, nil)
	if _, err := os.Stat(filepath.Join(dir, "sindri.yaml")); err != nil {
		t.Errorf("init without -o: %v", err)
	}
}

func TestInitBadInput(t *testing.T) {
	t.Parallel()
	tests := []argsCase{ // want: in stderr
		{name: "missing --cloud", args: nil, want: []string{"--cloud is required", "qemu"}},
		{name: "unknown --cloud", args: []string{"--cloud", "mars"}, want: []string{`unknown cloud "mars"`, strings.Join(config.Clouds, ", ")}},
		{name: "empty --cloud", args: []string{"--cloud", ""}, want: []string{"--cloud is required"}},
		{name: "folder missing", args: []string{"--cloud", "qemu", "-o", filepath.Join("no", "such", "folder", "sindri.yaml")}, want: []string{"no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"init", "-o", filepath.Join(dir, "sindri.yaml")}
			for i, a := range tt.args {
				if i > 0 && tt.args[i-1] == "-o" {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			r := run(t, nil, args...)
			r.check(t, ExitBadInput, nil, tt.want)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("bad init left %d files behind", len(entries))
			}
		})
	}
}

func TestSchema(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "schema")
	r.check(t, ExitOK, nil, nil)
	var schema struct {
		Schema     string                     `json:"$schema"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &schema); err != nil {
		t.Fatalf("schema is not JSON: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(schema.Schema, "json-schema.org") {
		t.Errorf("$schema = %q", schema.Schema)
	}
	for _, k := range []string{"name", "provider", "packer"} {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("schema has no property %q", k)
		}
	}
	if r.stdout != string(config.Schema()) {
		t.Error("schema output differs from config.Schema()")
	}
}

func TestLookTool(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	mustWrite(t, filepath.Join(dir, "plain"), "not executable", 0o644)
	mustWrite(t, exe, "#!/bin/sh\n", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	later := t.TempDir()
	mustWrite(t, filepath.Join(later, "plain"), "#!/bin/sh\n", 0o755)
	tests := []struct {
		name, tool, path, want string
	}{
		{name: "found", tool: "exe", path: dir, want: exe},
		{name: "empty entries skipped", tool: "exe", path: "::" + dir + ":", want: exe},
		{name: "not executable skipped", tool: "plain", path: dir + ":" + later, want: filepath.Join(later, "plain")},
		{name: "folder is not a tool", tool: "folder", path: dir},
		{name: "missing", tool: "nope", path: dir},
		{name: "empty PATH", tool: "exe", path: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Command{Environ: []string{"PATH=/elsewhere", "PATH=" + tt.path}}
			got, err := c.lookTool(tt.tool, "the hint")
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.tool+" not found on PATH: the hint") {
					t.Errorf("lookTool = %q, %v; want a not-found error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("lookTool = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func mustWrite(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	// Parallel tests start programs while others write theirs: a fork
	// between this open and close would keep the file open for writing in
	// the child, and running it would fail with "text file busy". Holding
	// the fork lock (read side) keeps forks out of that window.
	syscall.ForkLock.RLock()
	err := os.WriteFile(path, []byte(data), mode)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
}
