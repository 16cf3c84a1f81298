package alibaba_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestFindImage(t *testing.T) {
	ours := func(hash string) map[string]string {
		return map[string]string{"managed-by": "sindri-packer", "config-hash": hash, "sindri-version": "3.0.1"}
	}
	tests := []struct {
		name   string
		images []alibabafake.ImageSpec
		want   string // the name of the image found, "" for none
	}{
		{"miss on an empty account", nil, ""},
		{"hit", []alibabafake.ImageSpec{{Name: "a", Tags: ours("H"), Created: t0}}, "a"},
		{"newest of the hash wins", []alibabafake.ImageSpec{
			{Name: "old", Tags: ours("H"), Created: t0},
			{Name: "new", Tags: ours("H"), Created: t0.Add(time.Hour)},
			{Name: "older", Tags: ours("H"), Created: t0.Add(-time.Hour)},
		}, "new"},
		{"another hash is a miss", []alibabafake.ImageSpec{{Name: "x", Tags: ours("OTHER"), Created: t0}}, ""},
		{"the hash without our managed-by tag is a miss", []alibabafake.ImageSpec{
			{Name: "foreign", Tags: map[string]string{"config-hash": "H"}, Created: t0},
		}, ""},
		{"an image still being created is a miss", []alibabafake.ImageSpec{
			{Name: "creating", Tags: ours("H"), Status: "Creating", Created: t0.Add(time.Hour)},
			{Name: "ready", Tags: ours("H"), Created: t0},
		}, "ready"},
		{"another region is a miss", []alibabafake.ImageSpec{{Name: "far", Tags: ours("H"), Region: "cn-shanghai", Created: t0}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ali, cfg := start(t)
			for _, s := range tc.images {
				f.AddImage(s)
			}
			got, err := ali.FindImage(t.Context(), cfg, "H")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if got != nil {
					t.Fatalf("found %+v, want none", got)
				}
				return
			}
			if got == nil || got.Name != tc.want {
				t.Fatalf("found %+v, want %s", got, tc.want)
			}
			if got.ConfigHash != "H" || got.Region != alibabafake.Region || got.Regions[alibabafake.Region] != got.ID || got.State != "available" {
				t.Errorf("image fields: %+v", got)
			}
			// The request asks ECS for our own images with both tags.
			p := f.Params("DescribeImages")[0]
			if p.Get("ImageOwnerAlias") != "self" || p.Get("Status") != "Available" || p.Get("RegionId") != alibabafake.Region {
				t.Errorf("DescribeImages params = %v", p)
			}
		})
	}
}

func TestListImages(t *testing.T) {
	f, ali, cfg := start(t)
	a := f.SeedImage("sindri-a", "HA", t0)
	b := f.SeedImage("sindri-b", "HB", t0.Add(2*time.Hour))
	d := f.AddImage(alibabafake.ImageSpec{Name: "sindri-dep", Status: "Deprecated", Created: t0.Add(time.Hour), Tags: map[string]string{
		"managed-by": "sindri-packer", "config-hash": "HD", "sindri-version": "3.0.0", "sindri-deprecated": "2025-03-02T00:00:00Z",
	}})
	f.AddImage(alibabafake.ImageSpec{Name: "not-ours", Created: t0.Add(3 * time.Hour)})

	got, err := ali.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := cloudtest.ImageIDs(got)
	if want := []string{b, d, a}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v (newest first, only ours)", ids, want)
	}
	if im := got[2]; im.Name != "sindri-a" || !im.Created.Equal(t0) || im.State != "available" || im.SindriVersion != "3.0.1" || im.ConfigHash != "HA" || !im.Deprecated.IsZero() {
		t.Errorf("image a = %+v", im)
	}
	if im := got[1]; im.State != "deprecated" || !im.Deprecated.Equal(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("deprecated image = %+v", im)
	}
}

func TestListImagesPages(t *testing.T) {
	f, ali, cfg := start(t)
	for i := range 130 {
		f.SeedImage(fmt.Sprintf("sindri-%03d", i), "H", t0.Add(time.Duration(i)*time.Minute))
	}
	got, err := ali.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 || got[0].Name != "sindri-129" || got[129].Name != "sindri-000" {
		t.Errorf("got %d images, first %s", len(got), got[0].Name)
	}
	if n := count(f, "DescribeImages"); n != 2 {
		t.Errorf("%d DescribeImages pages, want 2", n)
	}
}

