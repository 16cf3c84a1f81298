package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Upstream Sindri (pacphi/sindri v3, crate sindri-core, PackerConfig) keeps
// its packer settings under providers.packer, beside deployment.provider and
// a top-level extensions: section:
//
//	deployment: {provider: packer}
//	extensions: {profile: fullstack, additional: [docker]}
//	providers:
//	  packer:
//	    cloud: aws
//	    image_name: sindri-production
//	    build: {sindri_version: 3.0.0, security: {cis_hardening: true}}
//	    aws: {region: us-west-2, instance_type: t3.large}
//	    tags: {Team: platform}
//
// Migrate writes the same settings in sindri-packer's form.

// ErrNotUpstream means the file is not in upstream Sindri's form: there is
// nothing to migrate.
var ErrNotUpstream = errors.New("not upstream Sindri's form (no providers.packer or deployment.provider: packer)")

// Change is one step of a migration: a field moved, renamed, added or
// dropped.
type Change struct {
	From string // path in the upstream file ("" when added)
	To   string // path in the new file ("" when dropped)
	Note string
}

func (c Change) String() string {
	var s string
	switch {
	case c.To == "":
		s = "dropped " + c.From
	case c.From == "":
		s = "added " + c.To
	case c.From == c.To:
		s = c.To
	default:
		s = c.From + " → " + c.To
	}
	if c.Note != "" {
		s += ": " + c.Note
	}
	return s
}

// upstreamKey returns the key that marks upstream Sindri's form at the top
// of a document (providers with a packer section, or deployment with
// provider: packer), or nil.
func upstreamKey(root *yaml.Node) *yaml.Node {
	if root == nil || root.Kind != yaml.MappingNode {
		return nil
	}
	if k, v := mapGet(root, "providers"); k != nil {
		if pk, _ := mapGet(v, "packer"); pk != nil {
			return k
		}
	}
	if k, v := mapGet(root, "deployment"); k != nil {
		if _, p := mapGet(v, "provider"); p != nil && p.Kind == yaml.ScalarNode && p.Value == "packer" {
			return k
		}
	}
	return nil
}

// mapGet returns the key and value nodes of key in a mapping (aliases
// followed), or nils.
func mapGet(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = unalias(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], unalias(m.Content[i+1])
		}
	}
	return nil, nil
}

func unalias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// migration builds the new document.
type migration struct {
	file    string
	changes []Change
	diags   Diagnostics
	nodes   int
}

func (m *migration) change(from, to, note string) {
	m.changes = append(m.changes, Change{From: from, To: to, Note: note})
}

func (m *migration) fail(n *yaml.Node, field, format string, args ...any) {
	d := Diagnostic{File: m.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	}
	m.diags = append(m.diags, d)
}

// clone copies a value with aliases expanded (the new document has none of
// the old anchors), within the decoder's node budget.
func (m *migration) clone(n *yaml.Node) *yaml.Node {
	n = unalias(n)
	m.nodes++
	if n == nil || m.nodes > maxNodes {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}
	}
	c := *n
	c.Anchor, c.Line, c.Column = "", 0, 0
	c.Content = nil
	for _, k := range n.Content {
		c.Content = append(c.Content, m.clone(k))
	}
	return &c
}

// omap is a mapping under construction, keys in insertion order.
type omap struct{ node *yaml.Node }

func newMap() *omap { return &omap{&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}} }

func (o *omap) has(key string) bool { k, _ := mapGet(o.node, key); return k != nil }

// set adds key: value; from is the original key node, whose comments move
// with it.
func (o *omap) set(key string, value *yaml.Node, from *yaml.Node) {
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	if from != nil {
		k.HeadComment, k.LineComment = from.HeadComment, from.LineComment
	}
	o.node.Content = append(o.node.Content, k, value)
}

