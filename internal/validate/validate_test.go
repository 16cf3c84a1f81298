package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/internal/toolstest"
)

// tools finds the real packer (with the pinned plugins) and shellcheck.
// Where they are missing the test is skipped, except in CI, which installs
// them with tools/install.sh and must run these tests.
func tools(t *testing.T) (packerBin, shellcheck string, env []string) {
	t.Helper()
	packerBin = toolstest.Path(t, "bin", "packer")
	sc := toolstest.LookPath(t, "shellcheck")
	plugins := filepath.Join(toolstest.Dir(), "packer-plugins")
	return packerBin, sc, []string{"PATH=" + os.Getenv("PATH"), "PACKER_PLUGIN_PATH=" + plugins}
}

func loadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, config.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRealPackerValidatesEveryCloud runs the real packer validate, offline
// and without credentials, on a rich configuration of every target.
func TestRealPackerValidatesEveryCloud(t *testing.T) {
	packerBin, sc, env := tools(t)
	cfg := loadConfig(t, filepath.Join("testdata", "all-clouds.yaml"))
	findings, err := Run(t.Context(), Options{Targets: targets.Builders(), Config: cfg, Clouds: cfg.Selected(), Packer: packerBin, Shellcheck: sc, HostEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Selected()) != len(config.Clouds) {
		t.Fatalf("the fixture must configure every cloud, has %v", cfg.Selected())
	}
	for _, f := range findings {
		t.Errorf("unexpected finding: %s", f)
	}
}

// TestRealPackerFindsProblems proves the findings path: a template packer
// rejects, reported with its position, and a script shellcheck flags.
func TestRealPackerFindsProblems(t *testing.T) {
	packerBin, sc, env := tools(t)
	cfg := loadConfig(t, filepath.Join("testdata", "all-clouds.yaml"))
	// Set past the loader (which would refuse it) so that Packer's own
	// builder checks are what reject it.
	cfg.Packer.Build.SSHTimeout = "forever"
	out := t.TempDir()
	findings, err := Run(t.Context(), Options{Targets: targets.Builders(), Config: cfg, Clouds: []string{"aws", "qemu"}, OutDir: out, Packer: packerBin, Shellcheck: sc, HostEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	var aws, qemu bool
	for _, f := range findings {
		if f.Tool != "packer-validate" {
			t.Errorf("unexpected finding from %s: %s", f.Tool, f)
			continue
		}
		if !strings.Contains(f.Message, "ssh_timeout") && !strings.Contains(f.Message, "forever") {
			t.Errorf("finding does not name the problem: %s", f)
		}
		// Placed on sindri.yaml's build block (ssh_timeout itself is not
		// written there), naming the rendered template it came from.
		if f.File != cfg.File || !strings.HasPrefix(f.Message, "packer.build.ssh_timeout: ") {
			t.Errorf("finding not placed on the ssh_timeout field: %s", f)
		}
		aws = aws || strings.Contains(f.Message, filepath.Join(out, "aws", render.TemplateName))
		qemu = qemu || strings.Contains(f.Message, filepath.Join(out, "qemu", render.TemplateName))
	}
	if !aws || !qemu {
		t.Fatalf("want a finding for each cloud, got %v", findings)
	}
	if _, err := os.Stat(filepath.Join(out, "aws", "sindri.pkr.hcl")); err != nil {
		t.Errorf("--out must keep the rendered files: %v", err)
	}
}

func TestShellcheckFindings(t *testing.T) {
	_, sc, _ := tools(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.sh"), []byte("#!/bin/bash\necho $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fs, err := shellcheck(t.Context(), sc, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Line != 2 || fs[0].Col != 6 || !strings.Contains(fs[0].Message, "SC2086") {
		t.Fatalf("want SC2086 at 2:6, got %v", fs)
	}
}

func TestActionlintFindings(t *testing.T) {
	dir := t.TempDir()
	wf := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt.x }}\n      - uses: sindri-dev/sindri-packer@v1\n"
	if err := os.WriteFile(filepath.Join(dir, "ci.yml"), []byte(wf), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := lintWorkflows([]string{dir}, os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 || fs[0].Line != 6 || !strings.Contains(fs[0].Message, "evnt") {
		t.Fatalf("want a finding about github.evnt on line 6, got %v", fs)
	}
}

func TestParseHCLFinding(t *testing.T) {
	fs := parseHCL("x.pkr.hcl", []byte("source \"a\" {\n  x = \n}\n"))
	if len(fs) == 0 || fs[0].Line != 2 {
		t.Fatalf("want a syntax finding on line 2, got %v", fs)
	}
}

func TestIsolatedEnvHasNoHostSecrets(t *testing.T) {
	env, vars, cleanup, err := isolatedEnv([]string{"PATH=/bin", "AWS_SECRET_ACCESS_KEY=real", "HOME=/root", "PACKER_PLUGIN_PATH=/p"}, targets.Builders())
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	joined := strings.Join(env, "\n")
	for _, bad := range []string{"AWS_SECRET_ACCESS_KEY", "HOME=/root"} {
		if strings.Contains(joined, bad) {
			t.Errorf("isolated environment leaks %s", bad)
		}
	}
	for _, want := range []string{"PATH=/bin", "PACKER_PLUGIN_PATH=/p", "ALICLOUD_ACCESS_KEY="} {
		if !strings.Contains(joined, want) {
			t.Errorf("isolated environment lacks %s", want)
		}
	}
	cfgFile := vars["oci"]["oci_access_cfg_file"]
	data, err := os.ReadFile(cfgFile)
	if err != nil || !strings.Contains(string(data), "validateonly") {
		t.Fatalf("fake OCI config missing: %v %s", err, data)
	}
}

func TestResultCache(t *testing.T) {
	c := newResultCache(t.TempDir())
	files := []render.File{{Path: "scripts/a.sh", Data: []byte("echo a")}, {Path: "aws/x.hcl", Data: []byte("x")}}
	isScript := func(p string) bool { return strings.HasSuffix(p, ".sh") }
	calls := 0
	run := func() ([]Finding, error) {
		calls++
		return []Finding{{File: "a.sh", Line: 1, Col: 2, Tool: "shellcheck", Message: "m"}}, nil
	}
	key := c.key("/bin/true", files, isScript)
	for i := 0; i < 2; i++ {
		fs, err := c.do(key, run)
		if err != nil || len(fs) != 1 || fs[0].Message != "m" || fs[0].Line != 1 {
			t.Fatalf("run %d: %v %v", i, fs, err)
		}
	}
	if calls != 1 {
		t.Fatalf("second run must come from the cache, ran %d times", calls)
	}
	// Changing a checked file changes the key; changing an unchecked one does not.
	other := []render.File{{Path: "scripts/a.sh", Data: []byte("echo b")}, {Path: "aws/x.hcl", Data: []byte("x")}}
	if c.key("/bin/true", other, isScript) == key {
		t.Error("key ignores script content")
	}
	hcl := []render.File{{Path: "scripts/a.sh", Data: []byte("echo a")}, {Path: "aws/x.hcl", Data: []byte("y")}}
	if c.key("/bin/true", hcl, isScript) != key {
		t.Error("key depends on files the tool does not check")
	}
	// Failures are not cached; a disabled cache always runs.
	if _, err := c.do("k2", func() ([]Finding, error) { return nil, os.ErrNotExist }); err == nil {
		t.Error("error lost")
	}
	off := newResultCache("")
	calls = 0
	off.do(key, run)
	off.do(key, run)
	if calls != 2 {
		t.Errorf("disabled cache must run every time, ran %d", calls)
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("%q", got)
	}
	if got := lastLines("a", 5); got != "a" {
		t.Errorf("%q", got)
	}
}

// The Sindri check lints only workflows that use this Action or its
// reusable workflows, and shellcheck's info advice there is a notice.
func TestActionlintScopedToSindriWorkflows(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not on PATH")
	}
	dir := t.TempDir()
	unrelated := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt.x }}\n"
	info := "on: pull_request\njobs:\n  a:\n    uses: acme/sindri-packer/.github/workflows/validate-templates.yml@v1\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $HOME\n"
	for name, wf := range map[string]string{"other.yml": unrelated, "sindri.yaml": info} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := lintWorkflows([]string{dir}, os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || filepath.Base(fs[0].File) != "sindri.yaml" || !strings.Contains(fs[0].Message, "SC2086:info") || !fs[0].IsNotice() {
		t.Fatalf("want one notice (SC2086 info) in sindri.yaml only, got %+v", fs)
	}
}
