package azure

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// azureImageID is a managed image's resource ID or a gallery image
// version's, the two IDs azure-arm builds produce.
var azureImageID = regexp.MustCompile(`(?i)^/subscriptions/[a-z0-9-]{1,64}/resourceGroups/[a-z0-9._()-]{1,90}/providers/Microsoft\.Compute/` +
	`(images/[a-z0-9][a-z0-9._-]{0,79}|galleries/[a-z0-9][a-z0-9._]{0,79}/images/[a-z0-9][a-z0-9._-]{0,79}/versions/[0-9]+\.[0-9]+\.[0-9]+)$`)

// ValidImageID checks an Azure managed image or gallery image version ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, azureImageID, "an Azure image ID (/subscriptions/.../providers/Microsoft.Compute/images/NAME or .../galleries/G/images/D/versions/X.Y.Z)")
}
