package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// localTarget is a TEST-ONLY target: the null build plus the hooks of a
// local image target (test instances, promotion, keeping failed images),
// recording which were called.
type localTarget struct {
	nullTarget
	mu       sync.Mutex
	promoted []string
	kept     []string
}

func (l *localTarget) Launch(context.Context, cloud.LaunchRequest) (*cloud.Instance, error) {
	return &cloud.Instance{ID: "fake"}, nil // the test stage's runner is replaced
}
func (l *localTarget) Terminate(context.Context, *cloud.Instance) error { return nil }
func (l *localTarget) Local() bool                                      { return true }

func (l *localTarget) Promote(_ context.Context, run *cloud.BuildRun, art cloud.Artifact) (*cloud.Image, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promoted = append(l.promoted, run.Hash)
	return &cloud.Image{ID: "store/" + run.Hash, ConfigHash: run.Hash}, nil
}

func (l *localTarget) KeepFailed(run *cloud.BuildRun, _ cloud.Artifact) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kept = append(l.kept, run.Hash)
	return "failed/" + run.RunID + ".img", nil
}

func fakeTester(status string, seen *verify.TestOptions) func(context.Context, verify.TestOptions) (*verify.Report, error) {
	return func(ctx context.Context, o verify.TestOptions) (*verify.Report, error) {
		*seen = o
		// As verify.Test: a target without test instances cannot launch.
		if _, err := o.Launcher.Launch(ctx, cloud.LaunchRequest{}); err != nil {
			return nil, fmt.Errorf("launch test instance: %w", err)
		}
		rep := &verify.Report{Status: status, Checks: []verify.Check{{Name: "ssh", Passed: true}}}
		if status == "failed" {
			rep.InSpec = &verify.Result{Status: "failed", Failed: 2}
		}
		return rep, nil
	}
}

// runLocal builds a local target whose image test ends in status.
func runLocal(t *testing.T, status string) (*localTarget, Options, *CloudResult, *verify.TestOptions) {
	t.Helper()
	tg := &localTarget{nullTarget: nullTarget{name: "qemu", sleep: 100 * time.Millisecond}}
	o := options(t, tg)
	seen := &verify.TestOptions{}
	o.Test = &TestStage{Run: fakeTester(status, seen)}
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return tg, o, m.Clouds["qemu"], seen
}

// TestFailedTestBlocksPromotion: a built image that fails its test fails
// the cloud and is never promoted (never becomes the cached image).
func TestFailedTestBlocksPromotion(t *testing.T) {
	tg, o, r, seen := runLocal(t, "failed")
	if r.Status != StatusFailed || !strings.Contains(r.Error, "image test failed") || !strings.Contains(r.Error, "2 InSpec control(s) failed") {
		t.Fatalf("%+v", r)
	}
	if r.Test == nil || r.Test.Status != "failed" || r.ImageID != "" {
		t.Errorf("result %+v", r)
	}
	if len(tg.promoted) != 0 || len(tg.kept) != 0 {
		t.Errorf("promoted %v kept %v", tg.promoted, tg.kept)
	}
	if seen.Inputs.SindriVersion != "3.0.1" || seen.Inputs.SSHUser != tg.SSHUser(o.Config) || !seen.Inputs.CISHardening {
		t.Errorf("test inputs %+v", seen.Inputs)
	}

	// --keep-failed-images keeps it aside, still unpromoted and failed.
	o.Test.KeepFailed = true
	m, _ := Run(t.Context(), o)
	if r := m.Clouds["qemu"]; r.Status != StatusFailed || r.Extra["failed_image"] != "failed/test-run.img" {
		t.Errorf("keep failed: %+v", r)
	}
	if len(tg.promoted) != 0 || len(tg.kept) != 1 {
		t.Errorf("promoted %v kept %v", tg.promoted, tg.kept)
	}
}

func TestPassedTestPromotes(t *testing.T) {
	tg, _, r, _ := runLocal(t, "passed")
	if r.Status != StatusBuilt || r.Test == nil || r.Test.Status != "passed" || len(tg.promoted) != 1 || r.ImageID != "store/"+r.ConfigHash {
		t.Fatalf("%+v promoted %v", r, tg.promoted)
	}
}

