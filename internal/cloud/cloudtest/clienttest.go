package cloudtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// The plumbing the client tests of the cloud packages share: the steps
// every cloud's images, sweep and client tests take the same way against
// its double, with each cloud's own seeding and checks around them.

// ImageIDs returns the IDs of imgs, in order.
func ImageIDs(imgs []cloud.Image) []string {
	out := make([]string, len(imgs))
	for i, im := range imgs {
		out[i] = im.ID
	}
	return out
}

// InstanceIDs returns the IDs of insts, in order.
func InstanceIDs(insts []cloud.Instance) []string {
	out := make([]string, len(insts))
	for i, in := range insts {
		out[i] = in.ID
	}
	return out
}

// EnvOver is base with the KEY=value entries of over taking precedence.
func EnvOver(base cloud.Env, over ...string) cloud.Env {
	o := cloud.EnvList(over)
	return func(key string) (string, bool) {
		if v, ok := o(key); ok {
			return v, true
		}
		return base(key)
	}
}

// FindImage calls c.FindImage for hash and fails the test on an error, or
// unless it found the image want (by ID), or no image when want is empty.
// It returns the image found (nil for none).
func FindImage(t *testing.T, c cloud.Target, cfg *config.Config, hash, want string) *cloud.Image {
	t.Helper()
	img, err := c.FindImage(t.Context(), cfg, hash)
	if err != nil {
		t.Fatal(err)
	}
	if want == "" {
		if img != nil {
			t.Fatalf("FindImage(%s) = %+v, want none", hash, img)
		}
		return nil
	}
	if img == nil || img.ID != want {
		t.Fatalf("FindImage(%s) = %+v, want %s", hash, img, want)
	}
	return img
}

// FindImageSkipsDeprecated: the image seed makes with hash is found by
// FindImage, and after DeprecateImage (now) it is no cache hit, even with
// the hash.
func FindImageSkipsDeprecated(t *testing.T, c cloud.Target, cfg *config.Config, hash string, seed func(name, hash string, created time.Time) string) {
	t.Helper()
	id := seed("sindri-a", hash, time.Now().Add(-time.Hour))
	if got, err := c.FindImage(t.Context(), cfg, hash); err != nil || got == nil || got.ID != id {
		t.Fatalf("before: %+v, %v; want %s", got, err, id)
	}
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.FindImage(t.Context(), cfg, hash); err != nil || got != nil {
		t.Fatalf("after deprecation: %+v, %v; want no image", got, err)
	}
}

// ListImagesGivesUp calls c.ListImages on a double whose requests keep
// failing or hang and fails the test unless it ends, within bound, with
// an error want accepts. It returns that error.
func ListImagesGivesUp(t *testing.T, c cloud.Target, cfg *config.Config, bound time.Duration, want func(error) bool) error {
	t.Helper()
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	if err == nil || !want(err) {
		t.Fatalf("ListImages = %v, not the error that ends its retries", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("took %v, want at most %v", d, bound)
	}
	return err
}

// ErrorSays accepts an error whose text holds every one of parts.
func ErrorSays(parts ...string) func(error) bool {
	return func(err error) bool {
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				return false
			}
		}
		return true
	}
}

// WantContains reports each of wants that text, what the test names, does
// not hold.
func WantContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}

// Temporaries lists, as "kind:ID", what f holds besides images and their
// snapshots: what a launch, a build or a sweep must not leave behind.
func Temporaries(f Fake) []string {
	var out []string
	for _, r := range f.Live() {
		if r.Kind != "image" && r.Kind != "snapshot" {
			out = append(out, r.Kind+":"+r.ID)
		}
	}
	return out
}

// LaunchFailsCleanly launches req on c, whose double f is set up to make
// the launch fail, and fails the test unless it fails with an error want
// accepts and leaves nothing temporary (Temporaries) behind. It returns
// the launch's error.
func LaunchFailsCleanly(ctx context.Context, t *testing.T, c cloud.Target, f Fake, req cloud.LaunchRequest, want func(error) bool) error {
	t.Helper()
	inst, err := c.Launch(ctx, req)
	if err == nil || !want(err) {
		t.Fatalf("Launch = %+v, %v; not the failure this test wants", inst, err)
	}
	if left := Temporaries(f); len(left) != 0 {
		t.Errorf("a failed launch left %v", left)
	}
	return err
}

// SweepAll lists the leftovers filter selects, failing the test on an
// error, and deletes each of them twice: the second time it is gone
// already, which must succeed too. It returns what it deleted.
func SweepAll(t *testing.T, c cloud.Target, cfg *config.Config, filter cloud.SweepFilter) []cloud.Resource {
	t.Helper()
	got, err := c.Leftovers(t.Context(), cfg, filter)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Fatalf("delete %s %s: %v", r.Kind, r.ID, err)
		}
	}
	// Gone already: success, for every kind.
	for _, r := range got {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Errorf("delete %s %s again: %v", r.Kind, r.ID, err)
		}
	}
	return got
}
