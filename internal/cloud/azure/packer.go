// Package azure is the Microsoft Azure target: the azure-arm source block,
// and, through the Azure SDK for Go (Resource Manager), the inventory of
// the managed images and gallery versions it made, temporary and deployed
// VMs with their network, leftover sweeps and a credential check.
package azure

import (
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
	"github.com/sindri-dev/sindri-packer/tools"
)

func (Cloud) SourceType() string { return "azure-arm" }
func (Cloud) Plugin() cloud.Plugin {
	return cloud.Plugin{Name: "azure", Source: "github.com/hashicorp/azure", Version: tools.PluginVersion("azure")}
}
func (Cloud) Variables(*config.Config) []cloud.Variable { return credentialVars }
func (Cloud) SSHUser(c *config.Config) string           { return c.Packer.Clouds.Azure.SSHUsername }

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	a := c.Packer.Clouds.Azure
	b := hclgen.Body{Body: body}
	b.Str("subscription_id", a.SubscriptionID)
	// Credentials are never in the template: a service principal's from
	// the variables Prepare fills from the environment (OIDC token or
	// secret), else the Azure CLI login.
	b.Set("use_azure_cli_auth", hclgen.Expr(`var.azure_client_jwt == "" && var.azure_client_secret == ""`))
	b.Set("client_id", hclgen.Expr("var.azure_client_id"))
	b.Set("tenant_id", hclgen.Expr("var.azure_tenant_id"))
	b.Set("client_jwt", hclgen.Expr("var.azure_client_jwt"))
	b.Set("client_secret", hclgen.Expr("var.azure_client_secret"))
	b.Str("os_type", "Linux")
	b.Str("image_publisher", a.ImagePublisher)
	b.Str("image_offer", a.ImageOffer)
	b.Str("image_sku", a.ImageSKU)
	b.Str("location", a.Location)
	b.Str("vm_size", a.VMSize)
	b.Int("os_disk_size_gb", a.OSDiskSizeGB)
	b.Set("managed_image_name", m.ImageName)
	b.Str("managed_image_resource_group_name", a.ResourceGroup)
	b.Str("managed_image_storage_account_type", a.StorageAccountType)
	b.Str("ssh_username", a.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	tags := cloud.Merge(cloud.Tags(a.Tags, m.SindriVersion), cloud.RunTags())
	// A managed image reports no creation time: the build writes its own.
	tags[CreatedTag] = hclgen.Expr(createdExpr)
	b.Set("azure_tags", hclgen.Map(tags))
	if g := a.Gallery; g != nil {
		d := b.Block("shared_image_gallery_destination")
		d.Str("subscription", a.SubscriptionID)
		rg := g.ResourceGroup
		if rg == "" {
			rg = a.ResourceGroup
		}
		d.Str("resource_group", rg)
		d.Str("gallery_name", g.GalleryName)
		d.Str("image_name", g.ImageName)
		// Unique per build and location (version.go): the plugin refuses
		// to publish a version that exists.
		d.Set("image_version", galleryVersionExpr(g.ImageVersion, a.Location))
		d.Strs("replication_regions", g.ReplicationRegions)
	}
}
