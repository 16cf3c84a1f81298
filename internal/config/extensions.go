package config

import (
	_ "embed"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// extensionsFile is a copy of Sindri v3's extension catalogue: one name a
// line, '#' lines say where it was taken from.
//
//go:embed extensions.txt
var extensionsFile string

// Extensions returns the extension names of the kept copy of Sindri's
// catalogue, sorted.
func Extensions() []string {
	var out []string
	for _, l := range strings.Split(extensionsFile, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// ExtensionsSource is the header of the kept catalogue: where and when the
// names were taken.
func ExtensionsSource() string {
	var out []string
	for _, l := range strings.Split(extensionsFile, "\n") {
		if strings.HasPrefix(l, "#") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "#")))
		}
	}
	return strings.Join(out, " ")
}

// renamedExtensions are names used by the seed design and older docs that
// Sindri v3 spells differently, where edit distance would not find them.
var renamedExtensions = map[string]string{
	"node":        "nodejs",
	"go":          "golang",
	"java":        "jvm",
	"claude-code": "claude-cli",
	"claude":      "claude-cli",
	"gh":          "github-cli",
}

// extensionWarnings checks packer.build.extensions against the catalogue.
// The catalogue grows, so a miss is a warning, at the list item.
func (d *decoder) extensionWarnings(c *Config) Diagnostics {
	known := Extensions()
	var out Diagnostics
	exts := c.Packer.Build.Extensions
	for i := range exts {
		name := exts[i]
		if _, ok := slices.BinarySearch(known, name); ok {
			continue
		}
		l, ok := d.where[slot{reflect.ValueOf(&exts[i]).Pointer(), reflect.TypeFor[string]()}]
		if !ok {
			l = loc{file: d.file, path: fmt.Sprintf("packer.build.extensions[%d]", i)}
		}
		msg := fmt.Sprintf("%q is not in Sindri v3's extension catalogue", name)
		sug := renamedExtensions[name]
		if sug == "" {
			sug = suggest(name, known)
		}
		if sug != "" {
			msg += fmt.Sprintf("; did you mean %q?", sug)
		} else {
			msg += " (catalogue: https://github.com/pacphi/sindri/tree/v3/v3/extensions); Sindri refuses a name it does not know"
		}
		out = append(out, Diagnostic{File: l.file, Line: l.line, Col: l.col, Field: l.path, Message: msg})
	}
	return out
}
