package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// One cloud's build is a list of small steps run in order by build, in
// the manner of goreleaser's pipes: each step reads and fills the build's
// state. A step ends the build with errDone (the result is final) or with
// an error (the cloud failed with it).
type step interface {
	String() string
	Run(ctx context.Context, s *state) error
}

// errDone ends a build early with the result a step set.
var errDone = errors.New("done")

// steps are the steps of every build, in order.
var steps = []step{
	configuredStep{}, cacheStep{}, workStep{}, prepareStep{}, packerStep{},
	artifactStep{}, testStep{}, discardStep{}, promoteStep{},
}

// state is one cloud's build as it goes through the steps.
type state struct {
	o      *Options
	name   string
	target cloud.Target
	dir    string // rendered template folder
	hash   string
	log    *cloudLog
	res    *CloudResult

	run      *cloud.BuildRun
	started  time.Time // the work began: BuildSeconds counts from here
	cleanups []func()  // run last first when the build ends
	vars     map[string]string
	manifest string             // packer's manifest file
	built    packer.BuildResult // packer's machine-readable account
	art      cloud.Artifact
	img      *cloud.Image
	// testFailed is set when the image failed its test.
	testFailed bool
}

// build runs the steps for one prepared cloud and returns its result.
func (o Options) build(ctx context.Context, p prepared, lw *logWriter) *CloudResult {
	s := &state{o: &o, name: p.name, target: p.target, dir: p.dir, hash: p.hash,
		log: lw.forCloud(p.name), res: &CloudResult{ConfigHash: p.hash}}
	defer s.log.close()
	s.run = &cloud.BuildRun{Config: o.Config, RunID: o.RunID, Hash: p.hash, SindriVersion: o.SindriVersion}
	defer func() {
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			s.cleanups[i]()
		}
		if !s.started.IsZero() {
			s.res.BuildSeconds = time.Since(s.started).Seconds()
		}
	}()
	for _, st := range steps {
		if err := st.Run(ctx, s); err != nil {
			if !errors.Is(err, errDone) {
				fail(s.res, err)
			}
			break
		}
	}
	return s.res
}

// configuredStep: a cancelled run starts nothing, and a configured
// image_id needs no build.
type configuredStep struct{}

func (configuredStep) String() string { return "configured image" }

func (configuredStep) Run(ctx context.Context, s *state) error {
	if ctx.Err() != nil {
		s.res.Status, s.res.Error = StatusCancelled, "cancelled before it started"
		return errDone
	}
	if id := s.o.Config.Packer.Clouds.ImageID(s.name); id != "" {
		s.res.Status, s.res.ImageID = StatusExisting, id
		s.log.printf("using the configured image_id %s; nothing to build", id)
		return errDone
	}
	return nil
}

// cacheStep is the build cache: an image that carries the config hash is
// the result. A dry run stops here.
type cacheStep struct{}

func (cacheStep) String() string { return "cache lookup" }

func (cacheStep) Run(ctx context.Context, s *state) error {
	if s.o.Config.Packer.Build.Cache && !s.o.Rebuild {
		img, err := s.target.FindImage(ctx, s.o.Config, s.hash)
		switch {
		case !cloud.Supported(err):
		case err != nil:
			s.log.printf("cache lookup failed, building: %v", err)
		case img != nil:
			s.res.Status = StatusCached
			fill(s.res, img)
			s.log.printf("cached: image %s already carries config hash %s", img.ID, short(s.hash))
			return errDone
		}
	}
	if s.o.DryRun {
		s.res.Status = StatusPlanned
		s.log.printf("would build (config hash %s)", short(s.hash))
		return errDone
	}
	return nil
}

// workStep makes the build's private folder.
type workStep struct{}

func (workStep) String() string { return "work folder" }

func (workStep) Run(_ context.Context, s *state) error {
	s.started = time.Now()
	work, err := os.MkdirTemp(s.o.WorkDir, s.name+"-")
	if err != nil {
		return err
	}
	s.cleanups = append(s.cleanups, func() { os.RemoveAll(work) })
	s.run.WorkDir = work
	return nil
}

// prepareStep lets the target set up its per-run inputs and sets the
// variables every template declares.
type prepareStep struct{}

func (prepareStep) String() string { return "prepare" }

