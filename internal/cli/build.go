package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sindri-dev/sindri-packer/inspec"
	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// buildFlags are build's own options.
type buildFlags struct {
	parallel int
	rebuild  bool
	dryRun   bool
	onError  string
	manifest string
	vars     []string
	varFiles []string
	timeout  time.Duration
	grace    time.Duration
	runID    string
	debug    bool
	region   string
	tests    testFlags
	skipTest bool
	keepFail bool
	json     bool // build --json only: the manifest on stdout, text on stderr
}

// check rejects a --ssh-from that is not a CIDR.
func (t *testFlags) check() error {
	if t.sshFrom == "" {
		return nil
	}
	if _, _, err := net.ParseCIDR(t.sshFrom); err != nil {
		return badInput("--ssh-from: want a CIDR like 203.0.113.7/32, got %q", t.sshFrom)
	}
	return nil
}

// testFlags are shared by build's test stage and the test command.
type testFlags struct {
	requireInSpec bool
	bootTimeout   time.Duration
	sshFrom       string
}

func (t *testFlags) register(fl interface {
	BoolVar(*bool, string, bool, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	StringVar(*string, string, string, string)
}) {
	fl.BoolVar(&t.requireInSpec, "require-inspec", false, "fail when neither inspec nor cinc-auditor is installed (default: run only the built-in checks then)")
	fl.DurationVar(&t.bootTimeout, "boot-timeout", 15*time.Minute, "how long a test instance may take to accept SSH")
	fl.StringVar(&t.sshFrom, "ssh-from", "", "CIDR the instance's port 22 is opened to on clouds that need a firewall rule, e.g. the runner's 203.0.113.7/32 (default 0.0.0.0/0: only the one-off key gets in)")
}

func (c *Command) buildCmd(g *global) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [--clouds LIST] [--parallel N] [--rebuild] [--dry-run] [--manifest FILE]",
		Short: "Build the images: cache lookup, parallel Packer builds, unified manifest",
		Long: `build renders every selected cloud's template, computes its config hash
(sha256 over the template, the provisioning scripts, the bytes of every file
the build uploads or runs, and the resolved Sindri, Packer and plugin versions) and looks for an image carrying that hash. Found
(and no --rebuild, and build.cache is true): the cloud is reported as cached.
Otherwise packer builds it; up to --parallel builds run at once, and one
cloud failing never stops another.

Results go to the unified manifest (--manifest, written even when builds fail
or the run is interrupted), a table on the terminal, and inside GitHub Actions
to step outputs (images, image-regions, <cloud>-image-id, manifest,
config-hash), the job summary and error annotations.

Every built image is then tested before it counts (unless --skip-tests): a
temporary instance boots from it with a one-off SSH key, built-in checks run
over SSH (sindri --version, sshd's effective settings), then the InSpec
profile (inspec or cinc-auditor, when installed); the instance is always
destroyed. A failed test fails the cloud and the image is not promoted.

Ctrl-C (SIGINT) or SIGTERM interrupts every running packer once so it cleans
up its temporary resources, waits up to --grace, destroys test instances,
records those clouds as cancelled and exits 1.

With --json, stdout holds only the manifest (the same JSON object as the
--manifest file) once the builds ran, failed ones included; the table and
everything else go to stderr. On exit code 2 or 3 stdout holds no JSON.

Exit codes: 0 all built or cached, 1 a build failed or was cancelled, 2 bad
input, 3 a tool failed (packer missing, "latest" not resolvable).`,
		Example: "  sindri-packer build --clouds qemu\n  sindri-packer build --clouds aws,gcp --parallel 2\n  sindri-packer build --clouds aws --set packer.region=eu-west-1 --set packer.instance_type=m6i.large\n  sindri-packer build --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.runBuild(cmd.Context(), g, f)
			return err
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&f.json, "json", false, "print the manifest as JSON on stdout (text goes to stderr)")
	return cmd
}

