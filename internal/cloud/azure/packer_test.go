package azure_test

import (
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/zclconf/go-cty/cty"
	"maps"
	"slices"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/tools"
)

const minimal = `
packer:
  cloud: azure
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: image-rg
`

func TestIdentity(t *testing.T) {
	c := azure.Cloud{}
	if c.Name() != "azure" || c.SourceType() != "azure-arm" {
		t.Errorf("Name/SourceType = %q/%q", c.Name(), c.SourceType())
	}
	want := cloud.Plugin{Name: "azure", Source: "github.com/hashicorp/azure", Version: tools.PluginVersion("azure")}
	if got := c.Plugin(); got != want {
		t.Errorf("Plugin = %+v, want %+v", got, want)
	}
	// The service principal's login; the secrets are sensitive, and
	// every default is empty (the Azure CLI login).
	sensitive := map[string]bool{}
	for _, v := range c.Variables(cloudtest.Load(t, minimal)) {
		if v.Default != "" {
			t.Errorf("variable %s defaults to %q", v.Name, v.Default)
		}
		sensitive[v.Name] = v.Sensitive
	}
	if want := map[string]bool{"azure_client_id": false, "azure_tenant_id": false, "azure_client_jwt": true, "azure_client_secret": true}; !maps.Equal(sensitive, want) {
		t.Errorf("variables (sensitive?) %v, want %v", sensitive, want)
	}
	if got := c.SSHUser(cloudtest.Load(t, minimal)); got != "packer" {
		t.Errorf("default SSHUser = %q, want packer", got)
	}
	if got := c.SSHUser(cloudtest.Load(t, minimal+"  ssh_username: azureuser\n")); got != "azureuser" {
		t.Errorf("SSHUser = %q, want azureuser", got)
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal))
	for name, want := range map[string]string{
		"subscription_id":                    "00000000-0000-0000-0000-000000000000",
		"os_type":                            "Linux",
		"image_publisher":                    "Canonical",
		"image_offer":                        "ubuntu-24_04-lts",
		"image_sku":                          "server",
		"location":                           "westus2",
		"vm_size":                            "Standard_D4s_v4",
		"managed_image_name":                 "sindri-20240101",
		"managed_image_resource_group_name":  "image-rg",
		"managed_image_storage_account_type": "Premium_LRS",
		"ssh_username":                       "packer",
		"ssh_timeout":                        "20m",
	} {
		if got := cloudtest.Str(t, b, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// Credentials are never in the template: variables (Prepare fills
	// them from the environment), else the Azure CLI login.
	if !cloudtest.Bool(t, b, "use_azure_cli_auth") {
		t.Error("use_azure_cli_auth is not true without a JWT or secret")
	}
	for attr, want := range map[string]string{"client_id": "AZ-CLIENT-ID", "tenant_id": "AZ-TENANT-ID", "client_jwt": "", "client_secret": ""} {
		if got := cloudtest.Str(t, b, attr); got != want {
			t.Errorf("%s = %q, want the variable's %q", attr, got, want)
		}
	}
	if cloudtest.Has(b, "client_cert_path") {
		t.Error("client_cert_path written into the template")
	}
	for _, v := range []string{"azure_client_jwt", "azure_client_secret"} {
		ctx := cloudtest.EvalCtx.NewChild()
		vars := cloudtest.EvalCtx.Variables["var"].AsValueMap()
		vars[v] = cty.StringVal("set")
		ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(vars)}
		got, diags := b.Attributes["use_azure_cli_auth"].Expr.Value(ctx)
		if diags.HasErrors() || got.True() {
			t.Errorf("with %s set, use_azure_cli_auth = %#v (%s), want false", v, got, diags)
		}
	}
	if got := cloudtest.Int(t, b, "os_disk_size_gb"); got != 80 {
		t.Errorf("os_disk_size_gb = %d, want 80", got)
	}
	if n := cloudtest.Blocks(b, "shared_image_gallery_destination"); n != 0 {
		t.Errorf("shared_image_gallery_destination written without a gallery")
	}
	// The build VM and the image share one tag set, run tags included.
	want := map[string]string{
		"managed-by": "sindri-packer", "sindri-version": "3.0.1", "config-hash": "CFG-HASH-123",
		"sindri-run-id": "run-42", "sindri-packer": "temporary",
		// The build time (cloudtest's local.build_time): a managed image
		// has no creation time of its own on the wire.
		azure.CreatedTag: "2026-02-14T09:30:05Z",
	}
	if got := cloudtest.StrMap(t, b, "azure_tags"); !maps.Equal(got, want) {
		t.Errorf("azure_tags = %v, want %v", got, want)
	}
}

func TestSourceImage(t *testing.T) {
	b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal+`  image_publisher: Debian
  image_offer: debian-12
  image_sku: 12-gen2
  location: westeurope
  os_disk_size_gb: 128
  tags: {Team: platform}
`))
	for name, want := range map[string]string{
		"image_publisher": "Debian",
		"image_offer":     "debian-12",
		"image_sku":       "12-gen2",
		"location":        "westeurope",
	} {
		if got := cloudtest.Str(t, b, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := cloudtest.Int(t, b, "os_disk_size_gb"); got != 128 {
		t.Errorf("os_disk_size_gb = %d, want 128", got)
	}
	if got := cloudtest.StrMap(t, b, "azure_tags")["Team"]; got != "platform" {
		t.Errorf("azure_tags[Team] = %q, want the user tag", got)
	}
}

func TestSourceGallery(t *testing.T) {
	tests := []struct {
		name    string
		gallery string
		wantRG  string
		regions []string
	}{
		{
			name: "own resource group and regions",
			gallery: `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.2.3
    resource_group: gallery-rg
    replication_regions: [westus2, eastus]
`,
			wantRG:  "gallery-rg",
			regions: []string{"westus2", "eastus"},
		},
		{
			name: "resource group defaults to the image's",
			gallery: `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.2.3
`,
			wantRG: "image-rg",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal+tc.gallery))
			d := cloudtest.Block(t, b, "shared_image_gallery_destination")
			for name, want := range map[string]string{
				"subscription":   "00000000-0000-0000-0000-000000000000",
				"resource_group": tc.wantRG,
				"gallery_name":   "sindri_gallery",
				"image_name":     "sindri-dev",
				// 1.2 as configured; the patch is the build's minute
				// (2026-02-14 09:30 on the 31-day calendar from 2025)
				// and the location's slot (westus2 is 8).
				"image_version": "1.2.59961008",
			} {
				if got := cloudtest.Str(t, d, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.regions == nil {
				if cloudtest.Has(d, "replication_regions") {
					t.Error("replication_regions written without regions")
				}
			} else if got := cloudtest.Strs(t, d, "replication_regions"); !slices.Equal(got, tc.regions) {
				t.Errorf("replication_regions = %q, want %q", got, tc.regions)
			}
			// The managed image is still produced beside the gallery version.
			if got := cloudtest.Str(t, b, "managed_image_resource_group_name"); got != "image-rg" {
				t.Errorf("managed_image_resource_group_name = %q", got)
			}
		})
	}
}
