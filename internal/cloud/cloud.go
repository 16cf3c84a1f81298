// Package cloud defines what every build target provides. It holds only
// interfaces and shared types; each target lives in cloud/<name>, and the
// list of targets is assembled once, above them, in package targets.
package cloud

import (
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// Plugin is a Packer plugin a template requires.
type Plugin struct {
	Name    string // local name in required_plugins, e.g. "amazon"
	Source  string // e.g. "github.com/hashicorp/amazon"
	Version string // exact X.Y.Z
}

// Meta is what the renderer hands every source block.
type Meta struct {
	// ImageName is the expression for the image name (prefix + build time).
	ImageName hclwrite.Tokens
	// SindriVersion is the concrete release baked into the image.
	SindriVersion string
	// Dir is the folder of the config file; relative paths resolve from it.
	Dir string
}

// Builder is a target's Packer side: its plugin and its source block.
type Builder interface {
	// Name is the target's name in sindri.yaml, e.g. "aws".
	Name() string
	// Plugin is the Packer plugin providing the builder.
	Plugin() Plugin
	// SourceType is the builder type, e.g. "amazon-ebs".
	SourceType() string
	// Variables are extra Packer variables the source uses, set at build
	// time (never secrets); nil when there are none.
	Variables(c *config.Config) []Variable
	// Source fills the body of source "<type>" "sindri".
	Source(body *hclwrite.Body, c *config.Config, m Meta)
	// SSHUser is the user the provisioners connect as.
	SSHUser(c *config.Config) string
}

// Variable is a Packer input variable a template declares.
type Variable struct {
	Name        string
	Description string
	Default     string
	Sensitive   bool
}

// Tags returns the tags every image carries, in a cloud-neutral form; the
// cloud packages adapt keys and values to their cloud's rules. Values that
// are only known at build time are Packer variable references.
func Tags(user map[string]string, sindriVersion string) map[string]hclwrite.Tokens {
	out := map[string]hclwrite.Tokens{}
	for k, v := range user {
		out[k] = hclgen.Str(v)
	}
	out[TagManagedBy] = hclgen.Str(ManagedBy)
	out[TagSindriVersion] = hclgen.Str(sindriVersion)
	out[TagConfigHash] = hclgen.Expr("var.config_hash")
	return out
}

// RunTags are the extra tags of temporary build resources, so `cleanup`
// can find what a cancelled run left behind.
func RunTags() map[string]hclwrite.Tokens {
	return map[string]hclwrite.Tokens{
		TagRunID:     hclgen.Expr("var.run_id"),
		TagTemporary: hclgen.Str(Temporary),
	}
}
