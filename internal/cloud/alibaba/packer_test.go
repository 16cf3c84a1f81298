package alibaba_test

import (
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

const minimal = "packer:\n  cloud: alibaba\n"

func TestIdentity(t *testing.T) {
	cloudtest.CheckIdentity(t, alibaba.Cloud{}, cloudtest.Identity{
		Name: "alibaba", SourceType: "alicloud-ecs", Plugin: "alicloud",
		Minimal: minimal, DefaultUser: "root", User: "ecs-user", NoVariables: true,
	})
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, alibaba.Cloud{}, cloudtest.Load(t, minimal))
	cloudtest.WantStrs(t, b, map[string]string{
		"region":        "cn-hangzhou",
		"instance_type": "ecs.g6.xlarge",
		"image_family":  "acs:ubuntu_24_04_x64",
		"image_name":    "sindri-20240101",
		"ssh_username":  "root",
		"ssh_timeout":   "20m",
	})
	cloudtest.WantAbsent(t, b, "source_image", "target_image_family", "image_description", "vswitch_id")
	if !cloudtest.Bool(t, b, "associate_public_ip_address") {
		t.Error("associate_public_ip_address is not true")
	}
	cloudtest.WantInt(t, b, "internet_max_bandwidth_out", 10)
	wantSystemDisk(t, b, 80, "cloud_essd")
	tags := cloudtest.ImageTags(nil)
	cloudtest.WantStrMap(t, b, tags, "tags")
	cloudtest.WantStrMap(t, b, cloudtest.WithRunTags(tags), "run_tags")
}

// wantSystemDisk checks the system disk's size and category.
func wantSystemDisk(t *testing.T, b *hclsyntax.Body, size int64, category string) {
	t.Helper()
	d := cloudtest.Block(t, b, "system_disk_mapping")
	cloudtest.WantInt(t, d, "disk_size", size)
	cloudtest.WantStrs(t, d, map[string]string{"disk_category": category})
}

func TestSourceBaseImage(t *testing.T) {
	tests := []struct {
		name        string
		extra       string
		sourceImage string // "" when image_family must be used
		family      string
	}{
		{"default family", "", "", "acs:ubuntu_24_04_x64"},
		{"own family", "  source_image_family: acs:ubuntu_22_04_x64\n", "", "acs:ubuntu_22_04_x64"},
		{
			"source image wins over the family",
			"  source_image: ubuntu_22_04_x64_20G_alibase_20240101.vhd\n  source_image_family: acs:ubuntu_22_04_x64\n",
			"ubuntu_22_04_x64_20G_alibase_20240101.vhd", "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cloudtest.Source(t, alibaba.Cloud{}, cloudtest.Load(t, minimal+tc.extra))
			if tc.sourceImage != "" {
				if got := cloudtest.Str(t, b, "source_image"); got != tc.sourceImage {
					t.Errorf("source_image = %q, want %q", got, tc.sourceImage)
				}
				if cloudtest.Has(b, "image_family") {
					t.Error("image_family written beside source_image")
				}
				return
			}
			if got := cloudtest.Str(t, b, "image_family"); got != tc.family {
				t.Errorf("image_family = %q, want %q", got, tc.family)
			}
			if cloudtest.Has(b, "source_image") {
				t.Error("source_image written without a config value")
			}
		})
	}
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, alibaba.Cloud{}, cloudtest.Load(t, minimal+`  region: cn-shanghai
  instance_type: ecs.g7.large
  system_disk_size_gb: 60
  system_disk_category: cloud_auto
  vswitch_id: vsw-0123abcd
  tags: {Team: platform}
  build:
    image_family: team-dev
    description: Team image
`))
	cloudtest.WantStrs(t, b, map[string]string{
		"region":              "cn-shanghai",
		"instance_type":       "ecs.g7.large",
		"vswitch_id":          "vsw-0123abcd",
		"target_image_family": "team-dev",
		"image_description":   "Team image",
		// build.image_family names the result, never the base image.
		"image_family": "acs:ubuntu_24_04_x64",
	})
	wantSystemDisk(t, b, 60, "cloud_auto")
	if got := cloudtest.StrMap(t, b, "tags")["Team"]; got != "platform" {
		t.Errorf("tags[Team] = %q", got)
	}
	if got := cloudtest.StrMap(t, b, "run_tags")["Team"]; got != "platform" {
		t.Errorf("run_tags[Team] = %q", got)
	}
}
