// Package validate checks everything a pull request can break without
// building: the rendered templates (HCL parse, packer fmt -check, packer
// validate), the provisioning scripts (shellcheck) and the workflows
// (actionlint). It needs no cloud credentials and never touches the
// network: values packer validate would fetch are replaced for it (see
// offline), and packer runs in an empty network namespace where one can be
// made (see isolateNetwork).
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/rhysd/actionlint"
	"golang.org/x/sync/errgroup"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// Finding is one problem, with where it is.
type Finding struct {
	File    string
	Line    int
	Col     int
	Tool    string // hcl, packer-fmt, packer-validate, shellcheck, actionlint, sindri-packer
	Message string
	// Level is "" for a problem, LevelNotice for something the user
	// should know that is not a problem.
	Level string `json:",omitempty"`
}

// LevelNotice marks a finding that is information, not a problem.
const LevelNotice = "notice"

// IsNotice reports whether the finding is information, not a problem.
func (f Finding) IsNotice() bool { return f.Level == LevelNotice }

func (f Finding) String() string {
	pos := f.File
	if f.Line > 0 {
		pos += fmt.Sprintf(":%d:%d", f.Line, max(f.Col, 1))
	}
	if f.IsNotice() {
		return fmt.Sprintf("%s: notice: %s [%s]", pos, f.Message, f.Tool)
	}
	return fmt.Sprintf("%s: %s [%s]", pos, f.Message, f.Tool)
}

// Options say what to check and with which tools.
type Options struct {
	Config *config.Config
	Clouds []string
	// Targets are the selected clouds' targets: their placeholders make
	// the offline environment packer validate runs in.
	Targets    []cloud.Target
	SyntaxOnly bool
	// OutDir keeps the rendered files there; a temporary folder otherwise.
	OutDir string
	// Packer and Shellcheck are the executables to run.
	Packer     string
	Shellcheck string
	// HostEnv is the caller's environment; only PATH and
	// PACKER_PLUGIN_PATH pass through to packer.
	HostEnv []string
	// WorkflowDirs are folders whose *.yml/*.yaml are linted by actionlint.
	WorkflowDirs []string
	// Parallel bounds concurrent packer runs (0: one per cloud).
	Parallel int
	// CacheDir keeps results of content-only checks (packer fmt,
	// shellcheck) between runs; "" disables it.
	CacheDir string
}