func (o *omap) child(key string) *omap {
	if _, v := mapGet(o.node, key); v != nil {
		return &omap{v}
	}
	c := newMap()
	o.set(key, c.node, nil)
	return c
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func str(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

// cloudAliases are the other names upstream's CloudProvider accepts.
var cloudAliases = map[string]string{"google": "gcp", "oracle": "oci", "alicloud": "alibaba"}

// Migrate converts a sindri.yaml in upstream Sindri's form (file names it in
// messages) to sindri-packer's form. It returns the new document and what
// changed; ErrNotUpstream when there is nothing to convert, Diagnostics
// when the input cannot be converted.
func Migrate(file string, data []byte) ([]byte, []Change, error) {
	if line, col, msg := badChar(data); msg != "" {
		return nil, nil, Diagnostics{{File: file, Line: line, Col: col, Message: msg}}
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, nil, Diagnostics{{File: file, Line: yamlErrLine(err), Col: 1, Message: "invalid YAML: " + yamlErrText(err)}}
	}
	if upstreamKey(root) == nil {
		return nil, nil, ErrNotUpstream
	}
	m := &migration{file: file}
	out := m.document(root)
	if len(m.diags) > 0 {
		m.diags.Sort()
		return nil, nil, m.diags
	}
	if m.nodes > maxNodes {
		return nil, nil, Diagnostics{{File: file, Message: fmt.Sprintf("document too large or too deeply aliased (more than %d nodes after alias expansion)", maxNodes)}}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# sindri.yaml for sindri-packer, converted from upstream Sindri's form\n# (deployment: / providers: packer:) by: sindri-packer migrate\n# Reference: sindri-packer init --cloud CLOUD writes a documented one.\n\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out.node); err != nil {
		return nil, nil, fmt.Errorf("migrate: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, nil, fmt.Errorf("migrate: encode: %w", err)
	}
	return b.Bytes(), m.changes, nil
}

// upstreamCloud is what converting upstream's settings of one cloud needs
// to know: where they differ from this tool's fields. The table is data,
// so the conversion itself names no cloud.
type upstreamCloud struct {
	// tags is the field upstream's providers.packer.tags go to; "" when
	// the target has none.
	tags string
	// toBuild are the cloud block's keys that are build settings here:
	// upstream key → packer.build key.
	toBuild map[string]string
	// dropped are the cloud block's keys not kept, with why.
	dropped map[string]string
	// defaults are fields whose upstream default differs from this tool's:
	// written with upstream's value so the image stays the same.
	defaults map[string]string
}

var upstreamClouds = map[string]upstreamCloud{
	"aws":     {tags: "tags", dropped: map[string]string{"ami_groups": "sindri-packer never makes an image public; share it with accounts in ami_users"}},
	"azure":   {tags: "tags"},
	"gcp":     {tags: "labels", toBuild: map[string]string{"image_family": "image_family"}, defaults: map[string]string{"enable_secure_boot": "false"}},
	"oci":     {tags: "tags"},
	"alibaba": {tags: "tags"},
	"qemu":    {},
}

// targets is the packer: section being written: the cloud upstream built
// for and a mapping per cloud block.
type targets struct {
	cloud  string
	blocks []string // cloud blocks present, in canonical order
	maps   map[string]*omap
	single bool
}

// path is a cloud field's path in the new file.
func (t *targets) path(c, key string) string {
	if t.single {
		return "packer." + key
	}
	return "packer.clouds." + c + "." + key
}

func (m *migration) document(root *yaml.Node) *omap {
	out := newMap()
	_, packer := mapGet(root, "providers")
	pk, p := mapGet(packer, "packer")
	if p == nil || p.Kind != yaml.MappingNode {
		if pk != nil && !isNull(p) {
			m.fail(p, "providers.packer", "expected a mapping, got %s", kindName(p))
			return out
		}
		p = &yaml.Node{Kind: yaml.MappingNode}
	}
	m.top(root, packer, out)
	t := m.targets(pk, p)
	if t == nil {
		return out
	}
	pack := out.child("packer")
	build := newMap()
	ck, cv := mapGet(p, "cloud")
	if t.single {
		pack.set("cloud", scalar(t.cloud), ck)
		if ck != nil && cloudAliases[strings.ToLower(cv.Value)] == "" {
			m.change("providers.packer.cloud", "packer.cloud", "")
		}
		t.maps[t.cloud] = pack
	} else {
		clouds := pack.child("clouds")
		for _, c := range t.blocks {
			t.maps[c] = clouds.child(c)
		}
		m.change("providers.packer.cloud", "packer.clouds", fmt.Sprintf("the file has blocks for %s, so they go under packer.clouds and every command acts on all of them: add --clouds %s to act on the one upstream used",
			strings.Join(t.blocks, ", "), t.cloud))
	}
	// Cloud blocks, then tags and fields written inline beside cloud:.
	for _, c := range t.blocks {
		_, blk := mapGet(p, c)
		m.cloudBlock(c, blk, t, build)
	}
	m.packerFields(p, t, build)
	m.extensions(root, build)
	m.upstreamDefaults(t, build)
	if len(build.node.Content) > 0 {
		pack.set("build", build.node, nil)
	}
	return out
}

// top converts the top level: name, version, provider, and what is
// dropped there.
func (m *migration) top(root, packer *yaml.Node, out *omap) {
	if k, v := mapGet(root, "name"); k != nil {
		out.set("name", m.clone(v), k)
	}
	out.set("version", str("3.0.0"), nil)
	if k, v := mapGet(root, "version"); k != nil && v.Value != "3.0.0" {
		m.change("version", "version", fmt.Sprintf("%q → \"3.0.0\", sindri-packer's format version", v.Value))
	}
	out.set("provider", scalar("packer"), nil)
	if k, v := mapGet(root, "deployment"); k != nil {
		if pk, pv := mapGet(v, "provider"); pk != nil {
			if pv.Value != "packer" {
				m.fail(pv, "deployment.provider", "is %q: only a packer configuration converts (sindri-packer builds VM images)", pv.Value)
			}
			m.change("deployment.provider", "provider", "")
		}
		for _, key := range keysOfMap(v) {
			if key != "provider" {
				m.change("deployment."+key, "", "a container deployment setting; a VM image has none")
			}
		}
	}
	for _, key := range keysOfMap(root) {
		switch key {
		case "name", "version", "deployment", "extensions", "providers":
		case "secrets":
			m.change("secrets", "", "sindri-packer takes cloud credentials from each SDK's standard chain (environment, config files, OIDC), and plain settings from packer.build.environment")
		default:
			m.change(key, "", "not a sindri-packer setting")
		}
	}
	for _, key := range keysOfMap(packer) {
		if key != "packer" {
			m.change("providers."+key, "", "another provider's settings")
		}
	}
}

// targets finds the cloud upstream built for and the cloud blocks; nil
// when that fails (reported).
func (m *migration) targets(pk, p *yaml.Node) *targets {
	t := &targets{maps: map[string]*omap{}}
	ck, cv := mapGet(p, "cloud")
	if ck != nil {
		t.cloud = strings.ToLower(cv.Value)
		if a, ok := cloudAliases[t.cloud]; ok {
			m.change("providers.packer.cloud", "packer.cloud", fmt.Sprintf("%s is spelt %s here", cv.Value, a))
			t.cloud = a
		}
		if !slices.Contains(Clouds, t.cloud) {
			msg := fmt.Sprintf("unknown cloud %q (known: %s)", cv.Value, strings.Join(Clouds, ", "))
			if s := suggest(t.cloud, Clouds); s != "" {
				msg = fmt.Sprintf("unknown cloud %q; did you mean %q?", cv.Value, s)
			}
			m.fail(cv, "providers.packer.cloud", "%s", msg)
			return nil
		}
	}
	for _, c := range Clouds {
		if k, _ := mapGet(p, c); k != nil {
			t.blocks = append(t.blocks, c)
		}
	}
	if t.cloud == "" {
		if len(t.blocks) != 1 {
			m.fail(pk, "providers.packer.cloud", "missing: name the target cloud (%s)", strings.Join(Clouds, ", "))
			return nil
		}
		t.cloud = t.blocks[0]
		m.change("", "packer.cloud", "the only cloud block, "+t.cloud)
	}
	if !slices.Contains(t.blocks, t.cloud) {
		t.blocks = append(t.blocks, t.cloud)
		slices.SortFunc(t.blocks, func(a, b string) int { return slices.Index(Clouds, a) - slices.Index(Clouds, b) })
	}
	t.single = len(t.blocks) == 1
	return t
}

// packerFields converts the keys of providers.packer beside the cloud
// blocks.
func (m *migration) packerFields(p *yaml.Node, t *targets, build *omap) {
	moved := map[string]string{"description": "description", "profile": "profile"}
	for _, key := range keysOfMap(p) {
		k, v := mapGet(p, key)
		from := "providers.packer." + key
		switch {
		case key == "cloud" || slices.Contains(Clouds, key):
		case key == "build":
			m.build(v, build)
		case key == "image_id":
			t.maps[t.cloud].set("image_id", m.clone(v), k)
			m.change(from, t.path(t.cloud, "image_id"), "")
		case key == "image_name":
			if _, own := mapGet(mapValue(p, "build"), "name_prefix"); own != nil {
				m.change(from, "", "providers.packer.build.name_prefix is kept instead")
				continue
			}
			build.set("name_prefix", m.clone(v), k)
			m.change(from, "packer.build.name_prefix", "")
		case moved[key] != "":
			build.set(moved[key], m.clone(v), k)
			m.change(from, "packer.build."+moved[key], "")
		case key == "tags":
			m.tags(v, k, t)
		case hasField(t.cloud, key):
			t.maps[t.cloud].set(key, m.clone(v), k)
			m.change(from, t.path(t.cloud, key), "")
		default:
			m.change(from, "", "not a sindri-packer setting")
		}
	}
}

// tags copies upstream's tags to every cloud block that has a field for
// them and does not set its own.
func (m *migration) tags(v, k *yaml.Node, t *targets) {
	for _, c := range t.blocks {
		name := upstreamClouds[c].tags
		if name == "" || t.maps[c].has(name) {
			continue
		}
		t.maps[c].set(name, m.clone(v), k)
		m.change("providers.packer.tags", t.path(c, name), "")
	}
}

// extensions joins upstream's top-level extensions: section to
// packer.build.
func (m *migration) extensions(root *yaml.Node, build *omap) {
	_, ext := mapGet(root, "extensions")
	for _, key := range keysOfMap(ext) {
		k, v := mapGet(ext, key)
		from := "extensions." + key
		switch key {
		case "profile":
			if build.has("profile") {
				m.change(from, "", "packer.build.profile is kept instead")
				continue
			}
			build.set("profile", m.clone(v), k)
			m.change(from, "packer.build.profile", "")
		case "active", "additional":
			m.appendExtensions(build, v, k)
			m.change(from, "packer.build.extensions", "")
		case "auto_install":
			m.change(from, "", "the image has its extensions installed at build time")
		default:
			m.change(from, "", "not a sindri-packer setting")
		}
	}
}

// upstreamDefaults writes upstream's value of every default that differs,
// so the image stays the same.
func (m *migration) upstreamDefaults(t *targets, build *omap) {
	if sec := build.child("security"); sec.node.Kind == yaml.MappingNode && !sec.has("cis_hardening") {
		sec.set("cis_hardening", scalar("false"), nil)
		m.change("", "packer.build.security.cis_hardening", "false, upstream's default (sindri-packer's is true: set it to harden the image)")
	}
	for _, c := range t.blocks {
		defaults := upstreamClouds[c].defaults
		for _, key := range slices.Sorted(maps.Keys(defaults)) {
			if !t.maps[c].has(key) {
				t.maps[c].set(key, scalar(defaults[key]), nil)
				m.change("", t.path(c, key), fmt.Sprintf("%s, upstream's default (sindri-packer's is %s)", defaults[key], fieldDefault(c, key)))
			}
		}
	}
}

// cloudBlock copies providers.packer.<cloud> into the cloud's fields.
func (m *migration) cloudBlock(c string, blk *yaml.Node, t *targets, build *omap) {
	up := upstreamClouds[c]
	for _, key := range keysOfMap(blk) {
		k, v := mapGet(blk, key)
		from := "providers.packer." + c + "." + key
		switch {
		case up.dropped[key] != "":
			m.change(from, "", up.dropped[key])
		case up.toBuild[key] != "":
			build.set(up.toBuild[key], m.clone(v), k)
			m.change(from, "packer.build."+up.toBuild[key], "")
		case hasField(c, key):
			t.maps[c].set(key, m.clone(v), k)
			m.change(from, t.path(c, key), "")
		default:
			m.change(from, "", "not a sindri-packer setting for "+c)
		}
	}
}

// build copies providers.packer.build into packer.build.
func (m *migration) build(b *yaml.Node, to *omap) {
	known := keysOf(fieldsOf(reflect.TypeFor[Build]()))
	for _, key := range keysOfMap(b) {
		k, v := mapGet(b, key)
		from := "providers.packer.build." + key
		switch {
		case key == "extensions":
			m.appendExtensions(to, v, k)
			m.change(from, "packer.build.extensions", "")
		case key == "scripts":
			m.change(from, "", "sindri-packer runs no custom scripts of its own yet: run them from an Ansible playbook (packer.build.ansible_playbook)")
		case key == "parallel_builds":
			m.change(from, "", "a command-line option here: --parallel N")
		case slices.Contains(known, key):
			to.set(key, m.clone(v), k)
			m.change(from, "packer.build."+key, "")
		default:
			m.change(from, "", "not a sindri-packer build setting")
		}
	}
}

// appendExtensions adds a list's items to packer.build.extensions, once each.
func (m *migration) appendExtensions(to *omap, v, from *yaml.Node) {
	_, list := mapGet(to.node, "extensions")
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		to.set("extensions", list, from)
	}
	var items []*yaml.Node
	switch v.Kind {
	case yaml.SequenceNode:
		items = v.Content
	case yaml.ScalarNode:
		if !isNull(v) {
			items = []*yaml.Node{v}
		}
	}
	for _, it := range items {
		it = unalias(it)
		if !slices.ContainsFunc(list.Content, func(n *yaml.Node) bool { return n.Value == it.Value }) {
			list.Content = append(list.Content, m.clone(it))
		}
	}
}

func mapValue(m *yaml.Node, key string) *yaml.Node { _, v := mapGet(m, key); return v }

func keysOfMap(m *yaml.Node) []string {
	m = unalias(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, m.Content[i].Value)
	}
	return out
}

// hasField reports whether the cloud's block has the key.
func hasField(cloud, key string) bool {
	return slices.Contains(keysOf(fieldsOf(blockType(cloud))), key)
}

// fieldDefault is the default of a field of the cloud's block.
func fieldDefault(cloud, key string) string {
	for _, f := range fieldsOf(blockType(cloud)) {
		if f.key == key {
			return f.tag.Get("default")
		}
	}
	return ""
}

func blockType(cloud string) reflect.Type {
	return reflect.TypeFor[CloudSet]().FieldByIndex(cloudField(cloud)).Type.Elem()
}
