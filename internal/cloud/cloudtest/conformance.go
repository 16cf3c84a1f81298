package cloudtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Harness is one target made ready for the conformance suite: a Target
// pointed at its test double (through the cloud.Env seam, never the
// process environment) with a Tuning small enough that retries and hangs
// take milliseconds, and a config with the target's block.
type Harness struct {
	Target cloud.Target
	Config *config.Config
	// Fake is the target's wire-level test double; nil for a target with
	// no API (qemu), whose fault tests are then skipped.
	Fake Fake
	// SeedImage and SeedLeftover seed the target's state; for a target
	// with a Fake they default to the Fake's.
	SeedImage    func(name, configHash string, created time.Time) string
	SeedLeftover func(kind, runID string, created time.Time) string
	// Launch, when set, is the LaunchRequest template the suite launches
	// with (ImageID and RunID are filled in); nil skips launch tests.
	Launch *cloud.LaunchRequest
}

// Conformance runs the contract every target keeps, the same tests for
// every cloud: images list, deprecate and delete; the build cache;
// launch and terminate; sweep; retries on throttling and 5xx; bounded
// hangs; cancellation. What a target answers ErrNotSupported for is
// skipped with that reason; anything else it must do exactly.
func Conformance(t *testing.T, mk func(t *testing.T) Harness) {
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"ImagesListNewestFirst", imagesListNewestFirst},
		{"ImagesDeprecateThenDelete", imagesDeprecateThenDelete},
		{"CacheFindsTheImageByConfigHash", cacheFindsImage},
		{"LaunchThenTerminate", launchThenTerminate},
		{"SweepDeletesOnlyTheRunsLeftovers", sweepDeletesOnlyTheRun},
		{"RetriesThrottlingAnd5xx", retriesThrottlingAnd5xx},
		{"DoesNotRetryAClientError", doesNotRetryClientError},
		{"HangIsBoundedByTheCallTimeout", hangIsBounded},
		{"CancellationStopsTheCall", cancellationStops},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mk(t)
			if h.Fake != nil {
				if h.SeedImage == nil {
					h.SeedImage = h.Fake.SeedImage
				}
				if h.SeedLeftover == nil {
					h.SeedLeftover = h.Fake.SeedLeftover
				}
			}
			tc.run(t, h)
		})
	}
}

// skipUnsupported skips the test when err says the target cannot do it.
func skipUnsupported(t *testing.T, h Harness, err error, what string) {
	t.Helper()
	if !cloud.Supported(err) {
		t.Skipf("%s: %s is not supported (%v)", h.Target.Name(), what, err)
	}
}

func imagesListNewestFirst(t *testing.T, h Harness) {
	now := time.Now().UTC().Truncate(time.Second)
	older := h.SeedImage("sindri-older", "hash-older", now.Add(-48*time.Hour))
	newer := h.SeedImage("sindri-newer", "hash-newer", now.Add(-time.Hour))
	got, err := h.Target.ListImages(t.Context(), h.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ImageIDs(got), []string{newer, older}) {
		t.Fatalf("ListImages = %v, want newest first [%s %s]", ImageIDs(got), newer, older)
	}
	for _, im := range got {
		want := map[string]string{older: "hash-older", newer: "hash-newer"}[im.ID]
		if im.ConfigHash != want {
			t.Errorf("image %s has config hash %q, want %q", im.ID, im.ConfigHash, want)
		}
		if im.Created.IsZero() {
			t.Errorf("image %s has no creation time: repave would rebuild it on every run", im.ID)
		}
	}
}

