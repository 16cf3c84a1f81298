package azure_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
)

var t0 = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

func TestFindImage(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.SeedImage("sindri-old", "h1", t0)
	newest := f.SeedImage("sindri-new", "h1", t0.Add(time.Hour))
	f.SeedImage("sindri-other", "h2", t0.Add(2*time.Hour))
	// Same hash, but not ours: no managed-by tag.
	f.Put(azurefake.ID("Microsoft.Compute/images", "foreign"), map[string]any{
		"location": azurefake.Location, "tags": map[string]any{cloud.TagConfigHash: "h1"},
	}, t0.Add(3*time.Hour))
	// Ours, same hash, another location.
	f.Put(azurefake.ID("Microsoft.Compute/images", "elsewhere"), map[string]any{
		"location": "eastus", "tags": map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "h1"},
	}, t0.Add(4*time.Hour))

	tests := []struct {
		name, hash, want string
	}{
		{name: "hit picks the newest", hash: "h1", want: newest},
		{name: "other hash", hash: "h2", want: azurefake.ID("Microsoft.Compute/images", "sindri-other")},
		{name: "miss", hash: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := c.FindImage(t.Context(), cfg, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if img != nil {
					t.Fatalf("found %+v, want none", img)
				}
				return
			}
			if img == nil || img.ID != tc.want || img.ConfigHash != tc.hash {
				t.Fatalf("found %+v, want %s", img, tc.want)
			}
		})
	}
}

func TestListAndGetImages(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	a := f.SeedImage("sindri-a", "ha", t0)
	b := f.SeedImage("sindri-b", "hb", t0.Add(time.Hour))
	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].ID != b || imgs[1].ID != a {
		t.Fatalf("ListImages = %+v, want b then a", imgs)
	}
	got := imgs[0]
	if !got.Created.Equal(t0.Add(time.Hour)) || got.State != "available" || got.SindriVersion != "3.0.1" ||
		got.ConfigHash != "hb" || got.Region != azurefake.Location || got.Name != "sindri-b" || !got.Deprecated.IsZero() {
		t.Errorf("image fields: %+v", got)
	}

	img, err := c.GetImage(t.Context(), cfg, a)
	if err != nil || img.ID != a || img.ConfigHash != "ha" {
		t.Fatalf("GetImage = %+v, %v", img, err)
	}
	_, err = c.GetImage(t.Context(), cfg, azurefake.ID("Microsoft.Compute/images", "missing"))
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("GetImage(missing) = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "ResourceNotFound") || !strings.Contains(err.Error(), "request id fa4e") {
		t.Errorf("error lacks Azure's code or request id: %v", err)
	}
	if _, err := c.GetImage(t.Context(), cfg, "not-an-id"); err == nil {
		t.Error("GetImage accepted a malformed ID")
	}
}

func TestDeleteImage(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	id := f.SeedImage("sindri-a", "ha", t0)
	for i := range 2 { // the second delete finds it gone and succeeds
		if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	if live := f.Live(); len(live) != 0 {
		t.Errorf("left behind: %+v", live)
	}
}

func TestDeprecateManagedImage(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	id := f.SeedImage("sindri-a", "ha", t0)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{At: at}); err != nil {
		t.Fatal(err)
	}
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil {
		t.Fatal(err)
	}
	if !img.Deprecated.Equal(at) || img.ConfigHash != "ha" {
		t.Errorf("after deprecate: %+v (the other tags must survive the PATCH)", img)
	}
}

func TestGalleryImages(t *testing.T) {
	c, f, cfg := setup(t, galleryConfig)
	managed := f.SeedImage("sindri-a", "ha", t0)
	versions := "Microsoft.Compute/galleries/sindri_gallery/images/sindri-dev/versions"
	ours := map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "ha"}
	linked := azurefake.ID(versions, "1.0.0")
	f.Put(linked, map[string]any{"location": azurefake.Location, "tags": ours, "properties": map[string]any{
		"storageProfile": map[string]any{"source": map[string]any{"id": managed}},
	}}, t0)
	alone := azurefake.ID(versions, "0.9.0")
	f.Put(alone, map[string]any{"location": azurefake.Location, "tags": map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "h0"}}, t0.Add(-time.Hour))

	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].ID != managed || imgs[0].Extra["gallery_image_version_id"] != linked || imgs[1].ID != alone {
		t.Fatalf("ListImages = %+v", imgs)
	}
	img, err := c.FindImage(t.Context(), cfg, "h0")
	if err != nil || img == nil || img.ID != alone || img.Extra["gallery_image_version_id"] != alone {
		t.Fatalf("FindImage(h0) = %+v, %v", img, err)
	}

	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := c.DeprecateImage(t.Context(), cfg, linked, cloud.Deprecation{At: at}); err != nil {
		t.Fatal(err)
	}
	pp := f.Get(linked)["properties"].(map[string]any)["publishingProfile"].(map[string]any)
	if pp["excludeFromLatest"] != true || pp["endOfLifeDate"] != "2026-03-01T00:00:00Z" {
		t.Errorf("publishingProfile = %v", pp)
	}
	got, err := c.GetImage(t.Context(), cfg, linked)
	if err != nil || !got.Deprecated.Equal(at) {
		t.Errorf("GetImage = %+v, %v", got, err)
	}
	for range 2 {
		if err := c.DeleteImage(t.Context(), cfg, alone); err != nil {
			t.Fatal(err)
		}
	}
	if f.Get(alone) != nil || f.Get(linked) == nil {
		t.Error("deleted the wrong gallery version")
	}
}
