package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest sindri.yaml accepted; real ones are a few KB.
const MaxFileSize = 1 << 20

// Options tunes Load.
type Options struct {
	// Getenv looks up ${VAR} placeholders; os.LookupEnv when nil.
	Getenv func(string) (string, bool)
	// Sets are --set path=value overrides, applied before decoding so they
	// are checked exactly like the file.
	Sets []string
	// ImageID, when set, checks an image ID of a cloud (the caller passes
	// targets.CheckImageID): image_id fields must have their cloud's form.
	ImageID func(cloud, id string) error
	// Secret receives each value ${VAR} took from a variable whose name
	// looks secret (SecretName), as soon as it is read: before any
	// diagnostic that could echo it is built, so the caller can mask it.
	Secret func(value string)
	// Root, when set, confines every file the configuration names to this
	// folder (the Action's workspace): after symlinks are resolved, a path
	// outside it is an error. Empty means no confinement (the CLI on the
	// user's own machine).
	Root string
	// Warn, when set, receives problems that do not stop loading: an
	// extension missing from Sindri's catalogue (extensions.go).
	Warn func(Diagnostic)
	// Placeholders lets a ${VAR} that is not set (and has no default)
	// stand in a clearly fake value of its field's valid form (see
	// Placeholder), for the commands that check a configuration without
	// using those values: validate and matrix. Each use is passed to
	// Notice. Refused variables stay refused; fields without a placeholder
	// form still need the variable.
	Placeholders bool
	// Credentials name the targets' credential variables (every
	// cloud.Target's SecretEnv; targets.SecretEnv lists them): sindri.yaml
	// may not read them, like CredentialEnv.
	Credentials []string
	// Notice receives, in placeholder mode, one diagnostic per placeholder
	// used, naming the variable and the field at its file:line.
	Notice func(Diagnostic)
}

// Load reads, decodes and validates a sindri.yaml. Problems with the input
// come back as Diagnostics (exit code 2); nothing else is returned for them.
func Load(path string, opts Options) (*Config, error) {
	if opts.Root != "" {
		if _, err := Confine(opts.Root, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, Diagnostics{{File: path, Message: err.Error()}}
		}
	}
	f, err := OpenRegular(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Diagnostics{{File: path, Message: "no such file (create one with: sindri-packer init --cloud CLOUD)"}}
		}
		return nil, Diagnostics{{File: path, Message: pathErrText(err)}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Diagnostics{{File: path, Message: err.Error()}}
	}
	return Parse(path, data, opts)
}

// Parse decodes and validates configuration bytes read from file.
func Parse(file string, data []byte, opts Options) (cfg *Config, err error) {
	if opts.Getenv == nil {
		opts.Getenv = os.LookupEnv
	}
	if secret, getenv := opts.Secret, opts.Getenv; secret != nil {
		// expand refuses the runner's and the tools' own variables before
		// looking them up; what it may read and looks secret is handed on
		// here, at the lookup, before anything can print it.
		opts.Getenv = func(name string) (string, bool) {
			v, ok := getenv(name)
			if ok && SecretName(name) && strings.TrimSpace(v) != "" {
				secret(v)
			}
			return v, ok
		}
	}
	if len(data) > MaxFileSize {
		return nil, Diagnostics{{File: file, Message: fmt.Sprintf("file is larger than %d bytes; this is not a sindri.yaml", MaxFileSize)}}
	}
	if line, col, msg := badChar(data); msg != "" {
		return nil, Diagnostics{{File: file, Line: line, Col: col, Message: msg}}
	}
	root, err := parseYAML(data)
	if err != nil {
		line, col := yamlErrLine(err), 1
		msg := "invalid YAML: " + yamlErrText(err)
		if tabIndented(data, line) {
			msg += " (a tab indents this line; YAML indents with spaces only)"
		}
		if m := unknownAnchor.FindStringSubmatch(msg); m != nil && line == 0 {
			line, col = find(data, "*"+m[1])
		}
		return nil, Diagnostics{{File: file, Line: line, Col: col, Message: msg}}
	}
	d := &decoder{file: file, getenv: opts.Getenv, credentials: opts.Credentials, placeholders: opts.Placeholders, where: map[slot]loc{}, keyAt: map[keySlot]loc{}, bad: map[string]bool{}}
	if root == nil {
		if len(opts.Sets) == 0 {
			return nil, Diagnostics{{File: file, Message: "file is empty (create one with: sindri-packer init --cloud CLOUD)"}}
		}
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	}
	if root.Kind != yaml.MappingNode {
		return nil, Diagnostics{{File: file, Line: root.Line, Col: root.Column, Message: "expected a mapping at the top level (name:, provider:, packer:)"}}
	}
	for _, s := range opts.Sets {
		if err := applySet(root, s); err != nil {
			d.diags = append(d.diags, Diagnostic{File: "--set", Message: err.Error()})
		}
	}
	cfg = &Config{File: file}
	d.decodeStruct(root, root, reflect.ValueOf(cfg).Elem(), "")
	if d.halted {
		// What was reported before the limit is mostly the bomb's echo.
		return nil, Diagnostics{d.halt}
	}
	v := &validator{d: d, base: filepath.Dir(file), root: opts.Root}
	v.config(cfg)
	v.imageIDs(cfg, opts.ImageID)
	if len(d.diags) > 0 {
		d.diags.Sort()
		return nil, d.diags
	}
	if opts.Notice != nil {
		for _, n := range d.notices {
			opts.Notice(n)
		}
	}
	if opts.Warn != nil {
		for _, w := range d.extensionWarnings(cfg) {
			opts.Warn(w)
		}
	}
	remember(cfg, d.where)
	return cfg, nil
}

