// Package pipeline runs the builds: per cloud, bounded parallel, render →
// config hash → cache lookup → packer build → image, keeping every cloud's
// result whatever happens to the others.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/verify"
	"github.com/sindri-dev/sindri-packer/scripts"
)

// Options configure one run.
type Options struct {
	Config  *config.Config
	Clouds  []string
	Targets map[string]cloud.Target
	Packer  *packer.Runner // Bin, Env and Dir (the config's folder)
	// Render renders a target's template; render.Template when nil (the
	// pipeline's tests render packer's null builder).
	Render func(t cloud.Target, c *config.Config, o render.Options) []byte

	RunID         string
	SindriVersion string // resolved
	PackerVersion string

	Parallel int           // concurrent builds; 0: all at once
	Rebuild  bool          // ignore cached images
	DryRun   bool          // stop after the cache lookup
	OnError  string        // packer -on-error: cleanup or abort
	Timeout  time.Duration // per build; 0: none
	Grace    time.Duration // packer's cleanup time after an interrupt
	Vars     map[string]string
	VarFiles []string

	// WorkDir receives rendered templates and per-build files.
	WorkDir string
	// Log receives packer's messages, each line prefixed "[cloud] ".
	Log io.Writer
	// Grouped is set inside GitHub Actions. With several clouds, whose
	// lines would interleave, each cloud's log is buffered and written in
	// one piece when the cloud finishes, between Group.Start and Group.End
	// (GitHub log groups). With one cloud (every matrix job) each line is
	// written as it comes, with its time: a long build shows its progress,
	// and a killed job keeps its log.
	Grouped bool
	Group   interface {
		Start(title string)
		End()
	}
	// Test, when set, tests every built image on a temporary instance
	// before it is promoted; a failed test fails the cloud.
	Test *TestStage

	// Heartbeat, when grouped, prints a one-line progress note per running
	// cloud at this interval, so a long build shows it is alive (default 1m).
	Heartbeat time.Duration
}

// TestStage configures the image tests of a build.
type TestStage struct {
	InSpec        string // inspec or cinc-auditor; "" when not installed
	RequireInSpec bool
	ProfileDir    string
	Env           []string
	BootTimeout   time.Duration
	AllowSSHFrom  string // CIDR the test instance's port 22 is opened to
	// KeepFailed keeps a failed image (local targets: outside the store);
	// it is never promoted.
	KeepFailed bool
	// Run runs one test; verify.Test when nil (tests substitute it).
	Run func(context.Context, verify.TestOptions) (*verify.Report, error)
}

// Options are the test options of an image built from c for target t:
// the build's test stage and the test command both take them from here.
func (s *TestStage) Options(c *config.Config, t cloud.Target, image, runID, sindriVersion, workDir string, log io.Writer) verify.TestOptions {
	return verify.TestOptions{
		Launcher:      t,
		Config:        c,
		ImageID:       image,
		RunID:         runID,
		Inputs:        verify.InputsFor(c, sindriVersion, t.SSHUser(c)),
		InSpec:        s.InSpec,
		RequireInSpec: s.RequireInSpec,
		ProfileDir:    s.ProfileDir,
		Env:           s.Env,
		WorkDir:       workDir,
		BootTimeout:   s.BootTimeout,
		AllowSSHFrom:  s.AllowSSHFrom,
		Log:           log,
	}
}

// run runs one image test: Run, else verify.Test.
func (s *TestStage) run(ctx context.Context, o verify.TestOptions) (*verify.Report, error) {
	if s.Run != nil {
		return s.Run(ctx, o)
	}
	return verify.Test(ctx, o)
}

// prepared is one cloud ready to build.
type prepared struct {
	name   string
	target cloud.Target
	dir    string // rendered template folder
	hash   string
}

