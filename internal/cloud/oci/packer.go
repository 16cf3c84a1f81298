package oci

import (
	"context"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

func (Cloud) SourceType() string   { return "oracle-oci" }
func (Cloud) Plugin() cloud.Plugin { return cloud.HashiCorpPlugin("oracle") }

// Variables: the OCI SDK config file is chosen per run (empty: the
// plugin's default, ~/.oci/config of the current user).
func (Cloud) Variables(*config.Config) []cloud.Variable {
	return []cloud.Variable{{Name: "oci_access_cfg_file", Description: "OCI SDK config file (empty: ~/.oci/config)", Default: ""}}
}
func (Cloud) SSHUser(c *config.Config) string { return c.Packer.Clouds.OCI.SSHUsername }

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	o := c.Packer.Clouds.OCI
	b := hclgen.Body{Body: body}
	b.Set("access_cfg_file", hclgen.Expr("var.oci_access_cfg_file"))
	b.StrIf("region", o.Region)
	b.Str("compartment_ocid", o.CompartmentOCID)
	b.Str("availability_domain", o.AvailabilityDomain)
	b.Str("shape", o.Shape)
	if strings.HasSuffix(o.Shape, ".Flex") {
		sc := b.Block("shape_config")
		sc.Int("ocpus", o.ShapeConfig.OCPUs)
		sc.Int("memory_in_gbs", o.ShapeConfig.MemoryInGBs)
	}
	b.Str("subnet_ocid", o.SubnetOCID)
	b.Int("disk_size", o.BootVolumeSizeGB)
	f := b.Block("base_image_filter")
	f.Str("operating_system", o.BaseImageOS)
	f.Str("operating_system_version", o.BaseImageOSVersion)
	b.Set("image_name", m.ImageName)
	b.Str("ssh_username", o.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	tags := cloud.Tags(o.Tags)
	b.Set("tags", hclgen.Map(tags))
	b.Set("instance_tags", hclgen.Map(cloud.Merge(tags, cloud.RunTags())))
}

// Prepare points Packer at the OCI config file the SDK side uses when the
// environment names one (OCI_CLI_CONFIG_FILE, then OCI_CONFIG_FILE: what
// the Action writes from a workflow's OCI_CLI_* secrets); otherwise Packer
// reads ~/.oci/config as the SDK does.
func (c Cloud) Prepare(context.Context, *cloud.BuildRun) (map[string]string, func(), error) {
	for _, k := range []string{"OCI_CLI_CONFIG_FILE", "OCI_CONFIG_FILE"} {
		if p := c.Env.Get(k); p != "" {
			return map[string]string{"oci_access_cfg_file": p}, nil, nil
		}
	}
	return nil, nil, nil
}
