package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"
)

// maxNodes bounds the work of decoding one document, aliases included, so an
// alias bomb fails fast instead of expanding.
const maxNodes = 20000

// loc records where a field's value came from.
type loc struct {
	path string
	file string
	line int
	col  int
	set  bool   // false: absent from the input, position is the parent's
	raw  string // the text as written when it used ${VAR}, for messages
}

// keySlot identifies one key of a decoded map.
type keySlot struct {
	addr uintptr
	key  string
}

// slot identifies a field by address and type: a struct and its first
// field share an address.
type slot struct {
	addr uintptr
	typ  reflect.Type
}

// decoder walks a yaml.Node tree into the model, collecting every problem.
type decoder struct {
	file   string
	getenv func(string) (string, bool)
	// credentials are the targets' credential variables (Options).
	credentials []string
	// placeholders: an unset ${VAR} in a field with a placeholder form
	// takes it (Options.Placeholders); each use is a notice.
	placeholders bool
	notices      Diagnostics
	diags        Diagnostics
	nodes        int
	where        map[slot]loc
	keyAt        map[keySlot]loc // positions of map keys (tags, labels, environment)
	bad          map[string]bool // paths that already have a problem
	halted       bool
	halt         Diagnostic // the problem that stopped decoding
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	file, line, col := d.pos(n)
	d.bad[path] = true
	d.diags = append(d.diags, Diagnostic{File: file, Line: line, Col: col, Field: path, Message: fmt.Sprintf(format, args...)})
}

// pos maps a node to a file position. Nodes made from --set overrides carry
// Line 0 and their override's index in Column.
func (d *decoder) pos(n *yaml.Node) (string, int, int) {
	if n == nil {
		return d.file, 0, 0
	}
	if n.Line == 0 && n.Column < 0 {
		return "--set", 0, 0
	}
	return d.file, n.Line, n.Column
}

func (d *decoder) record(v reflect.Value, path string, n *yaml.Node, set bool) {
	if !v.CanAddr() {
		return
	}
	file, line, col := d.pos(n)
	l := loc{path: path, file: file, line: line, col: col, set: set}
	if n != nil && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		l.raw = n.Value
	}
	d.where[slot{v.Addr().Pointer(), v.Type()}] = l
}

// deref follows aliases, charging each visit against the node budget.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes > maxNodes && !d.halted {
		d.halted = true
		d.errorf(n, "", "document too large or too deeply aliased (more than %d nodes after alias expansion)", maxNodes)
		d.halt = d.diags[len(d.diags)-1]
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!null":
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported node"
}

// field describes one decodable struct field.
type field struct {
	key   string
	index []int
	tag   reflect.StructTag
}

// fieldsOf lists the decodable fields of a struct type, inline structs
// flattened, in declaration order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if opts == "inline" {
			for _, f := range fieldsOf(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		out = append(out, field{key: name, index: []int{i}, tag: sf.Tag})
	}
	return out
}

func keysOf(fs []field) []string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return keys
}