func (prepareStep) Run(ctx context.Context, s *state) error {
	s.vars = map[string]string{}
	for k, v := range s.o.Vars {
		s.vars[k] = v
	}
	extra, cleanup, err := s.target.Prepare(ctx, s.run)
	if cleanup != nil {
		s.cleanups = append(s.cleanups, cleanup)
	}
	if err != nil {
		return err
	}
	for k, v := range extra {
		s.vars[k] = v
	}
	s.manifest = filepath.Join(s.run.WorkDir, "packer-manifest.json")
	s.vars["config_hash"] = s.hash
	s.vars["run_id"] = s.o.RunID
	s.vars["manifest_path"] = s.manifest
	return nil
}

// packerStep runs packer build, within the time-out.
type packerStep struct{}

func (packerStep) String() string { return "packer build" }

func (packerStep) Run(ctx context.Context, s *state) error {
	o := s.o
	bctx, cancel := ctx, context.CancelFunc(func() {})
	if o.Timeout > 0 {
		bctx, cancel = context.WithTimeout(ctx, o.Timeout)
	}
	defer cancel()
	s.log.printf("building (config hash %s)", short(s.hash))
	br, aborted, err := runPacker(bctx, s)
	if err == nil && br.ExitCode != 0 && !br.Cancelled && aborted {
		s.log.printf("xorriso aborted while packer made its CD (a known crash of Debian's xorriso 1.5.4, before any machine started); building again")
		br, _, err = runPacker(bctx, s)
	}
	s.res.PackerErrors = br.Errors
	switch {
	case err != nil:
		return err
	case br.Cancelled && ctx.Err() != nil:
		s.res.Status, s.res.Error = StatusCancelled, "interrupted; "+o.afterInterrupt(br)
		return errDone
	case br.Cancelled:
		return fmt.Errorf("timed out after %s; %s", o.Timeout, o.afterInterrupt(br))
	case br.ExitCode != 0:
		msg := fmt.Sprintf("packer build exited %d", br.ExitCode)
		if len(br.Errors) > 0 {
			msg += ": " + br.Errors[len(br.Errors)-1]
		} else if e := strings.TrimSpace(br.Stderr); e != "" {
			msg += ": " + lastLine(e)
		}
		return errors.New(msg)
	}
	s.built = br
	return nil
}

// runPacker runs packer build once and reports whether xorriso aborted
// in it: packer makes cd_files ISOs with xorriso before the machine
// starts, and Debian's xorriso 1.5.4 now and then dies with SIGSEGV while
// shutting down after a complete write (seen in CI), failing the build
// with nothing to clean up.
func runPacker(ctx context.Context, s *state) (packer.BuildResult, bool, error) {
	o, aborted := s.o, false
	br, err := o.Packer.Build(ctx, packer.BuildOptions{
		Dir:      s.dir,
		Vars:     s.vars,
		VarFiles: append(slices.Clone(o.VarFiles), s.run.VarFiles...),
		OnError:  o.OnError,
		Grace:    o.Grace,
		OnLine: func(l packer.Line) {
			if l.Type == "ui" && len(l.Data) >= 2 {
				msg := l.Message()
				aborted = aborted || strings.Contains(msg, "xorriso : ABORT")
				s.log.at(l.Time, "%s", msg)
			}
		},
	})
	return br, aborted, err
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

// artifactStep reads packer's manifest: the artifact and the image.
type artifactStep struct{}

func (artifactStep) String() string { return "manifest and artifact" }

func (artifactStep) Run(_ context.Context, s *state) error {
	builds, err := packer.ReadManifest(s.manifest)
	if err != nil || len(builds) == 0 {
		if err == nil {
			err = errors.New("packer reported success but its manifest lists no build of this run")
		}
		return err
	}
	b := builds[len(builds)-1]
	s.art = cloud.Artifact{ID: b.ArtifactID}
	for _, f := range b.Files {
		s.art.Files = append(s.art.Files, f.Name)
	}
	for _, a := range s.built.Artifacts {
		if s.art.String == "" {
			s.art.String = a.String
		}
		if a.ID != "" && a.ID != b.ArtifactID {
			s.log.printf("warning: machine-readable artifact id %s differs from the manifest's %s", a.ID, b.ArtifactID)
		}
	}
	img := &cloud.Image{ID: b.ArtifactID, Regions: packer.RegionIDs(b.ArtifactID), Name: b.CustomData["image_name"], ConfigHash: s.hash}
	// A multi-region artifact ("us-east-1:ami-1,us-west-2:ami-2"): the
	// primary ID is the one in the region the image was built in.
	if _, regions := s.target.Regions(s.o.Config); len(regions) > 0 {
		if id, ok := img.Regions[regions[0]]; ok {
			img.ID = id
		}
	}
	s.img = s.target.Describe(s.run, s.art, img)
	return nil
}

// testStep tests the image on a temporary instance: a local target's
// file before promotion, a cloud's image.
type testStep struct{}

func (testStep) String() string { return "image test" }

func (testStep) Run(ctx context.Context, s *state) error {
	if s.o.Test == nil {
		return nil
	}
	image := s.img.ID
	if s.target.Local() {
		image = firstQCOW2(s.art.Files, s.o.Packer.Dir)
	}
	rep, skipped := s.test(ctx, image)
	s.res.Test, s.res.TestSkipped = rep, skipped
	if ctx.Err() != nil {
		s.res.Status, s.res.Error = StatusCancelled, "interrupted during the image test; the test instance was destroyed"
		return errDone
	}
	if rep != nil && rep.Failed() {
		s.res.Status, s.res.Error = StatusFailed, "image test failed: "+rep.Summary()
		s.testFailed = true
	}
	return nil
}

// test runs the image test. A nil report with a reason means the target
// has no test instances.
func (s *state) test(ctx context.Context, image string) (*verify.Report, string) {
	tdir := filepath.Join(s.run.WorkDir, "test")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return failedTest(err), ""
	}
	rep, err := s.o.Test.run(ctx, s.o.Test.Options(s.o.Config, s.target, image, s.o.RunID, s.o.SindriVersion, tdir, lineWriter{s.log}))
	switch {
	case !cloud.Supported(err):
		msg := "no test instances for " + s.name + " yet: the image was not tested"
		s.log.printf("%s", msg)
		return nil, msg
	case err != nil && ctx.Err() == nil:
		return failedTest(err), ""
	}
	return rep, ""
}