// Run builds the selected clouds. It returns the manifest, complete with
// every cloud's result, even when builds fail or ctx is cancelled; an
// error means nothing could be started (rendering failed).
func Run(ctx context.Context, o Options) (*Manifest, error) {
	m := &Manifest{
		RunID:         o.RunID,
		SindriVersion: o.SindriVersion,
		PackerVersion: o.PackerVersion,
		StartedAt:     time.Now().UTC(),
		Clouds:        map[string]*CloudResult{},
	}
	preps, err := prepare(o)
	if err != nil {
		return nil, err
	}
	hashes := map[string]string{}
	for _, p := range preps {
		hashes[p.name] = p.hash
	}
	m.ConfigHash = RunHash(hashes)

	results := make([]*CloudResult, len(preps))
	limit := o.Parallel
	if limit <= 0 {
		limit = len(preps)
	}
	lw := &logWriter{w: o.Log, grouped: o.Grouped && len(preps) > 1, stamped: o.Grouped && len(preps) == 1,
		group: o.Group, heartbeat: o.Heartbeat}
	if lw.heartbeat <= 0 {
		lw.heartbeat = time.Minute
	}
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for i, p := range preps {
		g.Go(func() error {
			results[i] = o.build(ctx, p, lw)
			return nil
		})
	}
	_ = g.Wait() // builds report through results, never through errors
	for i, p := range preps {
		m.Clouds[p.name] = results[i]
	}
	m.FinishedAt = time.Now().UTC()
	return m, nil
}

// prepare renders every cloud's template and computes its hash.
func prepare(o Options) ([]prepared, error) {
	scriptFiles := scripts.Files()
	var files []render.File
	for n, b := range scriptFiles {
		files = append(files, render.File{Path: filepath.Join("scripts", n), Data: b})
	}
	ropts := render.Options{SindriVersion: o.SindriVersion}
	uploads, err := Uploads(o.Config)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	renderTemplate := o.Render
	if renderTemplate == nil {
		renderTemplate = func(t cloud.Target, c *config.Config, ro render.Options) []byte { return render.Template(c, t, ro) }
	}
	var preps []prepared
	for _, name := range o.Clouds {
		t, ok := o.Targets[name]
		if !ok {
			return nil, fmt.Errorf("build %s: no such target", name)
		}
		tpl := renderTemplate(t, o.Config, ropts)
		files = append(files, render.File{Path: filepath.Join(name, render.TemplateName), Data: tpl})
		extra, err := t.HashInputs(o.Config)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		in := HashInputs{Template: tpl, Scripts: scriptFiles, SindriVersion: o.SindriVersion, PackerVersion: o.PackerVersion, PluginVersion: t.Plugin().Version, Uploads: uploads, Extra: extra, Overrides: Overrides(o.Vars, render.Overridable(o.Config, t, ropts))}
		preps = append(preps, prepared{name: name, target: t, dir: filepath.Join(o.WorkDir, "render", name), hash: ConfigHash(in)})
	}
	if err := render.Write(filepath.Join(o.WorkDir, "render"), files); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return preps, nil
}

func failedTest(err error) *verify.Report {
	return &verify.Report{Status: "failed", Checks: []verify.Check{{Name: "test", Message: err.Error()}}}
}

// firstQCOW2 finds the image file among an artifact's files.
func firstQCOW2(files []string, dir string) string {
	for _, f := range files {
		if strings.HasSuffix(f, ".qcow2") {
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			return f
		}
	}
	return ""
}

// lineWriter sends test output lines to the cloud's log.
type lineWriter struct{ log *cloudLog }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			w.log.printf("test: %s", l)
		}
	}
	return len(p), nil
}

func fill(res *CloudResult, img *cloud.Image) {
	res.ImageID = img.ID
	res.ImageName = img.Name
	res.Extra = img.Extra
	res.Images = map[string]string{}
	for r, id := range img.Regions {
		if r != "" {
			res.Images[r] = id
		}
	}
	if len(res.Images) == 0 {
		res.Images = nil
	}
	if res.ImageID == "" {
		if names := orderedNames(img.Regions); len(names) > 0 {
			res.ImageID = img.Regions[names[0]]
		}
	}
}

func fail(res *CloudResult, err error) *CloudResult {
	res.Status, res.Error = StatusFailed, err.Error()
	return res
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}