// join extends a dotted field path; keys that would make it ambiguous
// (empty, or with dots or spaces, as tag keys may be) are quoted.
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// pairs returns a mapping's key/value nodes after checking keys are unique
// scalars. Merge keys are refused: they hide where a value came from.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		if d.halted {
			return nil
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be plain strings, got %s", kindName(k))
			continue
		}
		if k.Tag == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key (first defined at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// decodeStruct fills a struct from a mapping node; keyNode is the key the
// mapping hangs from (for positions of absent fields).
func (d *decoder) decodeStruct(n, keyNode *yaml.Node, v reflect.Value, path string) {
	if p, ok := v.Addr().Interface().(*Packer); ok {
		d.decodePacker(n, keyNode, p, path)
		return
	}
	if path == "" && d.otherForm(n) {
		return
	}
	fs := fieldsOf(v.Type())
	present := map[string]bool{}
	if n != nil && !isNull(n) {
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		byKey := map[string]field{}
		for _, f := range fs {
			byKey[f.key] = f
		}
		for _, kv := range d.pairs(n, path) {
			k, val := kv[0], kv[1]
			f, ok := byKey[k.Value]
			if !ok {
				d.unknownKey(k, path, keysOf(fs))
				continue
			}
			present[f.key] = true
			fv := v.FieldByIndex(f.index)
			at := d.deref(val)
			if isNull(at) {
				at = k
			}
			d.record(fv, join(path, f.key), at, true)
			d.decodeValue(val, k, fv, join(path, f.key), f.tag)
		}
	}
	for _, f := range fs {
		if present[f.key] {
			continue
		}
		fv := v.FieldByIndex(f.index)
		d.record(fv, join(path, f.key), keyNode, false)
		d.applyDefault(fv, keyNode, join(path, f.key), f.tag)
	}
}

func (d *decoder) unknownKey(k *yaml.Node, path string, known []string) {
	if s := suggest(k.Value, known); s != "" {
		d.errorf(k, join(path, k.Value), "unknown field; did you mean %q?", s)
		return
	}
	d.errorf(k, join(path, k.Value), "unknown field (known: %s)", strings.Join(known, ", "))
}

// applyDefault sets an absent field to its default; absent non-pointer
// structs get their own fields' defaults.
func (d *decoder) applyDefault(v reflect.Value, keyNode *yaml.Node, path string, tag reflect.StructTag) {
	if v.Kind() == reflect.Struct {
		d.decodeStruct(nil, keyNode, v, path)
		return
	}
	def, ok := tag.Lookup("default")
	if !ok {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(def)
	case reflect.Bool:
		v.SetBool(def == "true")
	case reflect.Int:
		i, _ := strconv.Atoi(def)
		v.SetInt(int64(i))
	}
}

func (d *decoder) decodeValue(n, keyNode *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	n = d.deref(n)
	if d.halted {
		return
	}
	switch {
	case v.Kind() == reflect.Pointer:
		// A block ("key:" with nothing after it too: its defaults apply).
		v.Set(reflect.New(v.Type().Elem()))
		d.decodeStruct(n, keyNode, v.Elem(), path)
		return
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, keyNode, v, path)
		return
	case isNull(n):
		// "key:" with nothing after it: as if absent, defaults apply.
		d.applyDefault(v, keyNode, path, tag)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalarField(n, path, "a string", tag.Get("pattern")); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		d.decodeBool(n, v, path)
	case reflect.Int:
		d.decodeInt(n, v, path, tag)
	case reflect.Slice:
		d.decodeSlice(n, v, path, tag)
	case reflect.Map:
		d.decodeMap(n, v, path)
	default:
		panic("config: unsupported field kind " + v.Kind().String())
	}
}

// decodeBool reads a boolean. YAML 1.2 spells booleans true, True or TRUE.
// A quoted "true" is a string, as in the schema, unless it came from
// ${VAR}.
func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return
	}
	b, err := strconv.ParseBool(s)
	valid := err == nil && (s == "true" || s == "false" || n.Tag == "!!bool")
	if !valid || n.Tag == "!!str" && !strings.Contains(n.Value, "${") {
		d.errorf(n, path, "expected true or false, got %s", d.describe(n, s, valid))
		return
	}
	v.SetBool(b)
}

// decodeInt reads an integer, in YAML's forms too (0x1F, 0o17, 1_000).
func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	s, ok := d.scalar(n, path, "an integer")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil && n.Tag == "!!int" {
		i, err = strconv.ParseInt(s, 0, 64)
	}
	if max, ok := tag.Lookup("max"); ok && errors.Is(err, strconv.ErrRange) {
		d.errorf(n, path, "must be at most %s, got %s", max, s)
		return
	}
	if err != nil || n.Tag == "!!str" && !strings.Contains(n.Value, "${") {
		d.errorf(n, path, "expected an integer, got %s", d.describe(n, s, err == nil))
		return
	}
	v.SetInt(i)
}

// decodeSlice reads a list (or, with split:"true", one string "a,b").
func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if n.Kind == yaml.ScalarNode && tag.Get("split") == "true" {
		d.decodeSplit(n, v, path)
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s; %s", kindName(n), listHint(path, n, v.Type().Elem()))
		return
	}
	// Decode in place: positions are recorded by address, so the
	// elements must not be copied afterwards.
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(d.deref(item)) {
			d.errorf(item, ipath, "list items must not be empty")
			continue
		}
		d.decodeValue(item, item, out.Index(i), ipath, tag)
	}
	v.Set(out)
	d.recordSlice(v, path, n)
}

