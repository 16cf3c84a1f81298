package azure_test

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const fakeConfig = `
packer:
  cloud: azure
  subscription_id: ` + azurefake.Subscription + `
  resource_group: ` + azurefake.ResourceGroup + `
  location: ` + azurefake.Location + `
  vm_size: Standard_B2s
  tags: {team: platform}
`

const galleryConfig = fakeConfig + `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.0.0
`

// setup starts a fake ARM and a client pointed at it with tiny retry
// waits, so throttling tests run in milliseconds.
func setup(t *testing.T, yaml string) (azure.Cloud, *azurefake.Server, *config.Config) {
	t.Helper()
	f := azurefake.New(t)
	c := azure.Cloud{
		Endpoint:      f.URL(),
		MaxRetries:    3,
		RetryDelay:    time.Millisecond,
		MaxRetryDelay: 5 * time.Millisecond,
		TryTimeout:    5 * time.Second,
		PollInterval:  5 * time.Millisecond,
	}
	return c, f, cloudtest.Load(t, yaml)
}