// register adds build's flags; deploy builds with the same ones.
func (f *buildFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.parallel, "parallel", 0, "concurrent builds (default: every selected cloud at once)")
	fl.BoolVar(&f.rebuild, "rebuild", false, "build even when an image with the same config hash exists")
	fl.BoolVar(&f.dryRun, "dry-run", false, "render, hash and look up the cache, but build nothing")
	fl.StringVar(&f.onError, "on-error", "cleanup", "when a build fails: cleanup (delete its temporary resources) or abort (keep them to debug)")
	fl.StringVar(&f.manifest, "manifest", "sindri-manifest.json", "where to write the unified manifest")
	fl.StringArrayVar(&f.vars, "var", nil, "pass a Packer variable, k=v (repeatable); a variable standing for a sindri.yaml field (sindri_version, region, instance_type...) is refused: use --set for it")
	fl.StringArrayVar(&f.varFiles, "var-file", nil, "pass a Packer variable file (repeatable)")
	fl.DurationVar(&f.timeout, "timeout", 0, "limit each build, e.g. 90m (default: none)")
	fl.DurationVar(&f.grace, "grace", 2*time.Minute, "how long an interrupted packer may take to clean up")
	fl.StringVar(&f.runID, "run-id", "", "identifier of this run in tags and the manifest (default: GitHub run id, or time + random)")
	fl.BoolVar(&f.debug, "debug", false, "write Packer's own log to stderr, secrets masked (also on when PACKER_LOG is set, or RUNNER_DEBUG=1: a job re-run with debug logging)")
	fl.BoolVar(&f.skipTest, "skip-tests", false, "do not test the built images on a temporary instance")
	fl.BoolVar(&f.keepFail, "keep-failed-images", false, "keep an image that failed its test (never as the cached image)")
	f.tests.register(fl)
	fl.StringVar(&f.region, "region", "", "build the one selected cloud in this region only, without copies (a matrix --per-region job)")
}

// runBuild builds and reports; the manifest is nil when nothing ran.
func (c *Command) runBuild(ctx context.Context, g *global, f *buildFlags) (*pipeline.Manifest, error) {
	if err := checkOutputPath("--manifest", f.manifest); err != nil {
		return nil, err
	}
	p, err := c.planBuild(ctx, g, f)
	if err != nil {
		return nil, err
	}
	defer p.close()
	m, err := pipeline.Run(ctx, p.opts)
	if err != nil {
		return nil, toolFailure(err)
	}
	if !f.json {
		return m, c.report(p.rep, m, f.manifest, ctx.Err() != nil)
	}
	err = c.reportTo(c.Stderr, p.rep, m, f.manifest, ctx.Err() != nil)
	if err == nil || err == errFindings {
		if jerr := writeJSON(c.Stdout, m); jerr != nil {
			return m, toolFailure(jerr)
		}
	}
	return m, err
}

// buildPlan is a checked build, ready for pipeline.Run; close removes its
// work folder.
type buildPlan struct {
	opts  pipeline.Options
	rep   *gha.Reporter
	close func()
}

