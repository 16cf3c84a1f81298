package azure_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/repave"
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
			img := cloudtest.FindImage(t, c, cfg, tc.hash, tc.want)
			if img != nil && img.ConfigHash != tc.hash {
				t.Fatalf("found %+v, want %s", img, tc.want)
			}
		})
	}
}

func TestListImages(t *testing.T) {
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
}

func TestGetImage(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	a := f.SeedImage("sindri-a", "ha", t0)
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

func TestDeprecateImage(t *testing.T) {
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

// A deprecated image is no cache hit, even with the hash.
func TestFindImageSkipsDeprecated(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	cloudtest.FindImageSkipsDeprecated(t, c, cfg, "h1", f.SeedImage)
}

// builtImage stores a managed image as Azure returns one the rendered
// template made: the template's tags, CreatedTag among them, and no
// creation time of Azure's own (the Images spec has none).
func builtImage(f *azurefake.Fake, name, hash string, built time.Time) string {
	id := azurefake.ID("Microsoft.Compute/images", name)
	f.Put(id, map[string]any{
		"location": azurefake.Location,
		"tags": map[string]any{
			cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: hash, cloud.TagSindriVersion: "3.0.1",
			cloud.TagRunID: "build-run", cloud.TagTemporary: cloud.Temporary,
			azure.CreatedTag: built.UTC().Format(time.RFC3339),
		},
		"properties": map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"osType": "Linux", "osState": "Generalized"}}},
	}, time.Now())
	return id
}

// A scheduled repave must not rebuild when the newest managed image is
// younger than max-age: that needs the image's build time, which real
// Azure reports nowhere but in the tag the build writes.
func TestRepaveSeesAFreshManagedImageAsFresh(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	now := time.Now().UTC().Truncate(time.Second)
	if raw := f.Get(builtImage(f, "sindri-dev-1", "h1", now.Add(-48*time.Hour))); raw["systemData"] != nil {
		t.Fatalf("the double invents systemData: %v", raw["systemData"])
	}
	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || !imgs[0].Created.Equal(now.Add(-48*time.Hour)) {
		t.Fatalf("ListImages = %+v, want one image built 48h ago", imgs)
	}
	if build, why := repave.NeedsBuild(imgs, "h1", repave.Policy{MaxAge: 30 * 24 * time.Hour, Keep: 2, Now: now}); build {
		t.Errorf("repave rebuilds a 2-day-old image: %s", why)
	}
}

// Keep-newest-N must keep the most recently built images, whatever order
// the list comes in (Azure lists by name here; builds named so that name
// order is oldest first).
func TestRepaveKeepsTheNewestManagedImages(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	now := time.Now().UTC().Truncate(time.Second)
	oldest := builtImage(f, "sindri-dev-a", "h0", now.Add(-90*24*time.Hour))
	middle := builtImage(f, "sindri-dev-b", "h1", now.Add(-60*24*time.Hour))
	newest := builtImage(f, "sindri-dev-c", "h2", now.Add(-24*time.Hour))
	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 3 || imgs[0].ID != newest || imgs[1].ID != middle || imgs[2].ID != oldest {
		t.Fatalf("ListImages order = %v, want newest first", cloudtest.ImageIDs(imgs))
	}
	d := repave.Retire(imgs, "", nil, repave.Policy{Keep: 1, DeleteAfter: 24 * time.Hour, Now: now})
	if len(d.Keep) != 1 || d.Keep[0].ID != newest {
		t.Errorf("kept %v, want only %s", cloudtest.ImageIDs(d.Keep), newest)
	}
	if len(d.Deprecate) != 2 {
		t.Errorf("deprecate %v, want the two older images", cloudtest.ImageIDs(d.Deprecate))
	}
	// The cache finds the newest image of a hash by the same dates.
	second := builtImage(f, "sindri-dev-0", "h2", now.Add(-10*24*time.Hour))
	if img, err := c.FindImage(t.Context(), cfg, "h2"); err != nil || img == nil || img.ID != newest {
		t.Errorf("FindImage(h2) = %+v, %v; want %s, not the older %s", img, err, newest, second)
	}
}

// Images built before the template wrote CreatedTag are dated by the
// build time their name ends with; an image dated neither way is zero.
func TestManagedImageWithoutTagDatedByName(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	ours := map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "h"}
	legacy := azurefake.ID("Microsoft.Compute/images", "sindri-dev-20260105143000")
	f.Put(legacy, map[string]any{"location": azurefake.Location, "tags": ours}, time.Now())
	f.Put(azurefake.ID("Microsoft.Compute/images", "hand-made"), map[string]any{"location": azurefake.Location, "tags": ours}, time.Now())
	img, err := c.GetImage(t.Context(), cfg, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC); !img.Created.Equal(want) {
		t.Errorf("Created = %s, want %s from the name", img.Created, want)
	}
	img, err = c.GetImage(t.Context(), cfg, azurefake.ID("Microsoft.Compute/images", "hand-made"))
	if err != nil || !img.Created.IsZero() {
		t.Errorf("hand-made image: %+v, %v; want no creation time", img, err)
	}
}

// A gallery image version is dated by publishingProfile.publishedDate,
// which the Gallery spec defines (read-only) and Azure returns.
func TestGalleryVersionDatedByPublishedDate(t *testing.T) {
	c, f, cfg := setup(t, galleryConfig)
	id := azurefake.ID("Microsoft.Compute/galleries/sindri_gallery/images/sindri-dev/versions", "1.0.5")
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	f.Put(id, map[string]any{"location": azurefake.Location, "tags": map[string]any{cloud.TagManagedBy: cloud.ManagedBy}}, at)
	raw := f.Get(id)
	if raw["systemData"] != nil {
		t.Errorf("the double invents systemData: %v", raw["systemData"])
	}
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil || !img.Created.Equal(at) {
		t.Errorf("GetImage = %+v, %v; want created %s", img, err, at)
	}
}

// Azure refuses to delete a managed image while a gallery version made
// from it exists (the double ends the delete OperationNotAllowed, found
// by the real plugin's gallery build): ListImages shows the two as one
// image, and DeleteImage removes the versions first, then the image.
func TestDeleteImageDeletesItsGalleryVersionsFirst(t *testing.T) {
	c, f, cfg := setup(t, galleryConfig)
	img := f.SeedImage("sindri-a", "h1", time.Now())
	v := azurefake.ID("Microsoft.Compute/galleries/sindri_gallery/images/sindri-dev/versions", "1.0.7")
	f.Put(v, map[string]any{"location": azurefake.Location, "tags": map[string]any{cloud.TagManagedBy: cloud.ManagedBy},
		"properties": map[string]any{"storageProfile": map[string]any{"source": map[string]any{"id": img}}}}, time.Now())
	if err := c.DeleteImage(t.Context(), cfg, img); err != nil {
		t.Fatal(err)
	}
	if f.Get(img) != nil || f.Get(v) != nil {
		t.Errorf("after DeleteImage: image left %v, version left %v", f.Get(img) != nil, f.Get(v) != nil)
	}
}
