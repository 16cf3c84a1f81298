package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/targetfake"
	"github.com/sindri-dev/sindri-packer/internal/toolstest"
)

// nullTarget is a TEST-ONLY target: packer's built-in null builder with a
// shell-local step, so the pipeline runs real packer builds without any
// cloud. sleep sets how long the build takes; fail makes it fail.
type nullTarget struct {
	cloud.Base
	targetfake.NoInventory
	name  string
	sleep time.Duration
	fail  bool
	// cached, when set, is returned by FindImage for any hash.
	cached *cloud.Image
	// stamps, when set, is a folder the build writes NAME.start and
	// NAME.end (nanoseconds) into.
	stamps string
}

func (n nullTarget) Name() string                                    { return n.name }
func (nullTarget) Plugin() cloud.Plugin                              { return cloud.Plugin{Name: "null", Version: "builtin"} }
func (nullTarget) SourceType() string                                { return "null" }
func (nullTarget) Variables(*config.Config) []cloud.Variable         { return nil }
func (nullTarget) Source(*hclwrite.Body, *config.Config, cloud.Meta) {}
func (nullTarget) SSHUser(*config.Config) string                     { return "" }

func (nullTarget) Regions(*config.Config) (string, []string) { return "", nil }
func (nullTarget) ValidImageID(string) error                 { return nil }

// FindImage is the build cache: cached, when set, for any hash.
func (n nullTarget) FindImage(_ context.Context, _ *config.Config, hash string) (*cloud.Image, error) {
	if n.cached == nil {
		return nil, nil
	}
	img := *n.cached
	img.ConfigHash = hash
	return &img, nil
}

// templater is a test target that renders its own template.
type templater interface {
	Template(c *config.Config, opts render.Options) []byte
}

// renderOwn renders the test targets' own templates.
func renderOwn(t cloud.Target, c *config.Config, o render.Options) []byte {
	return t.(templater).Template(c, o)
}

func (n nullTarget) Template(_ *config.Config, opts render.Options) []byte {
	step := fmt.Sprintf("sleep %.1f", n.sleep.Seconds())
	if n.stamps != "" {
		// Record when the build's own work started and ended.
		f := filepath.Join(n.stamps, n.name)
		step = fmt.Sprintf("date +%%s%%N > %s.start; %s; date +%%s%%N > %s.end", f, step, f)
	}
	if n.fail {
		step = "echo 'Error: simulated failure in " + n.name + "' >&2; exit 7"
	}
	return []byte(fmt.Sprintf(`
variable "config_hash" { type = string }
variable "run_id" { type = string }
variable "manifest_path" { type = string }
source "null" "sindri" { communicator = "none" }
build {
  name    = "sindri"
  sources = ["source.null.sindri"]
  provisioner "shell-local" { inline = [%q] }
  post-processor "manifest" {
    output = var.manifest_path
    custom_data = { image_name = "%s-image", config_hash = var.config_hash, sindri_version = %q }
  }
}
`, step, n.name, opts.SindriVersion))
}

