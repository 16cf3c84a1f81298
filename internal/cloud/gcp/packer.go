// Package gcp is the Google Compute Engine target: the googlecompute source
// block, and the image inventory, instance lifecycle, leftover sweep and
// credential check through the Compute Engine REST API.
package gcp

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

func (Cloud) SourceType() string              { return "googlecompute" }
func (Cloud) Plugin() cloud.Plugin            { return cloud.HashiCorpPlugin("googlecompute") }
func (Cloud) SSHUser(c *config.Config) string { return c.Packer.Clouds.GCP.SSHUsername }

// LabelValue adapts a value to GCP's label rules: lower-case letters,
// digits, '_' and '-', at most 63 characters.
func LabelValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// labelValueExpr is LabelValue as a Packer expression of ref, for values
// known only when packer runs (TestLabelValueExprIsLabelValue holds the two
// together).
func labelValueExpr(ref string) string {
	return `substr(regex_replace(lower(` + ref + `), "[^a-z0-9_-]", "-"), 0, 63)`
}

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	g := c.Packer.Clouds.GCP
	b := hclgen.Body{Body: body}
	b.Str("project_id", g.ProjectID)
	b.Str("zone", g.Zone)
	b.Str("machine_type", g.MachineType)
	b.Str("source_image_family", g.SourceImageFamily)
	b.Set("source_image_project_id", hclgen.Strs([]string{g.SourceImageProject}))
	b.Int("disk_size", g.DiskSize)
	b.Str("disk_type", g.DiskType)
	b.Set("image_name", m.ImageName)
	b.StrIf("image_description", c.Packer.Build.Description)
	b.StrIf("image_family", c.Packer.Build.ImageFamily)
	b.Bool("enable_secure_boot", g.EnableSecureBoot)
	b.StrIf("network", g.Network)
	b.StrIf("subnetwork", g.Subnetwork)
	b.Str("ssh_username", g.SSHUsername)
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	labels := map[string]hclwrite.Tokens{}
	for k, v := range g.Labels {
		labels[k] = hclgen.Str(v)
	}
	labels["managed-by"] = hclgen.Str("sindri-packer")
	labels["sindri-version"] = hclgen.Expr(labelValueExpr("var.sindri_version"))
	labels["config-hash"] = hclgen.Expr("substr(lower(var.config_hash), 0, 63)")
	b.Set("image_labels", hclgen.Map(labels))
	b.Set("labels", hclgen.Map(cloud.Merge(labels, cloud.RunTags())))
}
