package oci

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// imageOCID is an image's OCID: ocid1.image.<realm>.[region][.future].<id>.
var imageOCID = regexp.MustCompile(`^ocid1\.image\.[a-z0-9]+(\.[a-z0-9-]*){1,2}\.[a-z0-9_-]+$`)

// ValidImageID checks an OCI image OCID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, imageOCID, "an OCI image OCID (ocid1.image.oc1.REGION.ID)")
}