// planBuild checks build's flags and configuration and sets up everything
// a pipeline run needs; nothing has been built yet.
func (c *Command) planBuild(ctx context.Context, g *global, f *buildFlags) (*buildPlan, error) {
	vars, varFiles, err := c.checkBuildFlags(f)
	if err != nil {
		return nil, err
	}
	cfg, clouds, err := c.loadBuild(g, f, vars)
	if err != nil {
		return nil, err
	}
	text := c.Stdout
	if f.json {
		text = c.Stderr
	}
	rep := gha.New(c.getenv, text)
	c.maskSecrets(rep, vars)
	runner, packerVersion, err := c.buildRunner(ctx, cfg, rep, f.debug)
	if err != nil {
		return nil, err
	}
	sindriVersion, err := c.sindriVersion(ctx, cfg)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "sindri-build-")
	if err != nil {
		return nil, toolFailure(err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(work)
		}
	}()

	builders := map[string]cloud.Target{}
	for _, name := range clouds {
		b, err := c.target(name)
		if err != nil {
			return nil, badInput("build: %v", err)
		}
		builders[name] = b
	}
	runID := f.runID
	if runID == "" {
		runID = c.defaultRunID()
	}
	var stage *pipeline.TestStage
	if !f.skipTest {
		if stage, err = c.testStage(work, &f.tests); err != nil {
			return nil, err
		}
		stage.KeepFailed = f.keepFail
	}
	ok = true
	return &buildPlan{rep: rep, close: func() { os.RemoveAll(work) }, opts: pipeline.Options{
		Test:          stage,
		Config:        cfg,
		Clouds:        clouds,
		Targets:       builders,
		Packer:        runner,
		RunID:         runID,
		SindriVersion: sindriVersion,
		PackerVersion: packerVersion,
		Parallel:      f.parallel,
		Rebuild:       f.rebuild,
		DryRun:        f.dryRun,
		OnError:       f.onError,
		Timeout:       f.timeout,
		Grace:         f.grace,
		Vars:          vars,
		VarFiles:      varFiles,
		WorkDir:       work,
		Log:           c.Stderr,
		Grouped:       rep.Enabled(),
		// The group markers go where the grouped lines go: across two
		// pipes the runner may see them out of order.
		Group: gha.New(c.getenv, c.Stderr),
	}}, nil
}

// loadBuild loads the configuration a build uses: --region pinned, the
// --var names checked, and the fields launching needs when the images
// will be tested.
func (c *Command) loadBuild(g *global, f *buildFlags, vars map[string]string) (*config.Config, []string, error) {
	cfg, clouds, err := c.load(g)
	if err != nil {
		return nil, nil, err
	}
	if f.region != "" {
		if cfg, clouds, err = c.pinRegion(g, cfg, clouds, f.region); err != nil {
			return nil, nil, err
		}
	}
	if err := checkVarFields(cfg, clouds, vars); err != nil {
		return nil, nil, err
	}
	if !f.skipTest && !f.dryRun {
		if err := launchNeeds(cfg, clouds); err != nil {
			return nil, nil, err
		}
	}
	return cfg, clouds, nil
}

// checkBuildFlags checks build's own flags and returns the Packer
// variables and variable files (resolved from the working folder).
func (c *Command) checkBuildFlags(f *buildFlags) (map[string]string, []string, error) {
	if f.onError != "cleanup" && f.onError != "abort" {
		return nil, nil, badInput("build: --on-error must be cleanup or abort, got %q", f.onError)
	}
	if f.parallel < 0 {
		return nil, nil, badInput("build: --parallel must be at least 1, got %d", f.parallel)
	}
	if err := f.tests.check(); err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	for _, kv := range f.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, badInput("build: --var %q: expected name=value", kv)
		}
		vars[k] = v
	}
	varFiles := make([]string, len(f.varFiles))
	for i, vf := range f.varFiles {
		varFiles[i] = c.path(vf)
		if err := config.CheckRegular(varFiles[i]); err != nil {
			return nil, nil, badInput("build: --var-file: %v", err)
		}
	}
	return vars, varFiles, nil
}

// buildRunner finds packer and sets up how builds run it: the command's
// environment, the config's folder, and packer's own log (redacted) when
// debugging. It returns packer's version too.
func (c *Command) buildRunner(ctx context.Context, cfg *config.Config, rep *gha.Reporter, debugFlag bool) (*packer.Runner, string, error) {
	packerBin, err := c.lookTool("packer", toolsHint)
	if err != nil {
		return nil, "", err
	}
	debug := c.packerDebug(debugFlag)
	runner := &packer.Runner{Bin: packerBin, Env: c.buildEnv(debug), Dir: filepath.Dir(cfg.File)}
	if debug {
		// Through the redactor that maskSecrets fed (Stderr's own when
		// Main wrapped it).
		runner.Log = rep.Redactor().Wrap(c.Stderr)
	}
	packerVersion, err := c.packerVersion(ctx, runner)
	if err != nil {
		return nil, "", toolFailure(err)
	}
	return runner, packerVersion, nil
}

