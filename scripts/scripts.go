// Package scripts embeds the provisioning scripts that run inside the image
// (see README.md in this folder), so `render` can write them beside the
// templates.
package scripts

import (
	"embed"
	"io/fs"
	"slices"
)

//go:embed *.sh
var files embed.FS

// Files returns every script's name and bytes, sorted by name.
func Files() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		out[e.Name()] = b
	}
	return out
}

// Names returns the script names, sorted.
func Names() []string {
	var names []string
	for n := range Files() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
