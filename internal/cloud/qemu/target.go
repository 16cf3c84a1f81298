// Package qemu is the local target: a qcow2 image built with QEMU on this
// machine, no cloud account needed.
package qemu

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the qemu target. It calls no API: images live in the local
// store (images.go), test instances are local QEMU processes
// (instances.go). What it cannot do (stop, start or list instances, sweep,
// check credentials, pin a region) answers cloud.ErrNotSupported, from
// cloud.Base.
type Cloud struct {
	cloud.Base
	// Tuning is unused by qemu (no API calls, no remote state to poll);
	// it exists so that every target has the same shape.
	Tuning cloud.Tuning
	// Env is the target's environment seam (nil: the process environment).
	Env cloud.Env
}

// The target's whole surface, checked by the compiler.
var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "qemu" }

// Regions: a local image has no region; "local" stands for this machine.
func (Cloud) Regions(c *config.Config) (string, []string) {
	if c == nil || c.Packer.Clouds.QEMU == nil {
		return "", nil
	}
	return "", []string{"local"}
}

// Prerequisites: QEMU runs the build and the test instance, qemu-img makes
// the test's overlay, xorriso its cloud-init seed.
func (Cloud) Prerequisites() []cloud.Prerequisite {
	const hint = "apt-get install qemu-system-x86 qemu-utils xorriso"
	return []cloud.Prerequisite{
		{Tool: "qemu-system-x86_64", Hint: hint},
		{Tool: "qemu-img", Hint: hint},
		{Tool: "xorriso", Hint: hint},
	}
}

// Local: packer's artifact is a qcow2 file that Promote moves into the
// store once the image passed its test.
func (Cloud) Local() bool { return true }

// imagePath is a local image's ID: the path of its qcow2 file (the store's
// absolute path, or the path image_id gives). Paths come from output_dir
// and image_id in sindri.yaml, so no quotes, $, ` or control characters.
var imagePath = regexp.MustCompile(`^[A-Za-z0-9._/+@:~, =-]+$`)

// ValidImageID checks a local image path.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, imagePath, "a local image path (letters, digits, space and . _ / + @ : ~ , = -)")
}
