package oci_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

func TestFindImage(t *testing.T) {
	tests := []struct {
		name  string
		seed  func(f *ocifake.Fake) string // returns the expected ID ("" = none)
		hash  string
		wantN string
	}{
		{name: "hit", hash: "h1", seed: func(f *ocifake.Fake) string {
			return f.SeedImage("sindri-a", "h1", t0)
		}},
		{name: "ignores images without our tag", hash: "h1", seed: func(f *ocifake.Fake) string {
			f.AddImage("foreign", map[string]string{cloud.TagConfigHash: "h1"}, t0, "AVAILABLE")
			f.AddImage("other-tool", map[string]string{cloud.TagManagedBy: "someone-else", cloud.TagConfigHash: "h1"}, t0, "AVAILABLE")
			return ""
		}},
		{name: "ignores another hash", hash: "h1", seed: func(f *ocifake.Fake) string {
			f.SeedImage("sindri-b", "h2", t0)
			return ""
		}},
		{name: "picks the newest across pages", hash: "h1", seed: func(f *ocifake.Fake) string {
			f.SeedImage("old", "h1", t0)
			f.SeedImage("other", "h2", t0.Add(3*time.Hour))
			want := f.SeedImage("new", "h1", t0.Add(2*time.Hour))
			f.SeedImage("older", "h1", t0.Add(-time.Hour))
			f.SeedImage("x", "h3", t0.Add(4*time.Hour))
			return want
		}},
		{name: "ignores images not yet available", hash: "h1", seed: func(f *ocifake.Fake) string {
			want := f.SeedImage("done", "h1", t0)
			f.AddImage("building", ourTags("h1"), t0.Add(time.Hour), "PROVISIONING")
			return want
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c, cfg := setup(t)
			want := tc.seed(f)
			img := cloudtest.FindImage(t, c, cfg, tc.hash, want)
			if img != nil && (img.ConfigHash != tc.hash || img.Regions[ocifake.Region] != want) {
				t.Errorf("FindImage = %+v: hash or regions wrong", img)
			}
		})
	}
}

func TestListImages(t *testing.T) {
	f, c, cfg := setup(t)
	a := f.SeedImage("sindri-a", "h1", t0)
	b := f.SeedImage("sindri-b", "h2", t0.Add(time.Hour))
	p := f.AddImage("sindri-c", ourTags("h3"), t0.Add(2*time.Hour), "PROVISIONING")
	f.AddImage("platform", nil, t0.Add(3*time.Hour), "AVAILABLE")

	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := cloudtest.ImageIDs(imgs)
	if want := []string{p, b, a}; !slices.Equal(ids, want) {
		t.Fatalf("ListImages IDs = %v, want %v (ours, newest first)", ids, want)
	}
	got := imgs[1]
	if got.Name != "sindri-b" || got.ConfigHash != "h2" || got.SindriVersion != "3.0.1" || got.State != "available" ||
		got.Region != ocifake.Region || !got.Created.Equal(t0.Add(time.Hour)) || !got.Deprecated.IsZero() {
		t.Errorf("ListImages[1] = %+v", got)
	}
	if imgs[0].State != "provisioning" {
		t.Errorf("state = %q, want provisioning", imgs[0].State)
	}
}

func TestGetImage(t *testing.T) {
	f, c, cfg := setup(t)
	a := f.SeedImage("sindri-a", "h1", t0)
	img, err := c.GetImage(t.Context(), cfg, a)
	if err != nil || img.ID != a || img.ConfigHash != "h1" {
		t.Fatalf("GetImage = %+v, %v", img, err)
	}
	_, err = c.GetImage(t.Context(), cfg, "ocid1.image.oc1.iad.missing")
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("GetImage(missing) error = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "NotAuthorizedOrNotFound") || !strings.Contains(err.Error(), "fake-opc-request-") {
		t.Errorf("not-found error lacks the code or request id: %v", err)
	}
}

func TestDeleteImage(t *testing.T) {
	f, c, cfg := setup(t)
	id := f.SeedImage("sindri-a", "h1", t0)
	keep := f.SeedImage("sindri-b", "h2", t0)
	foreign := f.AddImage("platform", map[string]string{"team": "x"}, t0, "AVAILABLE")
	for i := range 2 { // the second delete finds it gone: still success
		if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
			t.Fatalf("DeleteImage #%d: %v", i+1, err)
		}
	}
	if err := c.DeleteImage(t.Context(), cfg, foreign); err == nil || !strings.Contains(err.Error(), "not managed by") {
		t.Errorf("DeleteImage(foreign) = %v, want a refusal", err)
	}
	var live []string
	for _, r := range f.Live() {
		live = append(live, r.ID)
	}
	if want := []string{keep, foreign}; !sameSet(live, want) {
		t.Errorf("Live = %v, want %v", live, want)
	}
	if n := count(f.Requests(), "DELETE /20160918/images/"); n != 1 {
		t.Errorf("%d DeleteImage calls, want 1", n)
	}
}

func TestDeprecateImage(t *testing.T) {
	f, c, cfg := setup(t)
	id := f.AddImage("sindri-a", map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "h1", "Team": "platform"}, t0, "AVAILABLE")
	at := time.Date(2025, 4, 1, 8, 30, 0, 0, time.UTC)
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{At: at, Replacement: "ocid1.image.oc1.iad.new"}); err != nil {
		t.Fatal(err)
	}
	tags := f.ImageTags(id)
	if tags[cloud.TagDeprecated] != "2025-04-01T08:30:00Z" || tags["Team"] != "platform" || tags[cloud.TagConfigHash] != "h1" {
		t.Errorf("tags after deprecate = %v (the old tags must stay)", tags)
	}
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil || !img.Deprecated.Equal(at) {
		t.Errorf("GetImage Deprecated = %v, %v; want %v", img.Deprecated, err, at)
	}
	// The zero time means now.
	before := time.Now().Add(-time.Second)
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if img, _ := c.GetImage(t.Context(), cfg, id); img.Deprecated.Before(before) {
		t.Errorf("Deprecated = %v, want about now", img.Deprecated)
	}
	if err := c.DeprecateImage(t.Context(), cfg, "ocid1.image.oc1.iad.missing", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("DeprecateImage(missing) = %v, want ErrNotFound", err)
	}
	foreign := f.AddImage("platform", nil, t0, "AVAILABLE")
	if err := c.DeprecateImage(t.Context(), cfg, foreign, cloud.Deprecation{}); err == nil {
		t.Error("DeprecateImage of a foreign image succeeded")
	}
}

// A deprecated image is no cache hit, even with the hash.
func TestFindImageSkipsDeprecated(t *testing.T) {
	f, c, cfg := setup(t)
	cloudtest.FindImageSkipsDeprecated(t, c, cfg, "h1", f.SeedImage)
}
