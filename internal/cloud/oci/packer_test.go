package oci_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
)

const minimal = `
packer:
  cloud: oci
  compartment_ocid: ocid1.compartment.oc1..aaaa
  availability_domain: "Uocm:US-ASHBURN-AD-1"
  subnet_ocid: ocid1.subnet.oc1.iad.aaaa
`

func TestIdentity(t *testing.T) {
	cloudtest.CheckIdentity(t, oci.Cloud{}, cloudtest.Identity{
		Name: "oci", SourceType: "oracle-oci", Plugin: "oracle",
		Minimal: minimal, DefaultUser: "ubuntu", User: "opc",
	})
}

func TestVariables(t *testing.T) {
	got := oci.Cloud{}.Variables(cloudtest.Load(t, minimal))
	want := []cloud.Variable{{Name: "oci_access_cfg_file", Description: "OCI SDK config file (empty: ~/.oci/config)", Default: ""}}
	if !slices.Equal(got, want) {
		t.Errorf("Variables = %+v, want %+v", got, want)
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, oci.Cloud{}, cloudtest.Load(t, minimal))

	// The SDK config file is the per-run variable, not a path baked in.
	if got := cloudtest.Refs(t, b, "access_cfg_file"); !slices.Equal(got, []string{"var.oci_access_cfg_file"}) {
		t.Errorf("access_cfg_file references %q, want var.oci_access_cfg_file", got)
	}
	if got := cloudtest.Str(t, b, "access_cfg_file"); got != "/test/oci/config" {
		t.Errorf("access_cfg_file = %q", got)
	}
	cloudtest.WantStrs(t, b, map[string]string{
		"compartment_ocid":    "ocid1.compartment.oc1..aaaa",
		"availability_domain": "Uocm:US-ASHBURN-AD-1",
		"shape":               "VM.Standard.E4.Flex",
		"subnet_ocid":         "ocid1.subnet.oc1.iad.aaaa",
		"image_name":          "sindri-20240101",
		"ssh_username":        "ubuntu",
		"ssh_timeout":         "20m",
	})
	if cloudtest.Has(b, "region") {
		t.Error("region written without a config value (the OCI config file's applies)")
	}
	wantDiskAndBase(t, b, 80, "Canonical Ubuntu", "24.04")
	tags := cloudtest.ImageTags(nil)
	cloudtest.WantStrMap(t, b, tags, "tags")
	cloudtest.WantStrMap(t, b, cloudtest.WithRunTags(tags), "instance_tags")
}

func TestSourceShapeConfig(t *testing.T) {
	tests := []struct {
		name   string
		extra  string
		shape  string
		flex   bool
		ocpus  int64
		memory int64
	}{
		{"default flex shape", "", "VM.Standard.E4.Flex", true, 4, 64},
		{"sized flex shape", "  shape: VM.Standard.A1.Flex\n  shape_config: {ocpus: 2, memory_in_gbs: 16}\n", "VM.Standard.A1.Flex", true, 2, 16},
		{"fixed shape", "  shape: VM.Standard2.4\n", "VM.Standard2.4", false, 0, 0},
		{"flex only as suffix", "  shape: VM.Flex.Standard\n", "VM.Flex.Standard", false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cloudtest.Source(t, oci.Cloud{}, cloudtest.Load(t, minimal+tc.extra))
			if got := cloudtest.Str(t, b, "shape"); got != tc.shape {
				t.Errorf("shape = %q, want %q", got, tc.shape)
			}
			if !tc.flex {
				if n := cloudtest.Blocks(b, "shape_config"); n != 0 {
					t.Errorf("shape_config written for the fixed shape %s", tc.shape)
				}
				return
			}
			sc := cloudtest.Block(t, b, "shape_config")
			cloudtest.WantInt(t, sc, "ocpus", tc.ocpus)
			cloudtest.WantInt(t, sc, "memory_in_gbs", tc.memory)
		})
	}
}

// wantDiskAndBase checks the boot volume size and the base image filter.
func wantDiskAndBase(t *testing.T, b *hclsyntax.Body, disk int64, os, version string) {
	t.Helper()
	cloudtest.WantInt(t, b, "disk_size", disk)
	cloudtest.WantStrs(t, cloudtest.Block(t, b, "base_image_filter"), map[string]string{
		"operating_system":         os,
		"operating_system_version": version,
	})
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, oci.Cloud{}, cloudtest.Load(t, minimal+`  region: eu-frankfurt-1
  boot_volume_size_gb: 100
  base_image_os: Oracle Linux
  base_image_os_version: "9"
  tags: {Team: platform}
`))
	if got := cloudtest.Str(t, b, "region"); got != "eu-frankfurt-1" {
		t.Errorf("region = %q", got)
	}
	wantDiskAndBase(t, b, 100, "Oracle Linux", "9")
	if got := cloudtest.StrMap(t, b, "tags")["Team"]; got != "platform" {
		t.Errorf("tags[Team] = %q", got)
	}
}

func TestPrepareConfigFile(t *testing.T) {
	for _, tt := range []struct {
		cli, sdk string
		want     map[string]string
	}{
		{},
		{cli: "/a/config", sdk: "/b/config", want: map[string]string{"oci_access_cfg_file": "/a/config"}},
		{sdk: "/b/config", want: map[string]string{"oci_access_cfg_file": "/b/config"}},
	} {
		// Read through Env; the process's environment names other files.
		t.Setenv("OCI_CLI_CONFIG_FILE", "/process/config")
		c := oci.Cloud{Env: cloud.EnvList([]string{"OCI_CLI_CONFIG_FILE=" + tt.cli, "OCI_CONFIG_FILE=" + tt.sdk})}
		vars, cleanup, err := c.Prepare(t.Context(), &cloud.BuildRun{})
		if err != nil || cleanup != nil || !maps.Equal(vars, tt.want) {
			t.Errorf("%+v: Prepare = %v, %v; want %v", tt, vars, err, tt.want)
		}
	}
}
