package alibaba

import (
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

func (Cloud) SourceType() string              { return "alicloud-ecs" }
func (Cloud) Plugin() cloud.Plugin            { return cloud.HashiCorpPlugin("alicloud") }
func (Cloud) SSHUser(c *config.Config) string { return c.Packer.Clouds.Alibaba.SSHUsername }

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	a := c.Packer.Clouds.Alibaba
	b := hclgen.Body{Body: body}
	b.Str("region", a.Region)
	b.Str("instance_type", a.InstanceType)
	if a.SourceImage != "" {
		b.Str("source_image", a.SourceImage)
	} else {
		b.Str("image_family", a.SourceImageFamily)
	}
	b.StrIf("target_image_family", c.Packer.Build.ImageFamily)
	b.Set("image_name", m.ImageName)
	b.StrIf("image_description", c.Packer.Build.Description)
	b.StrIf("vswitch_id", a.VSwitchID)
	b.Bool("associate_public_ip_address", true)
	b.Int("internet_max_bandwidth_out", 10)
	b.Str("ssh_username", a.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	d := b.Block("system_disk_mapping")
	d.Int("disk_size", a.SystemDiskSizeGB)
	d.Str("disk_category", a.SystemDiskCategory)
	tags := cloud.Tags(a.Tags)
	b.Set("tags", hclgen.Map(tags))
	b.Set("run_tags", hclgen.Map(cloud.Merge(tags, cloud.RunTags())))
}
