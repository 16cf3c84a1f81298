package azure_test

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/repave"
)

// builtImage stores a managed image as Azure returns one the rendered
// template made: the template's tags, CreatedTag among them, and no
// creation time of Azure's own (the Images spec has none).
func builtImage(f *azurefake.Server, name, hash string, built time.Time) string {
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
		t.Fatalf("ListImages order = %v, want newest first", ids(imgs))
	}
	d := repave.Retire(imgs, "", nil, repave.Policy{Keep: 1, DeleteAfter: 24 * time.Hour, Now: now})
	if len(d.Keep) != 1 || d.Keep[0].ID != newest {
		t.Errorf("kept %v, want only %s", ids(d.Keep), newest)
	}
	if len(d.Deprecate) != 2 {
		t.Errorf("deprecate %v, want the two older images", ids(d.Deprecate))
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

func ids(imgs []cloud.Image) []string {
	var out []string
	for _, im := range imgs {
		out = append(out, im.ID)
	}
	return out
}
