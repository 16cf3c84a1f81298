// Package pipeline runs the builds: per cloud, bounded parallel, render →
// config hash → cache lookup → packer build → image, keeping every cloud's
// result whatever happens to the others.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/verify"
	"github.com/sindri-dev/sindri-packer/scripts"
)

// Templater is implemented by targets that render their own template
// (the test-only null target); all real targets use render.Template.
type Templater interface {
	Template(c *config.Config, opts render.Options) []byte
}

// HashContributor adds target-specific inputs to the config hash.
type HashContributor interface {
	HashInputs(c *config.Config) ([]string, error)
}

// Options configure one run.
type Options struct {
	Config   *config.Config
	Clouds   []string
	Builders map[string]cloud.Builder
	Packer   *packer.Runner // Bin, Env and Dir (the config's folder)

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
	// Grouped buffers each cloud's log and writes it in one piece when the
	// cloud finishes, between Group.Start and Group.End (GitHub log groups).
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

// prepared is one cloud ready to build.
type prepared struct {
	name    string
	builder cloud.Builder
	dir     string // rendered template folder
	hash    string
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
	lw := &logWriter{w: o.Log, grouped: o.Grouped, group: o.Group, heartbeat: o.Heartbeat}
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
	var preps []prepared
	for _, name := range o.Clouds {
		b, ok := o.Builders[name]
		if !ok {
			return nil, fmt.Errorf("build %s: no such target", name)
		}
		var tpl []byte
		if t, ok := b.(Templater); ok {
			tpl = t.Template(o.Config, ropts)
		} else {
			tpl = render.Template(o.Config, b, ropts)
		}
		files = append(files, render.File{Path: filepath.Join(name, render.TemplateName), Data: tpl})
		in := HashInputs{Template: tpl, Scripts: scriptFiles, SindriVersion: o.SindriVersion, PackerVersion: o.PackerVersion, PluginVersion: b.Plugin().Version, Uploads: uploads}
		if hc, ok := b.(HashContributor); ok {
			extra, err := hc.HashInputs(o.Config)
			if err != nil {
				return nil, fmt.Errorf("build %s: %w", name, err)
			}
			in.Extra = extra
		}
		preps = append(preps, prepared{name: name, builder: b, dir: filepath.Join(o.WorkDir, "render", name), hash: ConfigHash(in)})
	}
	if err := render.Write(filepath.Join(o.WorkDir, "render"), files); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return preps, nil
}

func (o Options) build(ctx context.Context, p prepared, lw *logWriter) *CloudResult {
	res := &CloudResult{ConfigHash: p.hash}
	log := lw.forCloud(p.name)
	defer log.close()
	if ctx.Err() != nil {
		res.Status, res.Error = StatusCancelled, "cancelled before it started"
		return res
	}
	if id := o.Config.Packer.Clouds.ImageID(p.name); id != "" {
		res.Status, res.ImageID = StatusExisting, id
		log.printf("using the configured image_id %s; nothing to build", id)
		return res
	}
	run := &cloud.BuildRun{Config: o.Config, RunID: o.RunID, Hash: p.hash, SindriVersion: o.SindriVersion}
	if finder, ok := p.builder.(cloud.ImageFinder); ok && o.Config.Packer.Build.Cache && !o.Rebuild {
		img, err := finder.FindImage(ctx, o.Config, p.hash)
		switch {
		case err != nil:
			log.printf("cache lookup failed, building: %v", err)
		case img != nil:
			res.Status = StatusCached
			fill(res, img)
			log.printf("cached: image %s already carries config hash %s", img.ID, short(p.hash))
			return res
		}
	}
	if o.DryRun {
		res.Status = StatusPlanned
		log.printf("would build (config hash %s)", short(p.hash))
		return res
	}

	start := time.Now()
	defer func() { res.BuildSeconds = time.Since(start).Seconds() }()
	work, err := os.MkdirTemp(o.WorkDir, p.name+"-")
	if err != nil {
		return fail(res, err)
	}
	defer os.RemoveAll(work)
	run.WorkDir = work

	vars := map[string]string{}
	for k, v := range o.Vars {
		vars[k] = v
	}
	if pr, ok := p.builder.(cloud.Preparer); ok {
		extra, cleanup, err := pr.Prepare(ctx, run)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			return fail(res, err)
		}
		for k, v := range extra {
			vars[k] = v
		}
	}
	manifestPath := filepath.Join(work, "packer-manifest.json")
	vars["config_hash"] = p.hash
	vars["run_id"] = o.RunID
	vars["manifest_path"] = manifestPath

	bctx, cancel := ctx, context.CancelFunc(func() {})
	if o.Timeout > 0 {
		bctx, cancel = context.WithTimeout(ctx, o.Timeout)
	}
	defer cancel()
	log.printf("building (config hash %s)", short(p.hash))
	br, err := o.Packer.Build(bctx, packer.BuildOptions{
		Dir:      p.dir,
		Vars:     vars,
		VarFiles: append(slices.Clone(o.VarFiles), run.VarFiles...),
		OnError:  o.OnError,
		Grace:    o.Grace,
		OnLine: func(l packer.Line) {
			if l.Type == "ui" && len(l.Data) >= 2 {
				log.printf("%s", l.Message())
			}
		},
	})
	res.PackerErrors = br.Errors
	switch {
	case err != nil:
		return fail(res, err)
	case br.Cancelled && ctx.Err() != nil:
		res.Status, res.Error = StatusCancelled, "interrupted; "+o.afterInterrupt(br)
		return res
	case br.Cancelled:
		return fail(res, fmt.Errorf("timed out after %s; %s", o.Timeout, o.afterInterrupt(br)))
	case br.ExitCode != 0:
		msg := fmt.Sprintf("packer build exited %d", br.ExitCode)
		if len(br.Errors) > 0 {
			msg += ": " + br.Errors[len(br.Errors)-1]
		} else if s := strings.TrimSpace(br.Stderr); s != "" {
			msg += ": " + lastLine(s)
		}
		return fail(res, errors.New(msg))
	}

	builds, err := packer.ReadManifest(manifestPath)
	if err != nil || len(builds) == 0 {
		if err == nil {
			err = errors.New("packer reported success but its manifest lists no build of this run")
		}
		return fail(res, err)
	}
	b := builds[len(builds)-1]
	art := cloud.Artifact{ID: b.ArtifactID}
	for _, f := range b.Files {
		art.Files = append(art.Files, f.Name)
	}
	for _, a := range br.Artifacts {
		if art.String == "" {
			art.String = a.String
		}
		if a.ID != "" && a.ID != b.ArtifactID {
			log.printf("warning: machine-readable artifact id %s differs from the manifest's %s", a.ID, b.ArtifactID)
		}
	}
	img := &cloud.Image{ID: b.ArtifactID, Regions: packer.RegionIDs(b.ArtifactID), Name: b.CustomData["image_name"], ConfigHash: p.hash}
	// A multi-region artifact ("us-east-1:ami-1,us-west-2:ami-2"): the
	// primary ID is the one in the region the image was built in.
	if _, regions := o.Config.Packer.Clouds.Regions(p.name); len(regions) > 0 {
		if id, ok := img.Regions[regions[0]]; ok {
			img.ID = id
		}
	}
	if d, ok := p.builder.(cloud.Describer); ok {
		img = d.Describe(run, art)
	}
	// The image as the test instance boots it: a local target's file
	// before promotion, a cloud's image ID.
	testImage := img.ID
	promoter, local := p.builder.(cloud.Promoter)
	if local {
		testImage = firstQCOW2(art.Files, o.Packer.Dir)
	}
	if o.Test != nil {
		rep, skipped := o.test(ctx, p, run, testImage, work, log)
		res.Test, res.TestSkipped = rep, skipped
		if ctx.Err() != nil {
			res.Status, res.Error = StatusCancelled, "interrupted during the image test; the test instance was destroyed"
			return res
		}
		if rep != nil && rep.Failed() {
			res.Status, res.Error = StatusFailed, "image test failed: "+rep.Summary()
			if im, ok := p.builder.(cloud.ImageManager); ok && !local {
				// The cloud image carries the config hash: left as it
				// is, the next build would take it as the cached image.
				if msg := o.discardFailed(ctx, im, img.ID, log); msg != "" {
					res.Error += "; " + msg
				}
				return res
			}
			if o.Test.KeepFailed {
				if k, ok := p.builder.(cloud.FailedKeeper); ok {
					if path, err := k.KeepFailed(run, art); err == nil {
						res.Extra = map[string]string{"failed_image": path}
						log.printf("kept the failed image at %s (--keep-failed-images)", path)
					}
				}
			}
			return res
		}
	}
	if local {
		promoted, err := promoter.Promote(ctx, run, art)
		if err != nil {
			return fail(res, fmt.Errorf("register the built image: %w", err))
		}
		img = promoted
	}
	res.Status = StatusBuilt
	fill(res, img)
	log.printf("built %s", res.ImageID)
	return res
}

