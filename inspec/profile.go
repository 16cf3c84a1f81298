// Package inspec embeds the InSpec profile (inspec.yml and controls/*.rb)
// that tests a freshly built image on a temporary instance over SSH, so the
// CLI can write it out next to a build and run `inspec exec` (or
// cinc-auditor) against it.
package inspec

import (
	"embed"
	"io/fs"
	"slices"
)

//go:embed inspec.yml controls/*.rb
var profile embed.FS

// Files returns every file of the profile as its path relative to the
// profile root ("inspec.yml", "controls/ssh.rb", ...) mapped to its bytes.
// The set and the bytes are fixed at build time; Names gives the sorted
// order for writing them out deterministically.
func Files() map[string][]byte {
	out := map[string][]byte{}
	// WalkDir visits in lexical order; embedded files cannot fail to read.
	_ = fs.WalkDir(profile, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := profile.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = b
		return nil
	})
	return out
}

// Names returns the profile's relative paths, sorted.
func Names() []string {
	names := make([]string, 0, 8)
	for n := range Files() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
