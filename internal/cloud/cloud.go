// Package cloud defines what every build target provides. It holds only
// interfaces and shared types; each target lives in cloud/<name>, and the
// list of targets is assembled once, above them, in package targets.
package cloud

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/hclgen"
	"github.com/sindri-dev/sindri-packer/tools"
)

// Plugin is a Packer plugin a template requires.
type Plugin struct {
	Name    string // local name in required_plugins, e.g. "amazon"
	Source  string // e.g. "github.com/hashicorp/amazon"
	Version string // exact X.Y.Z
}

// HashiCorpPlugin is the plugin github.com/hashicorp/<name> at the version
// tools/versions.env pins (every target's builder is HashiCorp's); it
// panics for a plugin that is not pinned, a programming error.
func HashiCorpPlugin(name string) Plugin {
	return Plugin{Name: name, Source: "github.com/hashicorp/" + name, Version: tools.PluginVersion(name)}
}

// Meta is what the renderer hands every source block.
type Meta struct {
	// ImageName is the expression for the image name (prefix + build time).
	ImageName hclwrite.Tokens
	// Dir is the folder of the config file; relative paths resolve from it.
	Dir string
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
// are only known at build time are Packer variable references, and so is
// the Sindri release: the one installed is var.sindri_version, which
// `packer build -var sindri_version=...` on the checked-in templates can
// change, and the tag must name what was installed.
func Tags(user map[string]string) map[string]hclwrite.Tokens {
	out := map[string]hclwrite.Tokens{}
	for k, v := range user {
		out[k] = hclgen.Str(v)
	}
	out[TagManagedBy] = hclgen.Str(ManagedBy)
	out[TagSindriVersion] = hclgen.Expr("var.sindri_version")
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

// CheckID matches id against re, whose form is described by what.
func CheckID(id string, re *regexp.Regexp, what string) error {
	if id == "" {
		return errors.New("empty image ID")
	}
	if len(id) > 4096 {
		return fmt.Errorf("image ID of %d bytes is too long", len(id))
	}
	if !re.MatchString(id) {
		return fmt.Errorf("%q is not %s", id, what)
	}
	return nil
}

// plainID is what any image ID of any target may hold: no white space,
// quotes, shell or expression syntax, nor control characters.
var plainID = regexp.MustCompile(`^[A-Za-z0-9._:/@+,=-]+$`)

// PlainID is the check of an image ID whose target is not known.
func PlainID(id string) error {
	return CheckID(id, plainID, "an image ID (letters, digits and . _ : / @ + , = -)")
}
