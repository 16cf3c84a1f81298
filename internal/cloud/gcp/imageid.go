package gcp

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// gcpImageID is an image name, or its resource path or self link (the
// compute API's URL, or a test server's).
var gcpImageID = regexp.MustCompile(`^((https?://[a-z0-9.-]+(:[0-9]{1,5})?/compute/(v1|beta)/)?projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/global/images/(family/)?)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidImageID checks a GCP image name or self link.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, gcpImageID, "a GCP image name (lower-case letters, digits and -, at most 63) or image self link")
}
