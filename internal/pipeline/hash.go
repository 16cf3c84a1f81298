package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// HashInputs are everything that decides what an image contains.
type HashInputs struct {
	Template      []byte            // the cloud's rendered sindri.pkr.hcl
	Scripts       map[string][]byte // provisioning scripts by name
	SindriVersion string            // resolved, never "latest"
	PackerVersion string
	PluginVersion string
	Extra         []string // target-specific inputs, e.g. the base image digest
}

// ConfigHash is the content address of an image: a sha256 over the
// rendered template, the scripts and the resolved versions. Run-specific
// values (run id, the hash itself) are Packer variables, outside the
// template bytes, so they never change it.
func ConfigHash(in HashInputs) string {
	h := sha256.New()
	field := func(name string, b []byte) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	field("template", in.Template)
	for _, n := range slices.Sorted(maps.Keys(in.Scripts)) {
		field("script:"+n, in.Scripts[n])
	}
	field("sindri", []byte(in.SindriVersion))
	field("packer", []byte(in.PackerVersion))
	field("plugin", []byte(in.PluginVersion))
	for _, e := range in.Extra {
		field("extra", []byte(e))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RunHash combines the clouds' hashes into the run's config hash.
func RunHash(perCloud map[string]string) string {
	h := sha256.New()
	for _, n := range orderedNames(perCloud) {
		fmt.Fprintf(h, "%s=%s\n", n, perCloud[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// orderedNames sorts map keys in config.Clouds order, unknown names last.
func orderedNames[V any](m map[string]V) []string {
	rank := func(n string) int {
		if i := slices.Index(config.Clouds, n); i >= 0 {
			return i
		}
		return len(config.Clouds)
	}
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return names
}
