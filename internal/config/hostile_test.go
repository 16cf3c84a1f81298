package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseQuickly parses data and fails the test if that takes long: hostile
// input must be refused, not worked through.
func parseQuickly(t *testing.T, data []byte) error {
	t.Helper()
	start := time.Now()
	cfg, err := Parse("hostile.yaml", data, testOptions())
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Parse took %v", d)
	}
	if err == nil {
		t.Fatalf("Parse accepted hostile input: %+v", cfg)
	}
	return err
}

func TestBillionLaughs(t *testing.T) {
	// The classic bomb: nine levels of nine aliases, 9^9 strings when
	// expanded. The decoder must not expand it.
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		fmt.Fprintf(&b, "%c: &%c [", c, c)
		for i := range 9 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*%c", c-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("packer:\n  cloud: qemu\n  build:\n    extensions: *i\n")
	err := parseQuickly(t, []byte(b.String()))
	got := err.Error()
	if !strings.Contains(got, "hostile.yaml:1:1: a: unknown field") {
		t.Errorf("bomb keys not reported as unknown:\n%s", got)
	}
	if !strings.Contains(got, "packer.build.extensions[0]: expected a string, got a list") {
		t.Errorf("aliased list not refused:\n%s", got)
	}
	if n := strings.Count(got, "\n") + 1; n > 20 {
		t.Errorf("%d diagnostics for a 13-line file", n)
	}
}

func TestAliasBombAgainstModel(t *testing.T) {
	// A mapping of 400 keys, aliased 400 times where the model does read
	// mappings: 160000 key visits from a file of a few KB.
	var b strings.Builder
	b.WriteString("packer:\n  cloud: qemu\n  build:\n    description: &m\n")
	for i := range 400 {
		fmt.Fprintf(&b, "      k%d: v\n", i)
	}
	b.WriteString("    file_uploads:\n")
	for range 400 {
		b.WriteString("      - *m\n")
	}
	err := parseQuickly(t, []byte(b.String()))
	want := fmt.Sprintf("document too large or too deeply aliased (more than %d nodes after alias expansion)", maxNodes)
	ds := diagnostics(t, err)
	if len(ds) != 1 || ds[0].Message != want {
		t.Fatalf("want exactly one diagnostic %q, got %d:\n%.2000s", want, len(ds), err)
	}
	if ds[0].File != "hostile.yaml" || ds[0].Line == 0 {
		t.Errorf("diagnostic has no position: %#v", ds[0])
	}
}

func TestTooLarge(t *testing.T) {
	data := bytes.Repeat([]byte("# padding\n"), MaxFileSize/10+1)
	want := fmt.Sprintf("big.yaml: file is larger than %d bytes; this is not a sindri.yaml", MaxFileSize)
	_, err := Parse("big.yaml", data, testOptions())
	if err == nil || err.Error() != want {
		t.Errorf("Parse: got %v, want %s", err, want)
	}
	// Load must not read the whole of a huge file either.
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, append(data, data...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path, testOptions())
	if want := path + want[len("big.yaml"):]; err == nil || err.Error() != want {
		t.Errorf("Load: got %v, want %s", err, want)
	}
	// Exactly MaxFileSize is still accepted as far as size goes.
	exact := append([]byte("packer: {cloud: qemu}\n"), bytes.Repeat([]byte("#"), MaxFileSize-22)...)
	if _, err := Parse("exact.yaml", exact, testOptions()); err != nil {
		t.Errorf("file of exactly MaxFileSize: %v", err)
	}
}

// parseError is an input Parse refuses with exactly want.
type parseError struct{ name, data, want string }

