package cloudtest

// The checks every target's packer_test.go and target_test.go make in the
// same way: the target's identity, rendered attributes against the values
// they must have, the tag sets, the region overrides and the image IDs.

import (
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/tools"
)

// Identity is what a target must say about itself.
type Identity struct {
	Name, SourceType string
	// Plugin is the HashiCorp plugin (github.com/hashicorp/<Plugin>) at
	// the version tools pins.
	Plugin string
	// Minimal is the smallest sindri.yaml of the target, in the
	// single-cloud form.
	Minimal string
	// DefaultUser is SSHUser of Minimal; User is SSHUser once Minimal
	// sets ssh_username: User.
	DefaultUser, User string
	// NoVariables: Variables must be nil.
	NoVariables bool
}

// CheckIdentity checks c's name, builder type, plugin, extra variables
// (when want says there are none) and SSH user against want.
func CheckIdentity(t *testing.T, c cloud.Target, want Identity) {
	t.Helper()
	if c.Name() != want.Name || c.SourceType() != want.SourceType {
		t.Errorf("Name/SourceType = %q/%q", c.Name(), c.SourceType())
	}
	plugin := cloud.Plugin{Name: want.Plugin, Source: "github.com/hashicorp/" + want.Plugin, Version: tools.PluginVersion(want.Plugin)}
	if got := c.Plugin(); got != plugin {
		t.Errorf("Plugin = %+v, want %+v", got, plugin)
	}
	if v := c.Variables(Load(t, want.Minimal)); want.NoVariables && v != nil {
		t.Errorf("Variables = %v, want none", v)
	}
	if got := c.SSHUser(Load(t, want.Minimal)); got != want.DefaultUser {
		t.Errorf("default SSHUser = %q, want %s", got, want.DefaultUser)
	}
	if got := c.SSHUser(Load(t, want.Minimal+"  ssh_username: "+want.User+"\n")); got != want.User {
		t.Errorf("SSHUser = %q, want %s", got, want.User)
	}
}

// WantStrs checks that each named attribute of b is the string want says.
func WantStrs(t *testing.T, b *hclsyntax.Body, want map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got := Str(t, b, name); got != want[name] {
			t.Errorf("%s = %q, want %q", name, got, want[name])
		}
	}
}

// WantInt checks that attribute name of b is the number want.
func WantInt(t *testing.T, b *hclsyntax.Body, name string, want int64) {
	t.Helper()
	if got := Int(t, b, name); got != want {
		t.Errorf("%s = %d, want %d", name, got, want)
	}
}

// WantAbsent checks that b writes none of names: attributes the config
// leaves unset.
func WantAbsent(t *testing.T, b *hclsyntax.Body, names ...string) {
	t.Helper()
	for _, name := range names {
		if Has(b, name) {
			t.Errorf("%s set without a config value", name)
		}
	}
}

// WantStrMap checks that each named map attribute of b is want.
func WantStrMap(t *testing.T, b *hclsyntax.Body, want map[string]string, names ...string) {
	t.Helper()
	for _, name := range names {
		if got := StrMap(t, b, name); !maps.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// ImageTags are the tags Source gives an image (cloud.Tags with the
// stand-ins of SindriVersion and var.config_hash), with extra added.
func ImageTags(extra map[string]string) map[string]string {
	tags := map[string]string{"managed-by": "sindri-packer", "sindri-version": SindriVersion, "config-hash": "CFG-HASH-123"}
	maps.Copy(tags, extra)
	return tags
}

// WithRunTags are tags plus the tags of a run's temporary resources
// (cloud.RunTags with the stand-in of var.run_id).
func WithRunTags(tags map[string]string) map[string]string {
	run := maps.Clone(tags)
	run["sindri-run-id"] = "run-42"
	run["sindri-packer"] = "temporary"
	return run
}

// LoadSet is Load with --set overrides, e.g. the ones PinRegion returns.
func LoadSet(t *testing.T, yaml string, sets []string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("sindri.yaml", []byte(yaml), config.Options{
		Getenv: func(string) (string, bool) { return "", false }, Sets: sets,
	})
	if err != nil {
		t.Fatalf("--set %v: %v", sets, err)
	}
	return cfg
}

// WantNoRegions checks that c has no build region in a config without
// c's block.
func WantNoRegions(t *testing.T, c cloud.Target, other *config.Config) {
	t.Helper()
	if field, regions := c.Regions(other); field != "" || regions != nil {
		t.Errorf("Regions without a %s block = %q %v, want none", c.Name(), field, regions)
	}
}

// CheckImageIDs checks that c's ValidImageID accepts each of valid and
// refuses each of invalid.
func CheckImageIDs(t *testing.T, c cloud.Target, valid, invalid []string) {
	t.Helper()
	for _, id := range valid {
		if err := c.ValidImageID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range invalid {
		if err := c.ValidImageID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}
