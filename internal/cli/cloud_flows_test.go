package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// The whole flow against the aws target's wire-level test double: cache
// lookups, image tests on temporary instances, interruption and clean-up.
// westYAML builds in the fake's default region without copies.
const westYAML = `name: flow-test
provider: packer
packer:
  cloud: aws
  region: us-west-2
  build:
    sindri_version: 3.0.1
    name_prefix: sindri-dev
`

func westFixture(t *testing.T) buildFixture {
	t.Helper()
	f := newBuildFixture(t)
	mustWrite(t, f.config, westYAML, 0o644)
	return f
}

// temporaryLive is every live resource of the fake marked temporary.
func temporaryLive(fake cloudtest.Fake) []string {
	var out []string
	for _, r := range fake.Live() {
		if r.Tags[cloud.TagTemporary] == cloud.Temporary {
			out = append(out, r.Kind+" "+r.ID)
		}
	}
	return out
}

func liveIDs(fake cloudtest.Fake, kind string) []string {
	var out []string
	for _, r := range fake.Live() {
		if r.Kind == kind {
			out = append(out, r.ID)
		}
	}
	return out
}

func TestBuildCacheHitOnAWS(t *testing.T) {
	f := westFixture(t)
	f.build(t, nil, "--dry-run").check(t, 0, nil, nil)
	hash := f.readManifest(t).Clouds["aws"].ConfigHash
	f.aws.SeedImage("sindri-dev-other", "another-hash", time.Now())
	id := f.aws.SeedImage("sindri-dev-0", hash, time.Now().Add(-time.Hour))
	f.build(t, nil).check(t, 0, []string{"| aws | us-west-2 | `" + id + "` | cached |"}, []string{"cached: image " + id + " already carries config hash"})
	f.wantBuilds(t, 0, "cache hit")
	// A deprecated image with the hash is no cache hit.
	fake := awsfake.New(t)
	f.aws = fake
	fake.AddImage(awsfake.ImageSpec{Name: "sindri-dev-retired", Tags: awsfake.ImageTags(hash), Created: time.Now(), Deprecation: time.Now().Add(-time.Minute)})
	f.build(t, nil).check(t, 0, []string{"| built |"}, nil)
}

// An image that fails its test is deleted, so the next build cannot take
// it for the cached image; its test instance and security group are gone.
func TestBuildFailedImageTestOnAWS(t *testing.T) {
	f := westFixture(t)
	f.build(t, nil, "--dry-run").check(t, 0, nil, nil)
	hash := f.readManifest(t).Clouds["aws"].ConfigHash
	// What packer would have registered: the AMI with our tags.
	ami := f.aws.SeedImage("sindri-dev-1", hash, time.Now())
	mustWrite(t, filepath.Join(f.bin, "build.ami2"), ami+"\n", 0o644)
	// The instance reports 127.0.0.1:22, where nothing answers SSH: the
	// test fails after the boot timeout.
	r := f.buildTested(t, nil, "--rebuild", "--run-id", "run-fail", "--boot-timeout", "2s", "--ssh-from", "198.51.100.7/32")
	r.check(t, 1, []string{"image test failed"}, []string{"[aws] deleted the failed image " + ami})
	if got := liveIDs(f.aws, "image"); slices.Contains(got, ami) {
		t.Errorf("failed image %s still exists: %v", ami, got)
	}
	if got := temporaryLive(f.aws); len(got) != 0 {
		t.Errorf("the test left %v", got)
	}
	runs := f.aws.Calls("RunInstances")
	if len(runs) != 1 {
		t.Fatalf("RunInstances calls: %d", len(runs))
	}
	form := runs[0].Form.Encode()
	for _, want := range []string{"ImageId=" + ami, "sindri-run-id", "run-fail", "sindri-packer", "temporary"} {
		if !strings.Contains(form, want) {
			t.Errorf("RunInstances does not carry %q: %s", want, form)
		}
	}
	if ing := f.aws.Calls("AuthorizeSecurityGroupIngress"); len(ing) != 1 || !strings.Contains(ing[0].Form.Encode(), "198.51.100.7%2F32") || strings.Contains(ing[0].Form.Encode(), "0.0.0.0") {
		t.Errorf("port 22 opened with %v, want to 198.51.100.7/32 only", ing)
	}
	if runs[0].Region != "us-west-2" {
		t.Errorf("launched in %s", runs[0].Region)
	}
}

