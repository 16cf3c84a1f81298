package azure

import (
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// Describe keeps both of an azure-arm artifact's IDs: the managed image
// and, when a gallery is configured, the gallery image version. Packer's
// manifest records only one, so the rest comes from the artifact's text
// (which has all the manifest has: parsed is not needed).
func (Cloud) Describe(run *cloud.BuildRun, art cloud.Artifact, _ *cloud.Image) *cloud.Image {
	fields := map[string]string{}
	for _, line := range strings.Split(art.String, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	img := &cloud.Image{ID: art.ID, Name: fields["ManagedImageName"], ConfigHash: run.Hash, Extra: map[string]string{}}
	if id := fields["ManagedImageId"]; id != "" {
		img.ID = id
		img.Extra["managed_image_id"] = id
	}
	if id := fields["ManagedImageSharedImageGalleryId"]; id != "" {
		img.Extra["gallery_image_version_id"] = id
		if img.ID == "" {
			img.ID = id
		}
	}
	if loc := fields["ManagedImageLocation"]; loc != "" {
		img.Regions = map[string]string{loc: img.ID}
	}
	if len(img.Extra) == 0 {
		img.Extra = nil
	}
	return img
}