// parseYAML parses exactly one document, turning parser panics into errors.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: more than one YAML document; a sindri.yaml holds one", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// The parser does not say where an unknown alias is.
var unknownAnchor = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)

// find returns the 1-based line and column of the first s in data, or 0, 0.
func find(data []byte, s string) (line, col int) {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0, 0
	}
	before := data[:i]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// tabIndented reports whether a tab appears in the indentation of line
// (1-based) or the line before it, where YAML's own message does not say so.
func tabIndented(data []byte, line int) bool {
	lines := strings.Split(string(data), "\n")
	for _, n := range []int{line, line - 1} {
		if n < 1 || n > len(lines) {
			continue
		}
		l := lines[n-1]
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") {
			return true
		}
	}
	return false
}

func yamlErrLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &n)
	}
	return n
}

func yamlErrText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return msg
}

// badChar finds the first byte that is not UTF-8 or a character YAML
// forbids (the parser's own error for those has no position).
func badChar(data []byte) (line, col int, msg string) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("file is not valid UTF-8 (byte 0x%02X)", data[0])
		case !yamlPrintable(r):
			return line, col, fmt.Sprintf("control character %U is not allowed in YAML; is this a binary file?", r)
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return 0, 0, ""
}

// yamlPrintable is the YAML 1.2 c-printable set, as the parser checks it.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7E, r == 0x85,
		r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// applySet writes one --set path=value into the document tree. The value
// is read as YAML, so lists and numbers work as they do in the file.
func applySet(root *yaml.Node, set string) error {
	path, value, ok := strings.Cut(set, "=")
	keys := strings.Split(path, ".")
	if !ok || slices.Contains(keys, "") {
		return fmt.Errorf("%q: expected path=value, e.g. packer.build.profile=minimal", set)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		return fmt.Errorf("%s: invalid value %q: %s", path, value, yamlErrText(err))
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	if len(doc.Content) > 0 {
		val = doc.Content[0]
	}
	markSet(val)
	node := root
	for i, key := range keys {
		at := -1
		for j := 0; j+1 < len(node.Content); j += 2 {
			if node.Content[j].Value == key {
				at = j
			}
		}
		if at < 0 {
			node.Content = append(node.Content, setKey(key), nil)
			at = len(node.Content) - 2
		}
		if i == len(keys)-1 {
			node.Content[at+1] = val
			return nil
		}
		next := node.Content[at+1]
		for next != nil && next.Kind == yaml.AliasNode {
			next = next.Alias
		}
		switch {
		case next == nil || isNull(next):
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Column: -1}
			node.Content[at+1] = next
		case next.Kind != yaml.MappingNode:
			// Replacing it would silently drop what the file says.
			return fmt.Errorf("%s: %s is %s in the file, not a mapping", path, strings.Join(keys[:i+1], "."), kindName(next))
		}
		node = next
	}
	return nil
}

func setKey(key string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Column: -1}
}

func markSet(n *yaml.Node) {
	n.Line, n.Column = 0, -1
	for _, c := range n.Content {
		markSet(c)
	}
}