func imagesDeprecateThenDelete(t *testing.T, h Harness) {
	ctx := t.Context()
	id := h.SeedImage("sindri-old", "hash-old", time.Now().Add(-72*time.Hour))
	if err := h.Target.DeprecateImage(ctx, h.Config, id, cloud.Deprecation{}); err != nil {
		t.Fatalf("deprecate: %v", err)
	}
	im, err := h.Target.GetImage(ctx, h.Config, id)
	if err != nil {
		t.Fatalf("get after deprecate: %v", err)
	}
	// "Now" may round up: EC2 refuses a deprecation time in the past, so
	// AWS sets the next whole minute at least a minute ahead.
	if !im.Retired(time.Now().Add(3 * time.Minute)) {
		t.Fatalf("image %s is not retired after DeprecateImage: %+v", id, im)
	}
	if err := h.Target.DeleteImage(ctx, h.Config, id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := h.Target.GetImage(ctx, h.Config, id); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("get after delete: err = %v, want ErrNotFound", err)
	}
	if err := h.Target.DeleteImage(ctx, h.Config, id); err != nil {
		t.Fatalf("deleting an image that is gone must succeed: %v", err)
	}
	if h.Fake != nil {
		for _, r := range h.Fake.Live() {
			if r.ID == id {
				t.Fatalf("the double still holds %s after delete: %+v", id, r)
			}
		}
	}
}

func cacheFindsImage(t *testing.T, h Harness) {
	now := time.Now()
	h.SeedImage("sindri-a", "hash-a", now.Add(-2*time.Hour))
	b := h.SeedImage("sindri-b", "hash-b", now.Add(-time.Hour))
	img, err := h.Target.FindImage(t.Context(), h.Config, "hash-b")
	if err != nil || img == nil || img.ID != b {
		t.Fatalf("FindImage(hash-b) = %+v, %v; want image %s", img, err, b)
	}
	img, err = h.Target.FindImage(t.Context(), h.Config, "hash-none")
	if err != nil || img != nil {
		t.Fatalf("FindImage(unknown) = %+v, %v; want no image and no error", img, err)
	}
}

func launchThenTerminate(t *testing.T, h Harness) {
	if h.Launch == nil {
		t.Skipf("%s: the harness has no launch request", h.Target.Name())
	}
	ctx := t.Context()
	req := *h.Launch
	req.Config = h.Config
	req.ImageID = h.SeedImage("sindri-launch", "hash-l", time.Now())
	req.RunID = "run-conformance"
	inst, err := h.Target.Launch(ctx, req)
	skipUnsupported(t, h, err, "launch")
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if inst.ID == "" || inst.Host == "" {
		t.Fatalf("launched instance has no ID or address: %+v", inst)
	}
	list, err := h.Target.ListInstances(ctx, h.Config, cloud.InstanceFilter{RunID: req.RunID})
	if cloud.Supported(err) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(list) != 1 || list[0].ID != inst.ID || !list[0].Temporary {
			t.Fatalf("ListInstances(run) = %+v, want the one temporary instance %s", list, inst.ID)
		}
	}
	if err := h.Target.Terminate(ctx, inst); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	if h.Fake != nil {
		for _, r := range h.Fake.Live() {
			if r.Kind == cloud.KindInstance {
				t.Fatalf("instance left after terminate: %+v", r)
			}
		}
	}
}

func sweepDeletesOnlyTheRun(t *testing.T, h Harness) {
	ctx := t.Context()
	old := time.Now().Add(-3 * time.Hour)
	_, err := h.Target.Leftovers(ctx, h.Config, cloud.SweepFilter{})
	skipUnsupported(t, h, err, "sweep")
	if h.SeedLeftover == nil {
		t.Skipf("%s: the harness cannot seed leftovers", h.Target.Name())
	}
	mine := []string{h.SeedLeftover(cloud.KindInstance, "run-dead", old), h.SeedLeftover(cloud.KindKeyPair, "run-dead", old)}
	other := h.SeedLeftover(cloud.KindInstance, "run-alive", old)
	got, err := h.Target.Leftovers(ctx, h.Config, cloud.SweepFilter{RunID: "run-dead"})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, r := range got {
		found = append(found, r.ID)
		if r.RunID != "run-dead" {
			t.Errorf("leftover %+v is not of run-dead", r)
		}
	}
	slices.Sort(found)
	slices.Sort(mine)
	if !slices.Equal(found, mine) {
		t.Fatalf("Leftovers(run-dead) = %v, want %v", found, mine)
	}
	for _, r := range got {
		if err := h.Target.DeleteResource(ctx, h.Config, r); err != nil {
			t.Fatalf("delete %s %s: %v", r.Kind, r.ID, err)
		}
		if err := h.Target.DeleteResource(ctx, h.Config, r); err != nil {
			t.Fatalf("deleting %s %s again must succeed: %v", r.Kind, r.ID, err)
		}
	}
	if h.Fake != nil {
		live := map[string]bool{}
		for _, r := range h.Fake.Live() {
			live[r.ID] = true
		}
		for _, id := range mine {
			if live[id] {
				t.Errorf("%s still exists after the sweep", id)
			}
		}
		if !live[other] {
			t.Errorf("the sweep of run-dead deleted %s of another run", other)
		}
	}
}

