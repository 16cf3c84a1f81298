package azure_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func TestRegions(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		regions []string
	}{
		{name: "without a gallery", yaml: minimal + "  location: westus2\n", regions: []string{"westus2"}},
		{
			// The gallery replicates to its location anyway; it is not a
			// second region.
			name: "gallery replication excludes the location",
			yaml: minimal + "  location: westus2\n  gallery:\n    gallery_name: g\n    image_name: d\n    image_version: 1.0.0\n" +
				"    replication_regions: [eastus, westus2, northeurope]\n",
			regions: []string{"westus2", "eastus", "northeurope"},
		},
		{
			name:    "gallery without replication regions",
			yaml:    minimal + "  location: westus2\n  gallery:\n    gallery_name: g\n    image_name: d\n    image_version: 1.0.0\n",
			regions: []string{"westus2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field, regions := azure.Cloud{}.Regions(cloudtest.Load(t, tt.yaml))
			if field != "location" || !slices.Equal(regions, tt.regions) {
				t.Errorf("Regions = %q, %v; want location, %v", field, regions, tt.regions)
			}
		})
	}
	cloudtest.WantNoRegions(t, azure.Cloud{}, cloudtest.Load(t, "packer:\n  cloud: qemu\n"))
}

// The overrides PinRegion returns, applied with --set to the same file,
// build in that one region only, in either form of the file.
func TestPinRegion(t *testing.T) {
	gallery := "  gallery:\n    gallery_name: g\n    image_name: d\n    image_version: 1.0.0\n    replication_regions: [eastus, westus2]\n"
	tests := []struct{ name, yaml string }{
		{"single-cloud form", minimal + "  location: westus2\n"},
		{"single-cloud form with a gallery", minimal + "  location: westus2\n" + gallery},
		{"multi-cloud form with a gallery", "packer:\n  clouds:\n    azure:\n      subscription_id: 00000000-0000-0000-0000-000000000000\n" +
			"      resource_group: image-rg\n      location: westus2\n" +
			"      gallery:\n        gallery_name: g\n        image_name: d\n        image_version: 1.0.0\n        replication_regions: [eastus, westus2]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cloudtest.Load(t, tt.yaml)
			sets, err := azure.Cloud{}.PinRegion(cfg, "northeurope")
			if err != nil {
				t.Fatal(err)
			}
			if _, regions := (azure.Cloud{}).Regions(cloudtest.LoadSet(t, tt.yaml, sets)); !slices.Equal(regions, []string{"northeurope"}) {
				t.Errorf("pinned with %v: regions %v, want only northeurope", sets, regions)
			}
		})
	}
	if _, err := (azure.Cloud{}).PinRegion(cloudtest.Load(t, "packer:\n  cloud: qemu\n"), "x"); err == nil {
		t.Error("PinRegion without an azure block succeeded")
	}
}

// The service principal's secrets are masked and never readable from
// sindri.yaml; the variables that only name an identity are not secret.
func TestSecretEnv(t *testing.T) {
	got := azure.Cloud{}.SecretEnv()
	for _, k := range []string{"AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"} {
		if !slices.Contains(got, k) {
			t.Errorf("SecretEnv %v lacks %s", got, k)
		}
	}
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"} {
		if slices.Contains(got, k) {
			t.Errorf("SecretEnv lists %s, which is no secret", k)
		}
	}
}

// Managed image and gallery version IDs pass; anything that could carry
// an expression, a command or another line into an output does not.
func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, azure.Cloud{}, []string{
		"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-1/providers/Microsoft.Compute/images/sindri-dev-1",
		"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/galleries/sindri_gallery/images/sindri/versions/1.0.20261203",
	}, []string{
		"", "sindri-dev-1", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/x\nforged=1",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/${{ github.token }}",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/latest",
	})
}

// What azure cannot do answers ErrNotSupported; nothing pretends.
func TestTargetUnsupported(t *testing.T) {
	var c cloud.Target = azure.Cloud{}
	if _, err := c.Promote(t.Context(), &cloud.BuildRun{}, cloud.Artifact{}); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("Promote = %v, want ErrNotSupported", err)
	}
	if c.Local() {
		t.Error("azure reports a local artifact")
	}
}