// decodeMap reads a string map (tags, labels, environment), recording
// where each key is.
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, kv := range d.pairs(n, path) {
		k := kv[0].Value
		if s, ok := d.scalar(kv[1], join(path, k), "a string"); ok {
			m.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(s))
		}
		if v.CanAddr() {
			file, line, col := d.pos(kv[0])
			d.keyAt[keySlot{v.Addr().Pointer(), k}] = loc{path: join(path, k), file: file, line: line, col: col, set: true}
		}
	}
	v.Set(m)
}

// describe names a scalar that has the wrong type for its field: what was
// written, what ${VAR} made of it, and whether only the quotes are wrong.
func (d *decoder) describe(n *yaml.Node, expanded string, quotedOnly bool) string {
	switch {
	case expanded != n.Value:
		return fmt.Sprintf("%q (from %s)", expanded, n.Value)
	case quotedOnly:
		return fmt.Sprintf("the string %s; write it without quotes", kindName(n))
	}
	return kindName(n)
}

// recordSlice remembers element positions so validation can point at the
// exact list item.
func (d *decoder) recordSlice(v reflect.Value, path string, n *yaml.Node) {
	for i := range v.Len() {
		if i < len(n.Content) {
			d.record(v.Index(i), fmt.Sprintf("%s[%d]", path, i), d.deref(n.Content[i]), true)
		}
	}
}

// scalar returns a scalar's text with ${VAR} expanded and NFC-normalised.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	return d.scalarField(n, path, want, "")
}

// scalarField is scalar for a string field whose pattern tag is pattern:
// in placeholder mode an unset variable there may take Placeholder.
func (d *decoder) scalarField(n *yaml.Node, path, want, pattern string) (string, bool) {
	n = d.deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	switch n.Tag {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
	default:
		// !!binary, or an application tag such as !vault: its meaning
		// would be silently lost.
		d.errorf(n, path, "YAML tag %s is not supported; write the plain value", n.Tag)
		return "", false
	}
	var missing func(string) (string, bool)
	if d.placeholders {
		key := path[strings.LastIndexAny(path, ".")+1:]
		missing = func(name string) (string, bool) {
			ph := Placeholder(key, pattern)
			if ph == "" {
				return "", false
			}
			file, line, col := d.pos(n)
			d.notices = append(d.notices, Diagnostic{File: file, Line: line, Col: col, Field: path,
				Message: fmt.Sprintf("environment variable %s is not set or empty; checking with the placeholder %q (a build needs the real value)", name, ph)})
			return ph, true
		}
	}
	s, err := expandWith(n.Value, d.getenv, missing, d.credentials)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return "", false
	}
	return norm.NFC.String(s), true
}

// decodePacker handles the packer: section, which has two forms.
func (d *decoder) decodePacker(n, keyNode *yaml.Node, p *Packer, path string) {
	switch {
	case n == nil:
		d.errorf(keyNode, path, "missing required field: add packer: with cloud: NAME (one of %s) or clouds:", strings.Join(Clouds, ", "))
		return
	case isNull(n):
		d.errorf(keyNode, join(path, "cloud"), "missing required field: name the target (%s) or use packer.clouds", strings.Join(Clouds, ", "))
		return
	case n.Kind != yaml.MappingNode:
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	var cloudKey, cloudsKey, cloudsVal, buildKey, buildVal *yaml.Node
	var inline []*yaml.Node
	badCloud, cloudFromSet := false, false
	for _, kv := range d.pairs(n, path) {
		switch kv[0].Value {
		case "cloud":
			if s, ok := d.scalar(kv[1], join(path, "cloud"), "a cloud name"); ok {
				at := d.deref(kv[1])
				cloudKey = &yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: at.Line, Column: at.Column}
				cloudFromSet = at.Line == 0 && at.Column < 0
			} else {
				badCloud = true
			}
		case "clouds":
			cloudsKey, cloudsVal = kv[0], kv[1]
		case "build":
			buildKey, buildVal = kv[0], kv[1]
		default:
			inline = append(inline, kv[0], kv[1])
		}
	}
	d.decodeStruct(buildVal, orNode(buildKey, keyNode), reflect.ValueOf(&p.Build).Elem(), join(path, "build"))
	if d.halted {
		return
	}

	if cloudFromSet && d.switchedCloud(cloudKey, cloudsKey, inline, path) {
		return
	}
	switch {
	case badCloud && cloudsKey == nil:
		// cloud: was there but unusable, already reported; its fields
		// cannot be checked without knowing the cloud.
	case (cloudKey != nil || badCloud) && cloudsKey != nil:
		d.errorf(cloudsKey, join(path, "clouds"), "use either packer.cloud (single cloud) or packer.clouds (several), not both")
	case cloudsKey != nil:
		d.decodeClouds(cloudsKey, cloudsVal, inline, p, path)
	case cloudKey != nil:
		d.decodeSingleCloud(n, cloudKey, inline, p, path)
	default:
		d.errorf(keyNode, join(path, "cloud"), "missing required field: name the target (%s) or use packer.clouds", strings.Join(Clouds, ", "))
	}
}