// afterInterrupt says what an interrupted packer left: only a packer that
// exited by itself ran its cleanup to the end.
func (o Options) afterInterrupt(br packer.BuildResult) string {
	if br.Killed {
		return "packer did not finish its cleanup within the grace period and was killed: " +
			"temporary resources may be left, run `sindri-packer cleanup --run-id " + o.RunID + "` to delete them"
	}
	return "packer cleaned up its temporary resources"
}

// test runs the image test stage for one cloud. A nil report with a reason
// means the stage could not run for this target.
func (o Options) test(ctx context.Context, p prepared, run *cloud.BuildRun, image, work string, log *cloudLog) (*verify.Report, string) {
	launcher, ok := p.builder.(cloud.InstanceLauncher)
	if !ok {
		msg := "no test instances for " + p.name + " yet: the image was not tested"
		log.printf("%s", msg)
		return nil, msg
	}
	tdir := filepath.Join(work, "test")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return failedTest(err), ""
	}
	runTest := o.Test.Run
	if runTest == nil {
		runTest = verify.Test
	}
	rep, err := runTest(ctx, verify.TestOptions{
		Launcher:      launcher,
		Config:        o.Config,
		ImageID:       image,
		RunID:         o.RunID,
		Inputs:        verify.InputsFor(o.Config, o.SindriVersion, p.builder.SSHUser(o.Config)),
		InSpec:        o.Test.InSpec,
		RequireInSpec: o.Test.RequireInSpec,
		ProfileDir:    o.Test.ProfileDir,
		Env:           o.Test.Env,
		WorkDir:       tdir,
		BootTimeout:   o.Test.BootTimeout,
		AllowSSHFrom:  o.Test.AllowSSHFrom,
		Log:           lineWriter{log},
	})
	if err != nil && ctx.Err() == nil {
		return failedTest(err), ""
	}
	return rep, ""
}

