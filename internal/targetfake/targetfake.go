// Package targetfake holds a piece of TEST DOUBLES of cloud.Target that
// the tests of several packages (cli, pipeline) embed. Only tests import
// it.
package targetfake

import (
	"context"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// NoInventory is a TEST DOUBLE's image inventory and test instances: it
// has none. ListImages, GetImage, DeleteImage, DeprecateImage, Launch and
// Terminate all answer cloud.ErrNotSupported. Embed it beside cloud.Base.
type NoInventory struct{}

func (NoInventory) ListImages(context.Context, *config.Config) ([]cloud.Image, error) {
	return nil, cloud.ErrNotSupported
}

func (NoInventory) GetImage(context.Context, *config.Config, string) (*cloud.Image, error) {
	return nil, cloud.ErrNotSupported
}

func (NoInventory) DeleteImage(context.Context, *config.Config, string) error {
	return cloud.ErrNotSupported
}

func (NoInventory) DeprecateImage(context.Context, *config.Config, string, cloud.Deprecation) error {
	return cloud.ErrNotSupported
}

func (NoInventory) Launch(context.Context, cloud.LaunchRequest) (*cloud.Instance, error) {
	return nil, cloud.ErrNotSupported
}

func (NoInventory) Terminate(context.Context, *cloud.Instance) error { return cloud.ErrNotSupported }