func TestGetImage(t *testing.T) {
	f, ali, cfg := start(t)
	id := f.SeedImage("sindri-a", "HA", t0)
	got, err := ali.GetImage(t.Context(), cfg, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Name != "sindri-a" || got.ConfigHash != "HA" {
		t.Errorf("got %+v", got)
	}
	for _, missing := range []string{"m-missing", ""} {
		if _, err := ali.GetImage(t.Context(), cfg, missing); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("GetImage(%q) = %v, want ErrNotFound", missing, err)
		}
	}
}

func TestDeleteImage(t *testing.T) {
	f, ali, cfg := start(t)
	id := f.SeedImage("sindri-a", "HA", t0)
	keep := f.SeedImage("sindri-b", "HB", t0)
	if err := ali.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Fatal(err)
	}
	if p := f.Params("DeleteImage")[0]; p.Get("ImageId") != id || p.Get("Force") != "true" {
		t.Errorf("DeleteImage params = %v", p)
	}
	if n := count(f, "DeleteSnapshot"); n != 1 {
		t.Errorf("%d DeleteSnapshot calls, want 1", n)
	}
	live := f.Live()
	if len(live) != 2 || live[0].ID != keep {
		t.Errorf("live after delete = %+v, want only image %s and its snapshot", live, keep)
	}
	// Idempotent: the image is gone, so is its snapshot.
	if err := ali.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if n := count(f, "DeleteImage"); n != 1 {
		t.Errorf("second delete called DeleteImage again (%d calls)", n)
	}
}

func TestDeleteImageGoneBetweenCalls(t *testing.T) {
	f, ali, cfg := start(t)
	id := f.SeedImage("sindri-a", "HA", t0)
	// Someone else deletes it between our look and our delete.
	fail(f, "DeleteImage", 404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	fail(f, "DeleteSnapshot", 404, "InvalidSnapshotId.NotFound", "The specified SnapshotId does not exist.")
	if err := ali.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Errorf("delete of a vanishing image: %v", err)
	}
}

func TestDeprecateImage(t *testing.T) {
	f, ali, cfg := start(t)
	now := f.SeedImage("sindri-now", "H1", t0)
	later := f.SeedImage("sindri-later", "H2", t0)
	at := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	if err := ali.DeprecateImage(t.Context(), cfg, now, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if err := ali.DeprecateImage(t.Context(), cfg, later, cloud.Deprecation{At: at}); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range f.Live() {
		states[r.ID] = r.State
		if r.Kind == alibabafake.KindImage && r.Tags["sindri-deprecated"] == "" {
			t.Errorf("image %s has no sindri-deprecated tag: %v", r.ID, r.Tags)
		}
	}
	if states[now] != "Deprecated" || states[later] != "Available" {
		t.Errorf("states now=%s later=%s: want Deprecated now, Available until the time comes", states[now], states[later])
	}
	if n := count(f, "ModifyImageAttribute"); n != 1 {
		t.Errorf("%d ModifyImageAttribute calls, want 1", n)
	}
	if p := f.Params("TagResources")[1]; p.Get("ResourceType") != "image" || p.Get("ResourceId.1") != later ||
		p.Get("Tag.1.Key") != "sindri-deprecated" || p.Get("Tag.1.Value") != at.Format(time.RFC3339) {
		t.Errorf("TagResources params = %v", p)
	}
	got, err := ali.GetImage(t.Context(), cfg, later)
	if err != nil || !got.Deprecated.Equal(at) {
		t.Errorf("GetImage = %+v, %v; want Deprecated %v", got, err, at)
	}
	if err := ali.DeprecateImage(t.Context(), cfg, "m-missing", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("deprecate missing = %v, want ErrNotFound", err)
	}
}

// A deprecated image is no cache hit, even with the hash.
func TestFindImageSkipsDeprecated(t *testing.T) {
	f, ali, cfg := start(t)
	cloudtest.FindImageSkipsDeprecated(t, ali, cfg, "H", f.SeedImage)
}
