package plugintest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
)

// The checks every cloud's plugin suite makes after the real plugin ran:
// how far it went, what its manifest says, and that our side (the command
// line and the client) reads the state it left as it must.

// Report prints one line saying how far the plugin went (finished when
// err is nil, else where packer stopped) and how many requests (reqs) it
// made; when the test fails, packer's output and those requests are
// logged. It returns how far the plugin went.
func Report(t *testing.T, what string, reqs []string, finished, out string, err error) string {
	t.Helper()
	stop := finished
	if err != nil {
		stop = LastError(out)
	}
	fmt.Printf("%s made %d requests to the double; %s\n", what, len(reqs), stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("packer output:\n%s\nrequests:\n%s", out, strings.Join(reqs, "\n"))
		}
	})
	return stop
}

// Artifact reads the plugin's manifest the way the pipeline's artifact
// step does (packer.ReadManifest): it must hold one build, of the target
// called cloudName, of config hash hash and run runID. It returns that
// build.
func Artifact(t *testing.T, manifest, cloudName, hash, runID string) packerpkg.ManifestBuild {
	t.Helper()
	builds, err := packerpkg.ReadManifest(manifest)
	if err != nil || len(builds) != 1 {
		t.Fatalf("packer manifest: %v (builds %d)", err, len(builds))
	}
	b := builds[0]
	if b.CustomData["config_hash"] != hash || b.CustomData["run_id"] != runID || b.CustomData["cloud"] != cloudName {
		t.Errorf("manifest custom_data = %v", b.CustomData)
	}
	return b
}

// Commands runs our command line (Run, DryRun) on the state a plugin
// build left on a double.
type Commands struct {
	Env []string
	// Config is the sindri.yaml, Dir the folder of the run's manifests.
	Config, Dir string
	Cloud       string // the target's name
	RunID       string // the plugin build's run
	// Writes counts the double's write requests so far.
	Writes func() int
}