// annotateTest writes an error annotation per failed check and control.
func annotateTest(rep *gha.Reporter, cloud string, t *verify.Report) {
	if t == nil {
		return
	}
	for _, ch := range t.Checks {
		if !ch.Passed {
			rep.Error(gha.Annotation{Title: "image test " + cloud + ": " + ch.Name, Message: ch.Message})
		}
	}
	if t.InSpec != nil {
		for _, ctl := range t.InSpec.Controls {
			if ctl.Status == "failed" {
				rep.Error(gha.Annotation{Title: "image test " + cloud + ": " + ctl.ID + " " + ctl.Title, Message: ctl.Message})
			}
		}
	}
}

// testStage finds InSpec and writes the profile for a build's tests.
func (c *Command) testStage(work string, t *testFlags) (*pipeline.TestStage, error) {
	bin, _ := verify.FindInSpec(c.getenv("PATH"))
	if bin == "" && t.requireInSpec {
		return nil, toolFailure(fmt.Errorf("--require-inspec: neither inspec nor cinc-auditor is on PATH (install cinc-auditor from https://cinc.sh, or InSpec)"))
	}
	dir := filepath.Join(work, "inspec-profile")
	for name, data := range inspec.Files() {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, toolFailure(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, toolFailure(err)
		}
	}
	return &pipeline.TestStage{InSpec: bin, RequireInSpec: t.requireInSpec, ProfileDir: dir, Env: c.Environ, BootTimeout: t.bootTimeout, AllowSSHFrom: t.sshFrom}, nil
}

// pinRegion reloads the configuration with the one selected cloud built
// in region and nothing copied elsewhere, through --set overrides, so the
// result is checked like the file.
func (c *Command) pinRegion(g *global, cfg *config.Config, clouds []string, region string) (*config.Config, []string, error) {
	if len(clouds) != 1 {
		return nil, nil, badInput("build: --region needs exactly one cloud in --clouds, got %s", strings.Join(clouds, ","))
	}
	name := clouds[0]
	t, err := c.target(name)
	if err != nil {
		return nil, nil, badInput("build: %v", err)
	}
	sets, err := t.PinRegion(cfg, region)
	if !cloud.Supported(err) {
		return nil, nil, badInput("build: --region: %s has no region", name)
	}
	if err != nil {
		return nil, nil, badInput("build: --region: %v", err)
	}
	pinned := *g
	pinned.sets = append(slices.Clone(g.sets), sets...)
	return c.load(&pinned)
}

// report writes the manifest, the table, outputs, summary and annotations,
// and turns failures into exit code 1.
func (c *Command) report(rep *gha.Reporter, m *pipeline.Manifest, manifestPath string, interrupted bool) error {
	return c.reportTo(c.Stdout, rep, m, manifestPath, interrupted)
}

// reportTo is report with the table written to text (stderr for --json).
func (c *Command) reportTo(text io.Writer, rep *gha.Reporter, m *pipeline.Manifest, manifestPath string, interrupted bool) error {
	if err := checkOutputPath("--manifest", manifestPath); err != nil {
		return err
	}
	// Every image ID has its cloud's form before anything is written: a
	// result with one that does not is failed (imageid.go).
	if err := m.CheckImageIDs(c.validImageID); err != nil {
		fmt.Fprintf(c.Stderr, "error: %v\n", err)
	}
	if err := m.Write(c.path(manifestPath)); err != nil {
		return toolFailure(err)
	}
	table := m.Table()
	for _, name := range m.Names() {
		if t := m.Clouds[name].Test; t != nil {
			table += "\n" + t.Markdown(name)
		}
	}
	fmt.Fprint(text, "\n"+table)
	// Sorted: the outputs file is the same bytes for the same results.
	outputs := m.Outputs(manifestPath)
	outputs["test-result"] = testResult(m)
	if err := report.SetOutputs(rep.SetOutput, outputs); err != nil {
		return toolFailure(err)
	}
	if err := rep.AddSummary(table); err != nil {
		return toolFailure(err)
	}
	for _, name := range m.Names() {
		annotateTest(rep, name, m.Clouds[name].Test)
	}
	for _, name := range m.Failed() {
		r := m.Clouds[name]
		msg := r.Error
		if len(r.PackerErrors) > 0 {
			msg += "\n" + strings.Join(r.PackerErrors, "\n")
		}
		rep.Error(gha.Annotation{Title: "sindri-packer build " + name + " " + string(r.Status), Message: msg})
	}
	if failed := m.Failed(); len(failed) > 0 {
		what := "failed"
		if interrupted {
			what = "interrupted"
		}
		fmt.Fprintf(c.Stderr, "build %s: %s (manifest: %s)\n", what, strings.Join(failed, ", "), manifestPath)
		return errFindings
	}
	return nil
}