// Run renders and checks. Findings are problems in the input (and notices,
// see Finding.IsNotice); an error means a tool could not run at all.
func Run(ctx context.Context, o Options) ([]Finding, error) {
	c := &check{o: o, out: o.OutDir, display: o.OutDir}
	if c.out == "" {
		tmp, err := os.MkdirTemp("", "sindri-validate-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		c.out, c.display = tmp, "rendered"
	}
	if err := c.render(); err != nil {
		return nil, err
	}
	env, vars, cleanup, err := isolatedEnv(o.HostEnv, o.Targets)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	c.env, c.vars = env, vars
	c.run = &packer.Runner{Bin: o.Packer, Env: env, Dir: filepath.Dir(o.Config.File), Wrap: isolateNetwork(ctx, hostPath(o.HostEnv))}
	c.scrub = scrubber(c.absOut, c.display, envValue(env, "HOME"))

	g, gctx := errgroup.WithContext(ctx)
	limit := o.Parallel
	if limit <= 0 {
		limit = len(o.Clouds) + 2
	}
	g.SetLimit(limit)
	for _, cloud := range o.Clouds {
		g.Go(func() error { return c.packerValidate(gctx, cloud) })
	}
	cache := newResultCache(o.CacheDir)
	g.Go(func() error { return c.packerFmt(gctx, cache) })
	g.Go(func() error { return c.shellcheck(gctx, cache) })
	g.Go(func() error { return c.userShellcheck(gctx) })
	g.Go(func() error {
		fs, err := lintWorkflows(o.WorkflowDirs, hostPath(o.HostEnv))
		c.add(fs...)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(c.findings, func(a, b Finding) int {
		return strings.Compare(fmt.Sprintf("%s\x00%09d\x00%09d\x00%s", a.File, a.Line, a.Col, a.Message),
			fmt.Sprintf("%s\x00%09d\x00%09d\x00%s", b.File, b.Line, b.Col, b.Message))
	})
	return c.findings, nil
}

// check is one validate run: the rendered files, where they are and how
// they are shown, the isolated environment, and the findings so far.
type check struct {
	o            Options
	out, display string // the rendered folder, and its name in findings
	absOut       string
	files        []render.File
	templates    map[string][]byte // cloud → its template
	env          []string
	vars         map[string]map[string]string
	run          *packer.Runner
	scrub        func(string) string

	mu       sync.Mutex
	findings []Finding
}

func (c *check) add(fs ...Finding) {
	c.mu.Lock()
	c.findings = append(c.findings, fs...)
	c.mu.Unlock()
}

// rel names a file below the rendered folder by its display name.
func (c *check) rel(p string) string {
	if r, err := filepath.Rel(c.absOut, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.Join(c.display, r)
	}
	return p
}

// render writes the templates and scripts and parses the templates. It
// never builds, so it renders the version as configured ("latest"
// included) instead of resolving it over the network, and nothing packer
// validate would download.
func (c *check) render() error {
	cfg, notices := offline(c.o.Config)
	c.add(notices...)
	files, err := render.Render(cfg, c.o.Clouds, render.Options{SindriVersion: c.o.Config.Packer.Build.SindriVersion})
	if err != nil {
		return err
	}
	if err := render.Write(c.out, files); err != nil {
		return err
	}
	if c.absOut, err = filepath.Abs(c.out); err != nil {
		return err
	}
	c.files, c.templates = files, map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".hcl") {
			c.add(parseHCL(filepath.Join(c.display, f.Path), f.Data)...)
		}
		if filepath.Base(f.Path) == render.TemplateName {
			c.templates[filepath.Dir(f.Path)] = f.Data
		}
	}
	return nil
}

// packerValidate runs packer validate on one cloud's template; its
// diagnostics become findings placed on sindri.yaml where they can be.
func (c *check) packerValidate(ctx context.Context, cloud string) error {
	dir := filepath.Join(c.absOut, cloud)
	res, err := c.run.Validate(ctx, dir, c.o.SyntaxOnly, c.vars[cloud])
	if err != nil {
		return err
	}
	if res.ExitCode == 0 {
		return nil
	}
	// Packer prints its diagnostics on stdout; stderr is its debug log
	// (see isolatedEnv), never part of a finding.
	diags := packer.ParseDiagnostics(res.Stdout)
	if len(diags) == 0 {
		return fmt.Errorf("packer validate %s: exit %d: %s", cloud, res.ExitCode,
			c.scrub(strings.TrimSpace(res.Stdout+"\n"+lastLines(packer.WithoutLog(res.Stderr), 20))))
	}
	place := placer{cfg: c.o.Config, scrub: c.scrub}
	own := filepath.Join(dir, render.TemplateName)
	for _, d := range diags {
		file, tpl := filepath.Join(c.display, cloud, render.TemplateName), c.templates[cloud]
		if d.File != "" {
			if p := absPath(dir, d.File); p != own {
				file, tpl = c.rel(p), nil
			}
		}
		c.add(place.findings(cloud, file, tpl, d)...)
	}
	return nil
}

// packerFmt runs packer fmt -check over the templates (cached by content).
func (c *check) packerFmt(ctx context.Context, cache resultCache) error {
	isHCL := func(p string) bool { return strings.HasSuffix(p, ".hcl") }
	fs, err := cache.do(cache.key(c.o.Packer, c.files, isHCL), func() ([]Finding, error) {
		need, err := c.run.FmtCheck(ctx, c.absOut)
		var fs []Finding
		for _, f := range need {
			r, _ := filepath.Rel(c.absOut, absPath(c.absOut, f))
			fs = append(fs, Finding{File: r, Tool: "packer-fmt", Message: "not formatted as packer fmt writes it"})
		}
		return fs, err
	})
	for i := range fs {
		fs[i].File = filepath.Join(c.display, fs[i].File)
	}
	c.add(fs...)
	return err
}

// shellcheck lints the provisioning scripts (cached by content).
func (c *check) shellcheck(ctx context.Context, cache resultCache) error {
	isScript := func(p string) bool { return strings.HasSuffix(p, ".sh") }
	fs, err := cache.do(cache.key(c.o.Shellcheck, c.files, isScript), func() ([]Finding, error) {
		return shellcheck(ctx, c.o.Shellcheck, filepath.Join(c.absOut, "scripts"), c.env)
	})
	for i := range fs {
		fs[i].File = filepath.Join(c.display, "scripts", fs[i].File)
	}
	c.add(fs...)
	return err
}

// userShellcheck lints the config's build.scripts that end in .sh, at
// severity warning (style notes on the user's own scripts are theirs to
// take); findings name the script as sindri.yaml does.
func (c *check) userShellcheck(ctx context.Context) error {
	var scripts []string
	for _, s := range c.o.Config.Packer.Build.Scripts {
		if strings.HasSuffix(s, ".sh") {
			scripts = append(scripts, s)
		}
	}
	if len(scripts) == 0 {
		return nil
	}
	fs, err := runShellcheck(ctx, c.o.Shellcheck, filepath.Dir(c.o.Config.File), scripts, "warning", c.env)
	c.add(fs...)
	return err
}

func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func parseHCL(name string, data []byte) []Finding {
	_, diags := hclparse.NewParser().ParseHCL(data, name)
	var out []Finding
	for _, d := range diags {
		f := Finding{File: name, Tool: "hcl", Message: d.Summary}
		if d.Detail != "" {
			f.Message += ": " + d.Detail
		}
		if d.Subject != nil {
			f.Line, f.Col = d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, f)
	}
	return out
}

// shellcheck runs shellcheck's json1 format over every script in dir, in
// env (never the process's environment); findings name the script
// relative to dir.
func shellcheck(ctx context.Context, bin, dir string, env []string) ([]Finding, error) {
	scripts, err := filepath.Glob(filepath.Join(dir, "*.sh"))
	if err != nil || len(scripts) == 0 {
		return nil, err
	}
	fs, err := runShellcheck(ctx, bin, dir, scripts, "style", env)
	for i := range fs {
		fs[i].File = filepath.Base(fs[i].File)
	}
	return fs, err
}

// runShellcheck runs shellcheck in dir over scripts at severity level;
// findings name each script as it was given.
func runShellcheck(ctx context.Context, bin, dir string, scripts []string, level string, env []string) ([]Finding, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"-f", "json1", "-x", "-S", level, "--"}, scripts...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("shellcheck: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	var report struct {
		Comments []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Column  int    `json:"column"`
			Level   string `json:"level"`
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"comments"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		return nil, fmt.Errorf("shellcheck: reading its json1 output: %w", err)
	}
	var fs []Finding
	for _, c := range report.Comments {
		fs = append(fs, Finding{File: c.File, Line: c.Line, Col: c.Column, Tool: "shellcheck",
			Message: fmt.Sprintf("SC%d (%s): %s", c.Code, c.Level, c.Message)})
	}
	return fs, nil
}