// decodeClouds decodes the multi-cloud form, packer.clouds; fields beside
// it are errors.
func (d *decoder) decodeClouds(cloudsKey, cloudsVal *yaml.Node, inline []*yaml.Node, p *Packer, path string) {
	for i := 0; i < len(inline); i += 2 {
		k := inline[i]
		if s := suggest(k.Value, []string{"cloud", "clouds", "build"}); s != "" {
			d.errorf(k, join(path, k.Value), "unknown field; did you mean %q?", s)
		} else {
			d.errorf(k, join(path, k.Value), "unknown field; in the multi-cloud form cloud settings go under packer.clouds.<cloud>")
		}
	}
	set := reflect.ValueOf(&p.Clouds).Elem()
	before := len(d.diags)
	d.decodeStruct(cloudsVal, cloudsKey, set, join(path, "clouds"))
	// A misspelt cloud block was reported already; "none configured"
	// would only repeat it.
	if len(d.diags) == before && len(p.Clouds.selected()) == 0 {
		d.errorf(cloudsKey, join(path, "clouds"), "no cloud configured: add a block for one of %s", strings.Join(Clouds, ", "))
	}
}

// decodeSingleCloud decodes the single-cloud form: cloud: NAME and that
// cloud's fields beside it (inline).
func (d *decoder) decodeSingleCloud(n, cloudKey *yaml.Node, inline []*yaml.Node, p *Packer, path string) {
	p.SingleCloud = true
	name := cloudKey.Value
	if !slices.Contains(Clouds, name) {
		msg := fmt.Sprintf("unknown cloud %q (known: %s)", name, strings.Join(Clouds, ", "))
		if s := suggest(name, Clouds); s != "" {
			msg = fmt.Sprintf("unknown cloud %q; did you mean %q?", name, s)
		}
		d.errorf(cloudKey, join(path, "cloud"), "%s", msg)
		return
	}
	ptr := reflect.ValueOf(&p.Clouds).Elem().FieldByIndex(cloudField(name))
	ptr.Set(reflect.New(ptr.Type().Elem()))
	body := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: inline, Line: n.Line, Column: n.Column}
	// Missing fields are reported at "cloud: NAME", which needs them.
	d.decodeStructInline(body, cloudKey, ptr.Elem(), path, name)
}

// decodeStructInline decodes the single-cloud form, where the cloud's fields
// sit beside cloud:/build: and typos should be matched against both.
func (d *decoder) decodeStructInline(n, keyNode *yaml.Node, v reflect.Value, path, cloud string) {
	fs := fieldsOf(v.Type())
	known := append(keysOf(fs), "cloud", "clouds", "build")
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(keysOf(fs), k.Value) {
			if s := suggest(k.Value, known); s != "" {
				d.errorf(k, join(path, k.Value), "unknown field for cloud %s; did you mean %q?", cloud, s)
			} else {
				d.errorf(k, join(path, k.Value), "unknown field for cloud %s (known: %s)", cloud, strings.Join(keysOf(fs), ", "))
			}
			n.Content[i+1] = nil // drop it below
		}
	}
	kept := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i+1] != nil {
			kept.Content = append(kept.Content, n.Content[i], n.Content[i+1])
		}
	}
	d.decodeStruct(kept, keyNode, v, path)
}

func orNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// cloudField returns the index of a cloud's pointer in CloudSet.
func cloudField(name string) []int {
	for _, f := range fieldsOf(reflect.TypeOf(CloudSet{})) {
		if f.key == name {
			return f.index
		}
	}
	panic("config: no CloudSet field for " + name)
}

func (s *CloudSet) selected() []string {
	var out []string
	for _, name := range Clouds {
		if s.Has(name) {
			out = append(out, name)
		}
	}
	return out
}

// decodeSplit reads a list written as one string, "go,java" or "go java",
// as the Action's inputs and upstream Sindri's --extensions write it. Every
// item is recorded at the string, for messages.
func (d *decoder) decodeSplit(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a list")
	if !ok {
		return
	}
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	v.Set(out)
	for i, item := range items {
		v.Index(i).SetString(item)
		d.record(v.Index(i), fmt.Sprintf("%s[%d]", path, i), n, true)
	}
}

// listHint says how to write a list in YAML, with the values given when
// they were one comma-separated string or the keys of a mapping.
func listHint(path string, n *yaml.Node, elem reflect.Type) string {
	key := path[strings.LastIndexAny(path, ".]")+1:]
	if elem.Kind() == reflect.Struct {
		return fmt.Sprintf("write one entry per item under %s:, each starting with \"- \"", key)
	}
	var items []string
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		items = strings.FieldsFunc(n.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			items = append(items, n.Content[i].Value)
		}
	}
	if len(items) == 0 {
		items = []string{"a", "b"}
	}
	return fmt.Sprintf("write a list: %s: [%s]", key, strings.Join(items, ", "))
}

// otherForm reports, once, a document in upstream Sindri's form instead of
// the unknown keys it would otherwise be: the packer form converts with
// migrate, another provider's has nothing to build here.
func (d *decoder) otherForm(root *yaml.Node) bool {
	if k := upstreamKey(root); k != nil {
		d.errorf(k, "", "this is upstream Sindri's form (deployment:, providers: packer:); run: sindri-packer migrate %s", shellQuote(d.file))
		return true
	}
	if k, v := mapGet(root, "deployment"); k != nil {
		if _, p := mapGet(v, "provider"); p != nil && p.Kind == yaml.ScalarNode && p.Value != "" {
			d.errorf(k, "", "this is upstream Sindri's configuration for provider %s; sindri-packer builds VM images: write one with sindri-packer init --cloud CLOUD", p.Value)
			return true
		}
	}
	return false
}

// shellQuote quotes a path for a command line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '_' || r == '-' || r == '+' || r == '@' || r == ':' || r == ',' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// switchedCloud answers --set packer.cloud=NAME (the seed's way to deploy to
// another cloud) when the file cannot switch: its clouds are listed under
// packer.clouds, or its single-cloud fields belong to another cloud. One
// error, naming what to do instead, rather than one per field.
func (d *decoder) switchedCloud(cloudKey, cloudsKey *yaml.Node, inline []*yaml.Node, path string) bool {
	name := cloudKey.Value
	if !slices.Contains(Clouds, name) {
		return false
	}
	if cloudsKey != nil {
		d.errorf(cloudKey, join(path, "cloud"), "the file lists its clouds under packer.clouds; choose one with --clouds %s instead of --set %s.cloud=%s", name, path, name)
		return true
	}
	var foreign []string // the file's own fields that are not NAME's
	for i := 0; i < len(inline); i += 2 {
		if k := inline[i]; k.Line > 0 && !hasField(name, k.Value) {
			foreign = append(foreign, k.Value)
		}
	}
	if len(foreign) == 0 {
		return false
	}
	from := "another cloud"
	for _, c := range Clouds {
		if c != name && !slices.ContainsFunc(foreign, func(f string) bool { return !hasField(c, f) }) {
			from = c
			break
		}
	}
	d.errorf(cloudKey, join(path, "cloud"), "--set %s.cloud=%s cannot switch this file: its fields (%s) are %s's; "+
		"write a file for %s (sindri-packer init --cloud %s -o sindri-%s.yaml, then --config sindri-%s.yaml), "+
		"or list both under packer.clouds (%s: {...}, %s: {...}) and choose with --clouds %s",
		path, name, strings.Join(foreign, ", "), from, name, name, name, name, from, name, name)
	return true
}