// packerDebug reports whether builds show packer's own log: --debug, a
// PACKER_LOG that packer itself would honour (set, not "0"), or a job
// re-run with debug logging (RUNNER_DEBUG=1).
func (c *Command) packerDebug(flag bool) bool {
	l := c.getenv("PACKER_LOG")
	return flag || (l != "" && l != "0") || c.getenv("RUNNER_DEBUG") == "1"
}

// buildEnv is packer's environment for builds: the caller's, so each
// cloud's standard credential chain works, with the update check off.
// Packer logs exactly when debug is set, and then to stderr (the caller's
// PACKER_LOG_PATH is dropped: a log file would escape the redaction),
// which Build hands to Runner.Log.
func (c *Command) buildEnv(debug bool) []string {
	env := slices.DeleteFunc(slices.Clone(c.Environ), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "PACKER_LOG" || k == "PACKER_LOG_PATH"
	})
	env = append(env, "CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1")
	if debug {
		env = append(env, "PACKER_LOG=1")
	} else {
		env = append(env, "PACKER_LOG=")
	}
	return env
}

func (c *Command) maskSecrets(rep *gha.Reporter, vars map[string]string) {
	for _, k := range secretEnv {
		rep.Mask(c.getenv(k))
	}
	for k, v := range vars {
		l := strings.ToLower(k)
		if strings.Contains(l, "secret") || strings.Contains(l, "password") || strings.Contains(l, "token") || strings.Contains(l, "key") {
			rep.Mask(v)
		}
	}
}

// defaultRunID identifies a run: the GitHub run (id-attempt) inside
// Actions, otherwise the time and a random suffix.
func (c *Command) defaultRunID() string {
	if id := c.getenv("GITHUB_RUN_ID"); id != "" {
		if a := c.getenv("GITHUB_RUN_ATTEMPT"); a != "" {
			return id + "-" + a
		}
		return id
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b)
}

// packerVersion asks packer once per binary and remembers the answer in
// the user cache (keyed by path, size and modification time): starting the
// 90 MB binary costs more than a cached build.
func (c *Command) packerVersion(ctx context.Context, r *packer.Runner) (string, error) {
	fi, err := os.Stat(r.Bin)
	if err != nil {
		return "", err
	}
	var cacheFile string
	if dir := c.cacheDir(false); dir != "" {
		key := fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(strings.Trim(r.Bin, "/"), "/", "_"), fi.Size(), fi.ModTime().UnixNano())
		cacheFile = filepath.Join(dir, "sindri-packer", "packer-version", key)
		if b, err := os.ReadFile(cacheFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
	}
	v, err := r.Version(ctx)
	if err != nil {
		return "", err
	}
	if cacheFile != "" && os.MkdirAll(filepath.Dir(cacheFile), 0o755) == nil {
		_ = os.WriteFile(cacheFile, []byte(v+"\n"), 0o644)
	}
	return v, nil
}

// testResult sums the clouds' image tests up for the test-result output:
// failed if any failed, passed if any ran and none failed, else skipped.
func testResult(m *pipeline.Manifest) string {
	result := "skipped"
	for _, name := range m.Names() {
		t := m.Clouds[name].Test
		switch {
		case t == nil:
		case t.Failed():
			return "failed"
		default:
			result = "passed"
		}
	}
	return result
}