// A target without test instances is built, and says it was not tested.
func TestNoLauncherSkipsTheTest(t *testing.T) {
	o := options(t, nullTarget{name: "a", sleep: 100 * time.Millisecond})
	var seen verify.TestOptions
	o.Test = &TestStage{Run: fakeTester("failed", &seen)}
	m, _ := Run(t.Context(), o)
	if r := m.Clouds["a"]; r.Status != StatusBuilt || r.Test != nil || !strings.Contains(r.TestSkipped, "no test instances") {
		t.Fatalf("%+v", r)
	}
}

// cloudTarget is a TEST-ONLY cloud image target: the null build, test
// instances, and an image inventory that records deletions and
// deprecations (fail makes them fail).
type cloudTarget struct {
	nullTarget
	mu         sync.Mutex
	deleted    []string
	deprecated []string
	fail       error
}

func (c *cloudTarget) Launch(context.Context, cloud.LaunchRequest) (*cloud.Instance, error) {
	return &cloud.Instance{ID: "fake"}, nil // the test stage's runner is replaced
}
func (c *cloudTarget) Terminate(context.Context, *cloud.Instance) error { return nil }
func (c *cloudTarget) ListImages(context.Context, *config.Config) ([]cloud.Image, error) {
	return nil, nil
}
func (c *cloudTarget) GetImage(context.Context, *config.Config, string) (*cloud.Image, error) {
	return nil, cloud.ErrNotFound
}
func (c *cloudTarget) DeleteImage(_ context.Context, _ *config.Config, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, id)
	return c.fail
}
func (c *cloudTarget) DeprecateImage(_ context.Context, _ *config.Config, id string, _ cloud.Deprecation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deprecated = append(c.deprecated, id)
	return c.fail
}

// TestFailedCloudImageIsDiscarded: a cloud image that fails its test is
// deleted, or with KeepFailed deprecated, so it never becomes the cached
// image of its hash; when that fails, the result says so.
func TestFailedCloudImageIsDiscarded(t *testing.T) {
	tg := &cloudTarget{nullTarget: nullTarget{name: "aws"}}
	o := options(t, tg)
	var seen verify.TestOptions
	o.Test = &TestStage{Run: fakeTester("failed", &seen)}
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["aws"]; r.Status != StatusFailed || len(tg.deleted) != 1 || len(tg.deprecated) != 0 {
		t.Fatalf("result %+v deleted %v deprecated %v", r, tg.deleted, tg.deprecated)
	}
	if img := tg.deleted[0]; seen.ImageID != img {
		t.Errorf("tested %s, deleted %s", seen.ImageID, img)
	}
	o.Test.KeepFailed = true
	Run(t.Context(), o)
	if len(tg.deprecated) != 1 || len(tg.deleted) != 1 {
		t.Fatalf("keep failed: deleted %v deprecated %v", tg.deleted, tg.deprecated)
	}
	tg.fail = errors.New("UnauthorizedOperation")
	m, _ = Run(t.Context(), o)
	if r := m.Clouds["aws"]; !strings.Contains(r.Error, "could not be deprecated (UnauthorizedOperation): delete it, or the next build reuses it") {
		t.Errorf("error %q", r.Error)
	}
	o.Test.KeepFailed = false
	m, _ = Run(t.Context(), o)
	if r := m.Clouds["aws"]; !strings.Contains(r.Error, "could not be deleted (UnauthorizedOperation)") {
		t.Errorf("error %q", r.Error)
	}
	// A passing image is kept.
	tg.fail = nil
	o.Test.Run = fakeTester("passed", &seen)
	n := len(tg.deleted)
	if m, _ = Run(t.Context(), o); m.Clouds["aws"].Status != StatusBuilt || len(tg.deleted) != n {
		t.Errorf("passed: %+v deleted %v", m.Clouds["aws"], tg.deleted)
	}
}