// NewCommands writes yaml as dir/sindri.yaml and returns the command line
// on f's state (CommandEnv), for the target called cloudName.
func NewCommands(t *testing.T, f cloudtest.Fake, dir, packer, cloudName, yaml, runID string) Commands {
	t.Helper()
	cfg := filepath.Join(dir, "sindri.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return Commands{Env: CommandEnv(f, dir, packer), Config: cfg, Dir: dir, Cloud: cloudName, RunID: runID}
}

// Hash is the config hash our build --dry-run computes: the one the
// plugin builds with.
func (c Commands) Hash(t *testing.T) string {
	t.Helper()
	return DryRun(t, c.Env, c.Config, c.Dir, "before.json", c.Cloud).ConfigHash
}

// CheckReadOnly runs what must find a clean plugin build's image id and
// change nothing: build --dry-run takes id as its cached image; images
// list --json shows id, hash and listed, and not source (what only the
// source image shows; "" for no such check); repave --dry-run reports id;
// cleanup of the run and of everything finds nothing. None of them writes.
func (c Commands) CheckReadOnly(t *testing.T, id, hash, source string, listed ...string) {
	t.Helper()
	before := c.Writes()
	if r := DryRun(t, c.Env, c.Config, c.Dir, "after.json", c.Cloud); r.Status != pipeline.StatusCached || r.ImageID != id {
		t.Errorf("build --dry-run after the plugin: status %s image %q, want cached %s", r.Status, r.ImageID, id)
	}
	list := Run(t, c.Env, "images", "list", "-c", c.Config, "--json")
	for _, want := range append([]string{id, hash}, listed...) {
		if !strings.Contains(list, want) {
			t.Errorf("images list --json does not show %s:\n%s", want, list)
		}
	}
	if source != "" && strings.Contains(list, source) {
		t.Errorf("images list --json shows the source image (%s), not exactly the plugin's image %s:\n%s", source, id, list)
	}
	if rep := Run(t, c.Env, "repave", "-c", c.Config, "--dry-run", "--manifest", filepath.Join(c.Dir, "repave.json")); !strings.Contains(rep, id) {
		t.Errorf("repave --dry-run does not report the plugin's image %s:\n%s", id, rep)
	}
	if n := c.Writes() - before; n != 0 {
		t.Errorf("build --dry-run, images list and repave --dry-run made %d writes after a clean plugin build", n)
	}
	before = c.Writes()
	Run(t, c.Env, "cleanup", "-c", c.Config, "--run-id", c.RunID)
	Run(t, c.Env, "cleanup", "-c", c.Config)
	if n := c.Writes() - before; n != 0 {
		t.Errorf("cleanup made %d writes after a clean plugin build", n)
	}
}

// CheckDeprecateThenDelete runs images deprecate on id (it is then no
// cache hit) and images delete; after that f holds nothing but keep.
func (c Commands) CheckDeprecateThenDelete(t *testing.T, f cloudtest.Fake, id string, keep ...string) {
	t.Helper()
	Run(t, c.Env, "images", "deprecate", id, "-c", c.Config)
	if r := DryRun(t, c.Env, c.Config, c.Dir, "deprecated.json", c.Cloud); r.Status == pipeline.StatusCached {
		t.Errorf("a deprecated image is still a cache hit: %+v", r)
	}
	Run(t, c.Env, "images", "delete", id, "-c", c.Config, "--yes")
	for _, r := range f.Live() {
		if !slices.Contains(keep, r.ID) {
			t.Errorf("left after images delete: %s %s", r.Kind, r.ID)
		}
	}
}

// OurSide is our client on the state a clean plugin build left.
type OurSide struct {
	Target cloud.Target
	Config *config.Config
	// ID and Hash are the plugin's image and its config hash; Runs are
	// the runs (the plugin's; "" for every run) that must leave nothing.
	ID, Hash string
	Runs     []string
	// Found and Listed check the image FindImage and ListImages answer
	// beyond its ID and hash (nil: nothing more).
	Found, Listed func(cloud.Image) bool
	// Deprecated, when set, checks more once the image is deprecated.
	Deprecated func(t *testing.T)
}

// Check runs the build cache (FindImage of the hash is the image), the
// image list (exactly the image), the sweep (nothing left of Runs),
// deprecate (the list shows its time), then DeleteImage. What the double
// holds after that is the caller's to check.
func (o OurSide) Check(t *testing.T) {
	t.Helper()
	ctx, c, cfg := t.Context(), o.Target, o.Config
	img, err := c.FindImage(ctx, cfg, o.Hash)
	if err != nil || img == nil || img.ID != o.ID || img.ConfigHash != o.Hash || (o.Found != nil && !o.Found(*img)) {
		t.Fatalf("FindImage after the plugin: %+v, %v; want %s", img, err, o.ID)
	}
	list, err := c.ListImages(ctx, cfg)
	if err != nil || len(list) != 1 || list[0].ID != o.ID || list[0].ConfigHash != o.Hash || (o.Listed != nil && !o.Listed(list[0])) {
		t.Fatalf("ListImages after the plugin: %+v, %v; want exactly %s", list, err, o.ID)
	}
	for _, run := range o.Runs {
		left, err := c.Leftovers(ctx, cfg, cloud.SweepFilter{RunID: run})
		if err != nil || len(left) != 0 {
			t.Errorf("Leftovers (run %q) after a clean plugin build: %+v, %v; want none", run, left, err)
		}
	}
	if err := c.DeprecateImage(ctx, cfg, o.ID, cloud.Deprecation{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if list, err := c.ListImages(ctx, cfg); err != nil || len(list) != 1 || list[0].Deprecated.IsZero() {
		t.Errorf("ListImages after deprecate: %+v, %v; want the image with its deprecation time", list, err)
	}
	if o.Deprecated != nil {
		o.Deprecated(t)
	}
	if err := c.DeleteImage(ctx, cfg, o.ID); err != nil {
		t.Fatal(err)
	}
}

// CheckLeftovers: Leftovers of runID is exactly want (each "kind ID"), n
// of them: what a plugin build that could not clean up left. Each is then
// deleted.
func CheckLeftovers(t *testing.T, c cloud.Target, cfg *config.Config, runID string, want []string, n int) {
	t.Helper()
	left, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range left {
		got = append(got, r.Kind+" "+r.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != n || !slices.Equal(got, want) {
		t.Fatalf("Leftovers = %v, want exactly what the plugin left: %v", got, want)
	}
	for _, r := range left {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Fatal(err)
		}
	}
}