// checkParseErrors parses each case as x.yaml and wants its error.
func checkParseErrors(t *testing.T, tests []parseError) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.data), testOptions())
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestBadCharacters(t *testing.T) {
	checkParseErrors(t, []parseError{
		{"invalid UTF-8", "packer:\n  cloud: qemu\n  # caf\xe9\n", "x.yaml:3:8: file is not valid UTF-8 (byte 0xE9)"},
		{"truncated sequence", "name: \xe2\x82\n", "x.yaml:1:7: file is not valid UTF-8 (byte 0xE2)"},
		{"after multibyte", "name: ünï\xff\n", "x.yaml:1:10: file is not valid UTF-8 (byte 0xFF)"},
		{"UTF-16", "\xff\xfen\x00a\x00", "x.yaml:1:1: file is not valid UTF-8 (byte 0xFF)"},
		{"NUL byte", "packer:\n  cloud: qemu\x00\n", "x.yaml:2:14: control character U+0000 is not allowed in YAML; is this a binary file?"},
		{"escape", "name: \x1b[31mred\n", "x.yaml:1:7: control character U+001B is not allowed in YAML; is this a binary file?"},
		{"DEL", "name: a\x7f\n", "x.yaml:1:8: control character U+007F is not allowed in YAML; is this a binary file?"},
		{"C1 control", "name: a\u0090\n", "x.yaml:1:8: control character U+0090 is not allowed in YAML; is this a binary file?"},
	})
	// Characters YAML allows must not be refused: tab inside a value,
	// CRLF line ends, a BOM, NEL, astral planes.
	ok := "\ufeff# NEL:\u0085\r\npacker:\r\n  cloud: qemu\r\n  output_dir: \"out\U0001F600\"\r\n  build: {description: \"a\tb\"}\r\n"
	cfg, err := Parse("x.yaml", []byte(ok), testOptions())
	if err != nil {
		t.Fatalf("printable input refused: %v", err)
	}
	if cfg.Packer.Clouds.QEMU.OutputDir != "out\U0001F600" || cfg.Packer.Build.Description != "a\tb" {
		t.Errorf("output_dir = %q, description = %q", cfg.Packer.Clouds.QEMU.OutputDir, cfg.Packer.Build.Description)
	}
}

func TestDeeplyNested(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{
			// Beyond the parser's depth limit: a parse error, no stack overflow.
			name: "flow beyond the parser limit",
			data: "packer: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n",
			want: "hostile.yaml: invalid YAML: exceeded max depth of 10000",
		},
		{
			name: "block beyond the parser limit",
			data: strings.Repeat("- ", 10001) + "x\n",
			want: "hostile.yaml: invalid YAML: exceeded max depth of 10000",
		},
		{
			// Within the limit, where the model expects a string.
			name: "flow under a field",
			data: "packer:\n  cloud: qemu\n  build:\n    profile: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n",
			want: "hostile.yaml:4:14: packer.build.profile: expected a string, got a list",
		},
		{
			name: "mappings under an unknown key",
			data: "packer:\n  cloud: qemu\nextra: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000) + "\n",
			want: "hostile.yaml:3:1: extra: unknown field (known: name, version, provider, packer)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseQuickly(t, []byte(tt.data))
			if err.Error() != tt.want {
				t.Errorf("got %.500s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestYAMLSyntaxErrors(t *testing.T) {
	checkParseErrors(t, []parseError{
		{"tab indent", "packer:\n  cloud: qemu\n  build:\n\tprofile: minimal\n", "x.yaml:4:1: invalid YAML: found character that cannot start any token (a tab indents this line; YAML indents with spaces only)"},
		{"unclosed flow", "packer: {cloud: qemu\n", "x.yaml:1:1: invalid YAML: did not find expected ',' or '}'"},
		{"unknown alias", "packer: *nope\n", "x.yaml:1:9: invalid YAML: unknown anchor 'nope' referenced"},
		{"broken second document", "packer: {cloud: qemu}\n---\n[\n", "x.yaml:3:1: invalid YAML: did not find expected node content"},
		{"bad indent", "packer:\n  cloud: qemu\n    region: x\n", "x.yaml:3:1: invalid YAML: mapping values are not allowed in this context"},
	})
}

// Relative paths in a config without a file name start at ".".
func TestParseWithoutFileName(t *testing.T) {
	data := "packer:\n  cloud: qemu\n  build: {ansible_playbook: testdata/ok/files/site.yml}\n"
	if _, err := Parse("", []byte(data), testOptions()); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sindri.yaml")
	_, err := Load(path, testOptions())
	want := path + ": no such file (create one with: sindri-packer init --cloud CLOUD)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	diagnostics(t, err)
	// A folder is refused before it is opened.
	_, err = Load(t.TempDir(), testOptions())
	if err == nil || !strings.Contains(err.Error(), "this is a folder, not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}
}