// lintWorkflows runs actionlint, as a library, over the workflow folders;
// the shellcheck it runs on run: scripts is found on path (the caller's
// PATH, not the process's).
func lintWorkflows(dirs []string, path string) ([]Finding, error) {
	var paths []string
	for _, d := range dirs {
		for _, pat := range []string{"*.yml", "*.yaml"} {
			m, err := filepath.Glob(filepath.Join(d, pat))
			if err != nil {
				return nil, err
			}
			paths = append(paths, m...)
		}
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return !usesSindri(p) })
	if len(paths) == 0 {
		return nil, nil
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	opts := &actionlint.LinterOptions{}
	if sc := lookPath("shellcheck", path); sc != "" {
		opts.Shellcheck = sc
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	errs, err := l.LintFiles(paths, nil)
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	var fs []Finding
	for _, e := range errs {
		f := Finding{File: e.Filepath, Line: e.Line, Col: e.Column, Tool: "actionlint", Message: fmt.Sprintf("%s [%s]", e.Message, e.Kind)}
		if m := shellcheckLevel.FindStringSubmatch(e.Message); m != nil && (m[1] == "info" || m[1] == "style") {
			// shellcheck's info and style levels are advice, not problems.
			f.Level = LevelNotice
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// shellcheckLevel is the level in actionlint's report of a shellcheck
// finding in a run: script.
var shellcheckLevel = regexp.MustCompile(`^shellcheck reported issue in this script: SC[0-9]+:([a-z]+):`)

// sindriUses matches a step or job that uses this Action or one of its
// reusable workflows (uses: owner/sindri-packer@v1, …/sindri-packer/.github/workflows/x.yml@v1).
var sindriUses = regexp.MustCompile(`(?m)^[ \t-]*uses:[ \t]*['"]?[^'"#\s]*sindri-packer`)

// usesSindri reports whether the workflow file uses this Action or its
// reusable workflows: the Sindri PR check lints only those, so a finding in
// an unrelated workflow of the repository does not fail it.
func usesSindri(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && sindriUses.Match(data)
}

// hostPath is the PATH of an environment list.
func hostPath(env []string) string { return envValue(env, "PATH") }

// envValue returns the last value of key in an environment list.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v = val
		}
	}
	return v
}

// scrubber returns a function that removes this run's temporary paths from
// a message: the rendered folder becomes its display name, the isolated
// HOME "$HOME", any other temporary path "<temp>".
func scrubber(absOut, display, home string) func(string) string {
	tmp := regexp.MustCompile(regexp.QuoteMeta(strings.TrimSuffix(os.TempDir(), "/")) + `/[^\s"':,]+`)
	return func(s string) string {
		s = strings.ReplaceAll(s, absOut, display)
		if home != "" {
			s = strings.ReplaceAll(s, home, "$HOME")
		}
		return tmp.ReplaceAllString(s, "<temp>")
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
