// Package targets assembles the list of build targets once, above the
// cloud packages (a registry inside package cloud would be an import cycle).
package targets

import (
	"fmt"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/qemu"
)

var all = []cloud.Builder{aws.Cloud{}, azure.Cloud{}, gcp.Cloud{}, oci.Cloud{}, alibaba.Cloud{}, qemu.Cloud{}}

// Builder returns the target of that name.
func Builder(name string) (cloud.Builder, error) {
	for _, b := range all {
		if b.Name() == name {
			return b, nil
		}
	}
	return nil, fmt.Errorf("unknown cloud %q", name)
}

// Builders returns every target, in config.Clouds order.
func Builders() []cloud.Builder { return append([]cloud.Builder(nil), all...) }

// ValidImageID checks id against the form of b's image IDs, or against
// cloud.PlainID for a target that does not say.
func ValidImageID(b cloud.Builder, id string) error {
	if c, ok := b.(cloud.ImageIDChecker); ok {
		return c.ValidImageID(id)
	}
	return cloud.PlainID(id)
}

// CheckImageID checks an image ID of the target called name.
func CheckImageID(name, id string) error {
	b, err := Builder(name)
	if err != nil {
		return err
	}
	return ValidImageID(b, id)
}