// discardFailed deletes a cloud image that failed its test, or with
// KeepFailed deprecates it, so it is kept to debug but never a cache hit.
// It returns a note for the result when that did not work.
func (o Options) discardFailed(ctx context.Context, im cloud.ImageManager, id string, log *cloudLog) string {
	if o.Test.KeepFailed {
		if err := im.DeprecateImage(ctx, o.Config, id, cloud.Deprecation{}); err != nil {
			log.printf("could not deprecate the failed image %s: %v", id, err)
			return fmt.Sprintf("the failed image %s could not be deprecated (%v): delete it, or the next build reuses it", id, err)
		}
		log.printf("kept the failed image %s, deprecated so no build reuses it (--keep-failed-images)", id)
		return ""
	}
	if err := im.DeleteImage(ctx, o.Config, id); err != nil {
		log.printf("could not delete the failed image %s: %v", id, err)
		return fmt.Sprintf("the failed image %s could not be deleted (%v): delete it, or the next build reuses it", id, err)
	}
	log.printf("deleted the failed image %s", id)
	return ""
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

// logWriter serialises the clouds' log lines onto one writer.
type logWriter struct {
	mu        sync.Mutex
	w         io.Writer
	grouped   bool
	heartbeat time.Duration
	group     interface {
		Start(title string)
		End()
	}
}

type cloudLog struct {
	lw    *logWriter
	name  string
	buf   []string
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

func (lw *logWriter) forCloud(name string) *cloudLog {
	c := &cloudLog{lw: lw, name: name, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	if !lw.grouped || lw.w == nil {
		close(c.done)
		return c
	}
	go c.beat()
	return c
}

// beat prints a progress line outside the group while the cloud's own
// lines wait in the buffer.
func (c *cloudLog) beat() {
	defer close(c.done)
	t := time.NewTicker(c.lw.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.lw.mu.Lock()
			last := ""
			if n := len(c.buf); n > 0 {
				last = "; last: " + strings.TrimPrefix(c.buf[n-1], "["+c.name+"] ")
			}
			fmt.Fprintf(c.lw.w, "[%s] still running after %s%s\n", c.name, time.Since(c.start).Round(time.Second), last)
			c.lw.mu.Unlock()
		}
	}
}

func (c *cloudLog) printf(format string, args ...any) {
	if c.lw.w == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		lines = append(lines, "["+c.name+"] "+l)
	}
	c.lw.mu.Lock()
	defer c.lw.mu.Unlock()
	if c.lw.grouped {
		c.buf = append(c.buf, lines...)
		return
	}
	for _, l := range lines {
		fmt.Fprintln(c.lw.w, l)
	}
}

// close writes a grouped cloud's buffered lines in one piece.
func (c *cloudLog) close() {
	if !c.lw.grouped || c.lw.w == nil {
		return
	}
	close(c.stop)
	<-c.done
	c.lw.mu.Lock()
	defer c.lw.mu.Unlock()
	if c.lw.group != nil {
		c.lw.group.Start("packer build: " + c.name)
	}
	for _, l := range c.buf {
		fmt.Fprintln(c.lw.w, l)
	}
	if c.lw.group != nil {
		c.lw.group.End()
	}
}
