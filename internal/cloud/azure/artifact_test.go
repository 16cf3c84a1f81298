package azure

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// artifactString is azure-arm's Artifact.String() for a managed image also
// published to a gallery (format of packer-plugin-azure v1.4.0).
const artifactString = `Azure.ResourceManagement.VMImage:

OSType: Linux
ManagedImageResourceGroupName: sindri-rg
ManagedImageName: sindri-dev-20261125
ManagedImageId: /subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125
ManagedImageLocation: westus2
ManagedImageSharedImageGalleryId: /subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/galleries/g/images/sindri-dev/versions/1.0.0
SharedImageGalleryResourceGroup: sindri-rg
`

func TestDescribeKeepsBothIDs(t *testing.T) {
	img := Cloud{}.Describe(&cloud.BuildRun{Hash: "h"}, cloud.Artifact{ID: "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125", String: artifactString}, nil)
	managed := "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125"
	if img.ID != managed || img.Extra["managed_image_id"] != managed {
		t.Errorf("managed image id: %+v", img)
	}
	if got := img.Extra["gallery_image_version_id"]; got != "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/galleries/g/images/sindri-dev/versions/1.0.0" {
		t.Errorf("gallery version id %q", got)
	}
	if img.Name != "sindri-dev-20261125" || img.Regions["westus2"] != managed || img.ConfigHash != "h" {
		t.Errorf("%+v", img)
	}
}

func TestDescribeGalleryOnly(t *testing.T) {
	s := "Azure.ResourceManagement.VMImage:\n\nOSType: Linux\nManagedImageSharedImageGalleryId: /g/v/1\n"
	img := Cloud{}.Describe(&cloud.BuildRun{}, cloud.Artifact{ID: "", String: s}, nil)
	if img.ID != "/g/v/1" || img.Extra["managed_image_id"] != "" {
		t.Errorf("%+v", img)
	}
	plain := Cloud{}.Describe(&cloud.BuildRun{}, cloud.Artifact{ID: "x"}, nil)
	if plain.ID != "x" || plain.Extra != nil {
		t.Errorf("%+v", plain)
	}
}
