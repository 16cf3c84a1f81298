// Package aws is the Amazon EC2 target: the amazon-ebs source block, and
// through aws-sdk-go-v2 the AMI inventory (build cache, list, delete,
// deprecate), instances for image tests and deployments, the sweep of
// what cancelled runs left behind, and the credential check.
package aws

import (
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// Canonical's AWS account publishes the official Ubuntu AMIs.
const (
	canonicalOwner = "099720109477"
	nobleAMIName   = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
)

func (Cloud) SourceType() string              { return "amazon-ebs" }
func (Cloud) Plugin() cloud.Plugin            { return cloud.HashiCorpPlugin("amazon") }
func (Cloud) SSHUser(c *config.Config) string { return c.Packer.Clouds.AWS.SSHUsername }

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	a := c.Packer.Clouds.AWS
	b := hclgen.Body{Body: body}
	b.Str("region", a.Region)
	b.Str("instance_type", a.InstanceType)
	b.Set("ami_name", m.ImageName)
	b.StrIf("ami_description", c.Packer.Build.Description)
	if a.SourceAMI != "" {
		b.Str("source_ami", a.SourceAMI)
	} else {
		f := b.Block("source_ami_filter")
		f.Set("filters", hclgen.StrMap(map[string]string{
			"name":                nobleAMIName,
			"root-device-type":    "ebs",
			"virtualization-type": "hvm",
		}))
		f.Set("owners", hclgen.Strs([]string{canonicalOwner}))
		f.Bool("most_recent", true)
	}
	b.Str("ssh_username", a.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	b.Str("temporary_key_pair_type", "ed25519")
	b.StrIf("vpc_id", a.VPCID)
	b.StrIf("subnet_id", a.SubnetID)
	b.Bool("encrypt_boot", a.EncryptBoot)
	if a.EncryptBoot {
		b.StrIf("kms_key_id", a.KMSKeyID)
	}
	b.Strs("ami_regions", a.AMIRegions)
	// Private unless the config names accounts: never ami_groups = ["all"].
	b.Strs("ami_users", a.AMIUsers)
	md := b.Block("metadata_options")
	md.Str("http_endpoint", "enabled")
	md.Str("http_tokens", "required")
	md.Int("http_put_response_hop_limit", 1)
	dev := b.Block("launch_block_device_mappings")
	dev.Str("device_name", "/dev/sda1")
	dev.Int("volume_size", a.VolumeSize)
	dev.Str("volume_type", a.VolumeType)
	dev.Bool("delete_on_termination", true)
	tags := cloud.Tags(a.Tags)
	b.Set("tags", hclgen.Map(tags))
	b.Set("snapshot_tags", hclgen.Map(tags))
	b.Set("run_tags", hclgen.Map(cloud.Merge(tags, cloud.RunTags())))
	b.Set("run_volume_tags", hclgen.Map(cloud.Merge(tags, cloud.RunTags())))
}