func realPacker(t testing.TB) *packer.Runner {
	t.Helper()
	bin := toolstest.Path(t, "bin", "packer")
	return &packer.Runner{Bin: bin, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CHECKPOINT_DISABLE=1"}, Dir: t.TempDir()}
}

func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse("sindri.yaml", []byte("provider: packer\npacker:\n  cloud: qemu\n"), config.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func options(t testing.TB, targets ...cloud.Target) Options {
	o := Options{
		Config:        testConfig(t),
		Targets:       map[string]cloud.Target{},
		Render:        renderOwn,
		Packer:        realPacker(t),
		RunID:         "test-run",
		SindriVersion: "3.0.1",
		PackerVersion: "1.9.4",
		WorkDir:       t.TempDir(),
		Grace:         5 * time.Second,
	}
	for _, tg := range targets {
		o.Clouds = append(o.Clouds, tg.Name())
		o.Targets[tg.Name()] = tg
	}
	return o
}

// TestParallelFanOutKeepsEveryResult: three real packer builds at once,
// one failing; the others' results survive, with the failure's own text.
func TestParallelFanOutKeepsEveryResult(t *testing.T) {
	stamps := t.TempDir()
	o := options(t,
		nullTarget{name: "a", sleep: 2 * time.Second, stamps: stamps},
		nullTarget{name: "b", fail: true},
		nullTarget{name: "c", sleep: 2 * time.Second, stamps: stamps},
	)
	var log report.Buffer
	o.Log = &log
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "c"} {
		r := m.Clouds[name]
		if r.Status != StatusBuilt || r.ImageID != "Null" || r.ImageName != name+"-image" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	b := m.Clouds["b"]
	if b.Status != StatusFailed || !strings.Contains(b.Error, "exited 1") {
		t.Errorf("b: %+v", b)
	}
	if !strings.Contains(strings.Join(b.PackerErrors, "\n")+b.Error, "simulated failure in b") {
		t.Errorf("b's error must carry packer's own error lines: %+v", b)
	}
	if got := m.Failed(); len(got) != 1 || got[0] != "b" {
		t.Errorf("Failed() = %v", got)
	}
	// In parallel: each build started before the other one ended.
	stamp := func(name string) int64 {
		b, err := os.ReadFile(filepath.Join(stamps, name))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if stamp("a.start") >= stamp("c.end") || stamp("c.start") >= stamp("a.end") {
		t.Errorf("builds a and c did not overlap: they ran one after the other")
	}
	for _, want := range []string{"[a] ", "[b] ", "[c] "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks lines prefixed %q:\n%s", want, log.String())
		}
	}
	if m.ConfigHash == "" || m.Clouds["a"].ConfigHash == m.Clouds["c"].ConfigHash {
		t.Errorf("hashes: run %q a %q c %q", m.ConfigHash, m.Clouds["a"].ConfigHash, m.Clouds["c"].ConfigHash)
	}
}

// TestCancellationLeavesNothing interrupts running builds: they end as
// cancelled quickly, and no packer process or build folder remains.
func TestCancellationLeavesNothing(t *testing.T) {
	o := options(t, nullTarget{name: "a", sleep: 60 * time.Second}, nullTarget{name: "b", sleep: 60 * time.Second})
	o.Parallel = 1 // b waits for a slot and must be cancelled before it starts
	var log report.Buffer
	o.Log = &log
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(3 * time.Second); cancel() }()
	start := time.Now()
	m, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	for _, name := range []string{"a", "b"} {
		if r := m.Clouds[name]; r.Status != StatusCancelled {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// packer itself got the interrupt and ran its own cleanup.
	if !strings.Contains(log.String(), "[a] Cleanly cancelled builds after being interrupted") {
		t.Errorf("packer did not report its own clean cancellation:\n%s", log.String())
	}
	if procs := processesMentioning(t, o.WorkDir); len(procs) > 0 {
		t.Errorf("processes left behind: %v", procs)
	}
	entries, _ := os.ReadDir(o.WorkDir)
	for _, e := range entries {
		if e.Name() != "render" {
			t.Errorf("build folder left behind: %s", e.Name())
		}
	}
}

func TestTimeoutFailsTheBuild(t *testing.T) {
	o := options(t, nullTarget{name: "a", sleep: 60 * time.Second})
	o.Timeout = 2 * time.Second
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["a"]; r.Status != StatusFailed || !strings.Contains(r.Error, "timed out") {
		t.Fatalf("%+v", r)
	}
}

func TestCacheHitSkipsTheBuild(t *testing.T) {
	img := &cloud.Image{ID: "img-123", Name: "cached-image"}
	o := options(t, nullTarget{name: "a", fail: true, cached: img})
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["a"]; r.Status != StatusCached || r.ImageID != "img-123" {
		t.Fatalf("want cached img-123, got %+v", r)
	}
	// --rebuild ignores the cache (and so runs the failing build).
	o.Rebuild = true
	m, _ = Run(t.Context(), o)
	if r := m.Clouds["a"]; r.Status != StatusFailed {
		t.Fatalf("--rebuild must build, got %+v", r)
	}
	// build.cache: false too.
	o.Rebuild = false
	o.Config.Packer.Build.Cache = false
	m, _ = Run(t.Context(), o)
	if r := m.Clouds["a"]; r.Status != StatusFailed {
		t.Fatalf("cache: false must build, got %+v", r)
	}
}

func TestDryRunAndExistingImage(t *testing.T) {
	o := options(t, nullTarget{name: "a", fail: true}, nullTarget{name: "qemu", fail: true})
	o.Config.Packer.Clouds.QEMU.ImageID = "/images/given.qcow2"
	o.DryRun = true
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["a"]; r.Status != StatusPlanned {
		t.Errorf("a: %+v", r)
	}
	if r := m.Clouds["qemu"]; r.Status != StatusExisting || r.ImageID != "/images/given.qcow2" {
		t.Errorf("qemu: %+v", r)
	}
}

// processesMentioning lists live processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

type recordGroups struct{ events []string }

func (r *recordGroups) Start(title string) { r.events = append(r.events, "start "+title) }
func (r *recordGroups) End()               { r.events = append(r.events, "end") }

// TestGroupedLogs: inside Actions each cloud's lines come out in one piece
// inside its own group, with heartbeats outside while it runs.
func TestGroupedLogs(t *testing.T) {
	o := options(t, nullTarget{name: "a", sleep: 1500 * time.Millisecond}, nullTarget{name: "b", sleep: 100 * time.Millisecond})
	var log report.Buffer
	groups := &recordGroups{}
	o.Log, o.Grouped, o.Group, o.Heartbeat = &log, true, groups, 300*time.Millisecond
	if _, err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if len(groups.events) != 4 || groups.events[1] != "end" || groups.events[3] != "end" {
		t.Fatalf("groups: %v", groups.events)
	}
	out := log.String()
	if !strings.Contains(out, "[a] still running after") {
		t.Errorf("no heartbeat for the slow build:\n%s", out)
	}
	// b finished first: all of b's lines precede all of a's build lines.
	lastB := strings.LastIndex(out, "[b] ")
	firstA := strings.Index(out, "[a] building")
	if lastB < 0 || firstA < 0 || lastB > firstA {
		t.Errorf("cloud logs are interleaved:\n%s", out)
	}
}

// varFileTarget's Prepare writes a Packer variable file (as the azure
// target does with credentials); its build writes the variable to out.
type varFileTarget struct {
	nullTarget
	out string
}

func (v varFileTarget) Template(_ *config.Config, opts render.Options) []byte {
	return []byte(fmt.Sprintf(`
variable "config_hash" { type = string }
variable "run_id" { type = string }
variable "manifest_path" { type = string }
variable "secret_word" {
  type      = string
  sensitive = true
}
source "null" "sindri" { communicator = "none" }
build {
  name    = "sindri"
  sources = ["source.null.sindri"]
  provisioner "shell-local" { inline = ["printf %%s '${var.secret_word}' > %s"] }
  post-processor "manifest" {
    output      = var.manifest_path
    custom_data = { image_name = "v-image", config_hash = var.config_hash, sindri_version = %q }
  }
}
`, v.out, opts.SindriVersion))
}

func (v varFileTarget) Prepare(_ context.Context, run *cloud.BuildRun) (map[string]string, func(), error) {
	p := filepath.Join(run.WorkDir, "creds.pkrvars.hcl")
	if err := os.WriteFile(p, []byte("secret_word = \"from-the-var-file\"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	run.VarFiles = append(run.VarFiles, p)
	return nil, nil, nil
}

// TestPreparerVarFilesReachPacker: a var file a target prepares is passed
// to packer (credentials never go onto its command line).
func TestPreparerVarFilesReachPacker(t *testing.T) {
	out := filepath.Join(t.TempDir(), "word")
	o := options(t, varFileTarget{nullTarget: nullTarget{name: "v"}, out: out})
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["v"]; r.Status != StatusBuilt {
		t.Fatalf("build: %+v", r)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "from-the-var-file" {
		t.Fatalf("the build saw %q (%v), want the var file's value", b, err)
	}
}

// TestStepsInOrder: a build is these steps, in this order; a promotion
// before the test, or a cache lookup after packer, would be a bug.
func TestStepsInOrder(t *testing.T) {
	var names []string
	for _, s := range steps {
		names = append(names, s.String())
	}
	want := []string{"configured image", "cache lookup", "work folder", "prepare", "packer build",
		"manifest and artifact", "image test", "discard or keep a failed image", "promote"}
	if !slices.Equal(names, want) {
		t.Errorf("steps %q, want %q", names, want)
	}
}
