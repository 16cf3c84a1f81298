package alibaba_test

import (
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"maps"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/tools"
)

const minimal = "packer:\n  cloud: alibaba\n"

func TestIdentity(t *testing.T) {
	c := alibaba.Cloud{}
	if c.Name() != "alibaba" || c.SourceType() != "alicloud-ecs" {
		t.Errorf("Name/SourceType = %q/%q", c.Name(), c.SourceType())
	}
	want := cloud.Plugin{Name: "alicloud", Source: "github.com/hashicorp/alicloud", Version: tools.PluginVersion("alicloud")}
	if got := c.Plugin(); got != want {
		t.Errorf("Plugin = %+v, want %+v", got, want)
	}
	if v := c.Variables(cloudtest.Load(t, minimal)); v != nil {
		t.Errorf("Variables = %v, want none", v)
	}
	if got := c.SSHUser(cloudtest.Load(t, minimal)); got != "root" {
		t.Errorf("default SSHUser = %q, want root", got)
	}
	if got := c.SSHUser(cloudtest.Load(t, minimal+"  ssh_username: ecs-user\n")); got != "ecs-user" {
		t.Errorf("SSHUser = %q, want ecs-user", got)
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, alibaba.Cloud{}, cloudtest.Load(t, minimal))
	for name, want := range map[string]string{
		"region":        "cn-hangzhou",
		"instance_type": "ecs.g6.xlarge",
		"image_family":  "acs:ubuntu_24_04_x64",
		"image_name":    "sindri-20240101",
		"ssh_username":  "root",
		"ssh_timeout":   "20m",
	} {
		if got := cloudtest.Str(t, b, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, absent := range []string{"source_image", "target_image_family", "image_description", "vswitch_id"} {
		if cloudtest.Has(b, absent) {
			t.Errorf("%s set without a config value", absent)
		}
	}
	if !cloudtest.Bool(t, b, "associate_public_ip_address") {
		t.Error("associate_public_ip_address is not true")
	}
	if got := cloudtest.Int(t, b, "internet_max_bandwidth_out"); got != 10 {
		t.Errorf("internet_max_bandwidth_out = %d", got)
	}
	d := cloudtest.Block(t, b, "system_disk_mapping")
	if got := cloudtest.Int(t, d, "disk_size"); got != 80 {
		t.Errorf("system disk_size = %d, want 80", got)
	}
	if got := cloudtest.Str(t, d, "disk_category"); got != "cloud_essd" {
		t.Errorf("system disk_category = %q, want cloud_essd", got)
	}
	want := map[string]string{"managed-by": "sindri-packer", "sindri-version": "3.0.1", "config-hash": "CFG-HASH-123"}
	if got := cloudtest.StrMap(t, b, "tags"); !maps.Equal(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	wantRun := maps.Clone(want)
	wantRun["sindri-run-id"] = "run-42"
	wantRun["sindri-packer"] = "temporary"
	if got := cloudtest.StrMap(t, b, "run_tags"); !maps.Equal(got, wantRun) {
		t.Errorf("run_tags = %v, want %v", got, wantRun)
	}
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
	for name, want := range map[string]string{
		"region":              "cn-shanghai",
		"instance_type":       "ecs.g7.large",
		"vswitch_id":          "vsw-0123abcd",
		"target_image_family": "team-dev",
		"image_description":   "Team image",
		// build.image_family names the result, never the base image.
		"image_family": "acs:ubuntu_24_04_x64",
	} {
		if got := cloudtest.Str(t, b, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	d := cloudtest.Block(t, b, "system_disk_mapping")
	if got := cloudtest.Int(t, d, "disk_size"); got != 60 {
		t.Errorf("system disk_size = %d, want 60", got)
	}
	if got := cloudtest.Str(t, d, "disk_category"); got != "cloud_auto" {
		t.Errorf("system disk_category = %q, want cloud_auto", got)
	}
	if got := cloudtest.StrMap(t, b, "tags")["Team"]; got != "platform" {
		t.Errorf("tags[Team] = %q", got)
	}
	if got := cloudtest.StrMap(t, b, "run_tags")["Team"]; got != "platform" {
		t.Errorf("run_tags[Team] = %q", got)
	}
}