// A build interrupted during its image test destroys the test instance;
// what a killed packer left behind (its instance, key pair and security
// group, tagged with the run) goes with cleanup; images stay.
func TestCancelledBuildThenCleanupOnAWS(t *testing.T) {
	f := westFixture(t)
	f.build(t, nil, "--dry-run").check(t, 0, nil, nil)
	hash := f.readManifest(t).Clouds["aws"].ConfigHash
	ami := f.aws.SeedImage("sindri-dev-1", hash+"-new", time.Now())
	mustWrite(t, filepath.Join(f.bin, "build.ami2"), ami+"\n", 0o644)
	kept := f.aws.SeedImage("sindri-dev-0", "older", time.Now().Add(-48*time.Hour))
	const run = "run-cancel"
	for _, kind := range []string{cloud.KindInstance, cloud.KindKeyPair, cloud.KindSecurityGroup, cloud.KindDisk} {
		f.aws.SeedLeftover(kind, run, time.Now().Add(-time.Minute))
	}
	other := f.aws.SeedLeftover(cloud.KindInstance, "another-run", time.Now())
	seeded := temporaryLive(f.aws)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// Interrupt once the test instance runs (as Ctrl-C would).
		for ctx.Err() == nil {
			if len(f.aws.Calls("RunInstances")) > 0 {
				time.Sleep(200 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	r := runCtxTargets(t, ctx, f, "build", "-c", f.config, "--manifest", f.manifest, "--rebuild", "--run-id", run)
	r.check(t, 1, []string{"cancelled"}, []string{"build interrupted: aws"})
	if m := f.readManifest(t); m.Clouds["aws"].Status != "cancelled" {
		t.Fatalf("status %s", m.Clouds["aws"].Status)
	}
	// The test instance and its security group are gone already: only
	// the seeded leftovers remain.
	if got := temporaryLive(f.aws); !slices.Equal(got, seeded) {
		t.Fatalf("after the interrupt, temporary resources:\n%v\nwant what was seeded:\n%v", got, seeded)
	}

	runTargets(t, f.targets(), nil, "cleanup", "-c", f.config, "--run-id", run).check(t, 0, nil, []string{"deleted instance", "deleted key-pair", "deleted security-group"})
	for _, r := range f.aws.Live() {
		if r.Tags[cloud.TagRunID] == run {
			t.Errorf("after cleanup --run-id %s: %s %s is left", run, r.Kind, r.ID)
		}
	}
	if !slices.Contains(liveIDs(f.aws, cloud.KindInstance), other) {
		t.Errorf("cleanup --run-id %s deleted the other run's instance %s", run, other)
	}
	images := liveIDs(f.aws, "image")
	if !slices.Contains(images, kept) || !slices.Contains(images, ami) {
		t.Fatalf("cleanup touched images: %v", images)
	}
}

// runCtxTargets runs the command line with ctx and the fixture's targets.
func runCtxTargets(t *testing.T, ctx context.Context, f buildFixture, args ...string) result {
	t.Helper()
	return runFull(t, ctx, f.targets(), "", []string{"PATH=" + f.bin}, args...)
}

// repave on the EC2 test double, twice in a row: the first run builds,
// deprecates beyond the newest two and deletes only the long-deprecated
// image; the second changes nothing.
func TestRepaveTwiceOnAWS(t *testing.T) {
	f := westFixture(t)
	f.build(t, nil, "--dry-run").check(t, 0, nil, nil)
	hash := f.readManifest(t).Clouds["aws"].ConfigHash
	old := func(name string, age time.Duration, deprecated time.Duration) string {
		s := awsfake.ImageSpec{Name: name, Tags: awsfake.ImageTags("old-hash"), Created: time.Now().Add(-age)}
		if deprecated > 0 {
			s.Deprecation = time.Now().Add(-deprecated)
		}
		return f.aws.AddImage(s)
	}
	day := 24 * time.Hour
	i40, i50 := old("sindri-dev-40", 40*day, 0), old("sindri-dev-50", 50*day, 0)
	gone := old("sindri-dev-90", 90*day, 40*day)
	mustWrite(t, filepath.Join(f.bin, "build.ami2"), "ami-0b0b0b0b\n", 0o644)

	repave := func() result {
		return runTargets(t, f.targets(), []string{"PATH=" + f.bin}, "repave", "-c", f.config, "--manifest", f.manifest, "--skip-tests", "--keep", "2")
	}
	repave().check(t, 0, []string{"| aws | `ami-0b0b0b0b` | keep | current image |", "| aws | `" + i50 + "` | deprecate |", "| aws | `" + gone + "` | delete |"}, nil)
	f.wantBuilds(t, 1, "first repave")
	// The AMI packer registered, as EC2 lists it from now on.
	built := f.aws.SeedImage("sindri-dev-new", hash, time.Now())
	images := liveIDs(f.aws, "image")
	for _, id := range []string{built, i40, i50} {
		if !slices.Contains(images, id) {
			t.Errorf("first repave deleted %s (live: %v)", id, images)
		}
	}
	if slices.Contains(images, gone) {
		t.Errorf("the long-deprecated %s is still there", gone)
	}
	if n := len(f.aws.Calls("EnableImageDeprecation")); n != 1 {
		t.Errorf("first repave: %d deprecations, want 1 (%s)", n, i50)
	}

	repave().check(t, 0, nil, []string{"and current"})
	f.wantBuilds(t, 1, "second repave")
	if got := liveIDs(f.aws, "image"); !slices.Equal(got, images) {
		t.Errorf("second repave changed the images: %v, was %v", got, images)
	}
	if n := len(f.aws.Calls("EnableImageDeprecation")); n != 1 {
		t.Errorf("second repave deprecated again (%d calls)", n)
	}
}