// discardStep: a cloud image that failed its test is deleted (or
// deprecated with KeepFailed), so it never becomes the cached image of its
// hash; a local one is kept aside with KeepFailed, never promoted.
type discardStep struct{}

func (discardStep) String() string { return "discard or keep a failed image" }

func (discardStep) Run(ctx context.Context, s *state) error {
	if !s.testFailed {
		return nil
	}
	if !s.target.Local() {
		if msg := s.discardFailed(ctx, s.img.ID); msg != "" {
			s.res.Error += "; " + msg
		}
		return errDone
	}
	if s.o.Test.KeepFailed {
		if path, err := s.target.KeepFailed(s.run, s.art); err == nil {
			s.res.Extra = map[string]string{"failed_image": path}
			s.log.printf("kept the failed image at %s (--keep-failed-images)", path)
		}
	}
	return errDone
}

// discardFailed deletes a cloud image that failed its test, or with
// KeepFailed deprecates it, so it is kept to debug but never a cache hit.
// It returns a note for the result when that did not work.
func (s *state) discardFailed(ctx context.Context, id string) string {
	if s.o.Test.KeepFailed {
		if err := s.target.DeprecateImage(ctx, s.o.Config, id, cloud.Deprecation{}); err != nil {
			s.log.printf("could not deprecate the failed image %s: %v", id, err)
			return fmt.Sprintf("the failed image %s could not be deprecated (%v): delete it, or the next build reuses it", id, err)
		}
		s.log.printf("kept the failed image %s, deprecated so no build reuses it (--keep-failed-images)", id)
		return ""
	}
	if err := s.target.DeleteImage(ctx, s.o.Config, id); err != nil {
		s.log.printf("could not delete the failed image %s: %v", id, err)
		return fmt.Sprintf("the failed image %s could not be deleted (%v): delete it, or the next build reuses it", id, err)
	}
	s.log.printf("deleted the failed image %s", id)
	return ""
}

// promoteStep registers a local image that passed (or was not tested);
// the cloud's image exists already. The cloud is built.
type promoteStep struct{}

func (promoteStep) String() string { return "promote" }

func (promoteStep) Run(ctx context.Context, s *state) error {
	if s.target.Local() {
		promoted, err := s.target.Promote(ctx, s.run, s.art)
		if err != nil {
			return fmt.Errorf("register the built image: %w", err)
		}
		s.img = promoted
	}
	s.res.Status = StatusBuilt
	fill(s.res, s.img)
	s.log.printf("built %s", s.res.ImageID)
	return nil
}
