// Package tools exposes the pinned toolchain versions of versions.env, the
// one file that tools/install.sh, the Dockerfile and the Go code all read.
package tools

import (
	_ "embed"
	"strings"
)

//go:embed versions.env
var versionsEnv string

// Versions returns the KEY=value pairs of versions.env.
func Versions() map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(versionsEnv, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// PluginVersion returns the pinned X.Y.Z of a Packer plugin type such as
// "amazon"; it panics for a plugin that is not pinned, a programming error.
func PluginVersion(plugin string) string {
	v, ok := Versions()["PACKER_PLUGIN_"+strings.ToUpper(plugin)+"_VERSION"]
	if !ok {
		panic("tools: no pinned version for packer plugin " + plugin)
	}
	return v
}

// PackerVersion is the pinned Packer release.
func PackerVersion() string { return Versions()["PACKER_VERSION"] }