func needFake(t *testing.T, h Harness) Fake {
	t.Helper()
	if h.Fake == nil {
		t.Skipf("%s has no API to inject faults into", h.Target.Name())
	}
	return h.Fake
}

func retriesThrottlingAnd5xx(t *testing.T, h Harness) {
	f := needFake(t, h)
	id := h.SeedImage("sindri-r", "hash-r", time.Now())
	for _, status := range []int{429, 500, 503} {
		before := len(f.Requests())
		f.FailNext(status, 2)
		got, err := h.Target.ListImages(t.Context(), h.Config)
		if err != nil {
			t.Fatalf("after two %d answers: %v (want retried to success)", status, err)
		}
		// Both failures were answered and the call then went through: at
		// least three requests (a paged list may send more).
		if n := len(f.Requests()) - before; n < 3 {
			t.Fatalf("after two %d answers: %d requests, want the two failures retried: %v", status, n, f.Requests()[before:])
		}
		if !slices.Contains(ImageIDs(got), id) {
			t.Fatalf("after two %d answers: %v lacks %s", status, ImageIDs(got), id)
		}
	}
}

func doesNotRetryClientError(t *testing.T, h Harness) {
	f := needFake(t, h)
	before := len(f.Requests())
	f.FailNext(403, 1)
	if _, err := h.Target.ListImages(t.Context(), h.Config); err == nil {
		t.Fatal("ListImages succeeded through a 403")
	}
	if n := len(f.Requests()) - before; n != 1 {
		t.Fatalf("a 403 was sent %d times, want once (not retried): %v", n, f.Requests()[before:])
	}
}

func hangIsBounded(t *testing.T, h Harness) {
	f := needFake(t, h)
	id := h.SeedImage("sindri-h", "hash-h", time.Now())
	f.HangNext(1)
	// The harness's CallTimeout is small: the hung attempt is abandoned
	// and retried. The context below only keeps a broken client from
	// hanging the test run; it is far above any CallTimeout a harness sets.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got, err := h.Target.ListImages(ctx, h.Config)
	if err != nil {
		t.Fatalf("after one hung request: %v (want abandoned and retried)", err)
	}
	if !slices.Contains(ImageIDs(got), id) {
		t.Fatalf("after one hung request: %v lacks %s", ImageIDs(got), id)
	}
}

func cancellationStops(t *testing.T, h Harness) {
	f := needFake(t, h)
	f.HangNext(1)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := h.Target.ListImages(ctx, h.Config)
		errc <- err
	}()
	// Cancel once the request is in flight.
	for len(f.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a cancelled ListImages reported success")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ListImages did not return after its context was cancelled")
	}
}

// Tuning is what every harness gives its target: a call abandoned after
// 300ms, retries and polls in milliseconds.
var Tuning = cloud.Tuning{
	CallTimeout:  300 * time.Millisecond,
	Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
	PollInterval: time.Millisecond,
}

// InstanceDiskAsKeyPair seeds leftovers for a cloud whose runs make no key
// pairs but whose instance comes with a boot disk tagged like it (GCP,
// OCI): the suite's second leftover of a run is that disk, which the sweep
// lists beside the instance.
func InstanceDiskAsKeyPair(t *testing.T, f Fake) func(kind, runID string, created time.Time) string {
	return func(kind, runID string, created time.Time) string {
		if kind != cloud.KindKeyPair {
			return f.SeedLeftover(kind, runID, created)
		}
		for _, r := range f.Live() {
			if r.Kind == cloud.KindDisk && r.Tags[cloud.TagRunID] == runID {
				return r.ID
			}
		}
		t.Fatalf("harness: no instance of %s seeded before its key pair", runID)
		return ""
	}
}
