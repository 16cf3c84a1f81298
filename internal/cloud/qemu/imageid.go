package qemu

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// imagePath is a local image's ID: the path of its qcow2 file (the store's
// absolute path, or the path image_id gives). Paths come from output_dir
// and image_id in sindri.yaml, so no quotes, $, ` or control characters.
var imagePath = regexp.MustCompile(`^[A-Za-z0-9._/+@:~, =-]+$`)

// ValidImageID checks a local image path.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, imagePath, "a local image path (letters, digits, space and . _ / + @ : ~ , = -)")
}
