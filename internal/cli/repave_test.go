package cli

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

func days(n int) time.Time { return time.Now().Add(-time.Duration(n) * 24 * time.Hour) }

// repaveWorld: the fake packer (a test double) builds ami-0aaaaaaa; the
// in-memory cloud holds an image history.
func repaveWorld(t *testing.T) (buildFixture, *memCloud, []string) {
	t.Helper()
	f := newBuildFixture(t)
	fake := newMemCloud(t, "aws")
	fake.images = []cloud.Image{
		{ID: "ami-40d", Created: days(40), ConfigHash: "old"},
		{ID: "ami-50d", Created: days(50), ConfigHash: "old"},
		{ID: "ami-90d-dep40", Created: days(90), ConfigHash: "old", Deprecated: days(40)},
		{ID: "ami-80d-dep5", Created: days(80), ConfigHash: "old", Deprecated: days(5)},
	}
	return f, fake, []string{"PATH=" + f.bin, "SINDRI_LATEST_VERSION=3.0.1", "HOME=" + t.TempDir()}
}

func (f buildFixture) repave(t *testing.T, ctx context.Context, fake *memCloud, env []string, args ...string) result {
	t.Helper()
	return runCtx(t, ctx, fake, "", env, append([]string{"repave", "-c", f.config, "--manifest", f.manifest, "--skip-tests"}, args...)...)
}

func TestRepave(t *testing.T) {
	f, fake, env := repaveWorld(t)
	r := f.repave(t, t.Context(), fake, env, "--keep", "2")
	r.check(t, 0, []string{"| aws | `ami-0aaaaaaa` | keep | current image |", "| aws | `ami-50d` | deprecate |", "| aws | `ami-90d-dep40` | delete |", "| aws | `ami-40d` | keep | among the newest 2 |"},
		[]string{"aws: newest image ami-40d is 40d old (max-age 30d)"})
	f.wantBuilds(t, 1, "first repave")
	if got := fake.callsWith("DeprecateImage"); !slices.Equal(got, []string{"DeprecateImage ami-50d replacement=ami-0aaaaaaa"}) {
		t.Fatalf("deprecated %v", got)
	}
	if got := fake.callsWith("DeleteImage"); !slices.Equal(got, []string{"DeleteImage ami-90d-dep40"}) {
		t.Fatalf("deleted %v", got)
	}
	// The cloud now lists the new image; run again at once: nothing to
	// build, nothing new deprecated or deleted.
	m := f.readManifest(t)
	fake.images = append(fake.images, cloud.Image{ID: "ami-0aaaaaaa", Created: time.Now(), ConfigHash: m.Clouds["aws"].ConfigHash})
	fake.calls = nil
	r = f.repave(t, t.Context(), fake, env, "--keep", "2")
	r.check(t, 0, []string{"| aws | `ami-50d` | keep | deprecated 0h ago; deleted after 30d |"}, []string{"is 0h old and current"})
	f.wantBuilds(t, 1, "second repave")
	fake.wantNoRetirements(t, "second repave")
}

func TestRepaveFailedBuildRetiresNothing(t *testing.T) {
	f, fake, env := repaveWorld(t)
	f.fail(t, 1, "Build 'amazon-ebs.sindri' errored: capacity")
	f.repave(t, t.Context(), fake, env).check(t, 1, []string{"nothing retired"}, []string{"aws: nothing retired: build failed"})
	fake.wantNoRetirements(t, "failed build")
}

func TestRepaveInterrupted(t *testing.T) {
	f, fake, env := repaveWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Interrupted while it lists images, before anything is built.
	fake.hook["ListImages"] = cancel
	f.repave(t, ctx, fake, env).check(t, 1, nil, nil)
	fake.wantNoRetirements(t, "interrupted repave")
}

func TestRepaveKeepsDeployedImages(t *testing.T) {
	f, fake, env := repaveWorld(t)
	fake.instances = []cloud.Instance{{ID: "i-dev", ImageID: "ami-90d-dep40", Deployment: "build-test", State: "running"}}
	f.repave(t, t.Context(), fake, env).check(t, 0, []string{"| aws | `ami-90d-dep40` | keep | in use by a deployed instance |"}, nil)
	if got := fake.callsWith("DeleteImage"); len(got) != 0 {
		t.Fatalf("deleted %v", got)
	}
}

func TestRepaveDryRun(t *testing.T) {
	f, fake, env := repaveWorld(t)
	f.repave(t, t.Context(), fake, env, "--dry-run").check(t, 0, []string{"would build", "would deprecate", "would delete"}, nil)
	f.wantBuilds(t, 0, "dry run")
	fake.wantNoRetirements(t, "dry run")
}

func TestRepaveBadInput(t *testing.T) {
	f, fake, env := repaveWorld(t)
	for _, args := range [][]string{{"--max-age", "monthly"}, {"--keep", "0"}, {"--delete-after", "x"}} {
		f.repave(t, t.Context(), fake, env, args...).check(t, 2, nil, nil)
	}
	if len(fake.calls) != 0 || len(f.buildCalls(t)) != 0 {
		t.Fatal("bad input started work")
	}
}

func TestRepaveRebuild(t *testing.T) {
	f, fake, env := repaveWorld(t)
	f.build(t, nil, "--dry-run").check(t, 0, nil, nil)
	fake.images = append(fake.images, cloud.Image{ID: "ami-fresh", Created: time.Now(), ConfigHash: f.readManifest(t).Clouds["aws"].ConfigHash})
	f.repave(t, t.Context(), fake, env).check(t, 0, nil, []string{"is 0h old and current"})
	f.wantBuilds(t, 0, "nothing due")
	f.repave(t, t.Context(), fake, env, "--rebuild").check(t, 0, nil, []string{"--rebuild: building although"})
	f.wantBuilds(t, 1, "--rebuild")
}
