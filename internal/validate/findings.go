package validate

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/packer"
)

// placer turns packer validate's diagnostics into findings: packer's own
// message only (one finding per listed error), no temporary paths, and,
// where the message lets us tell which sindri.yaml field produced the
// value, that field's file:line instead of the rendered template's.
type placer struct {
	cfg *config.Config
	// scrub replaces temporary paths in messages.
	scrub func(string) string
}

// findings places one diagnostic of cloud's template (rendered as tpl and
// shown as tplName).
func (p placer) findings(cloud, tplName string, tpl []byte, d packer.Diagnostic) []Finding {
	msgs := d.Items
	if len(msgs) == 0 {
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		msgs = []string{msg}
	}
	var out []Finding
	for _, m := range msgs {
		m = p.scrub(m)
		f := Finding{File: tplName, Line: d.Line, Col: 1, Tool: "packer-validate", Message: m}
		if tpl != nil && d.Line > 0 {
			if pos, ok := p.place(cloud, tpl, d.Line, m); ok {
				f.File, f.Line, f.Col = pos.File, pos.Line, max(pos.Col, 1)
				f.Message = fmt.Sprintf("%s: %s (packer validate %s, %s:%d)", pos.Field, m, cloud, tplName, d.Line)
			}
		}
		out = append(out, f)
	}
	return out
}

// place finds the sindri.yaml field a message about line of tpl is about.
func (p placer) place(cloud string, tpl []byte, line int, msg string) (config.Position, bool) {
	f, diags := hclsyntax.ParseConfig(tpl, "t.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return config.Position{}, false
	}
	body := f.Body.(*hclsyntax.Body)
	cands := fieldsOf(p.cfg, cloud)
	quoted := quotedIn(msg)
	mentions := func(name string) bool { return mentioned(msg, name) }

	var picks [][]candidate
	// The attribute on that line, when the message is about it.
	if a := attributeAt(body, line); a != nil {
		vals := literals(a.Expr)
		if mentions(a.Name) || slices.ContainsFunc(vals, func(v string) bool { return slices.Contains(quoted, v) }) {
			picks = append(picks, forAttribute(cands, a.Name, vals))
		}
	}
	// A field named in the message: names with "_" are specific enough,
	// others only when the block has an attribute of that name.
	attrs := attributesIn(blockAt(body, line))
	var named []candidate
	for _, c := range cands {
		_, isAttr := attrs[c.name]
		if mentions(c.name) && (strings.Contains(c.name, "_") || isAttr) {
			named = append(named, c)
		}
	}
	picks = append(picks, named)
	// An attribute of the block named in the message, traced by its value.
	for _, name := range sortedKeys(attrs) {
		if mentions(name) {
			picks = append(picks, forAttribute(cands, name, attrs[name]))
		}
	}
	// A value the message quotes.
	var byValue []candidate
	for _, c := range cands {
		if slices.ContainsFunc(c.values, func(v string) bool { return v != "" && slices.Contains(quoted, v) }) {
			byValue = append(byValue, c)
		}
	}
	picks = append(picks, byValue)

	for _, cs := range picks {
		if pos, ok := p.only(cs); ok {
			return pos, true
		}
	}
	return config.Position{}, false
}

// only returns the position of the one field among cs (preferring fields
// written in the file over defaults), if there is exactly one.
func (p placer) only(cs []candidate) (config.Position, bool) {
	var set, all []config.Position
	seen := map[string]bool{}
	for _, c := range cs {
		pos, ok := p.cfg.PositionOf(c.ptr)
		if !ok || pos.File != p.cfg.File || pos.Line == 0 || seen[pos.Field] {
			continue
		}
		seen[pos.Field] = true
		all = append(all, pos)
		if pos.Set {
			set = append(set, pos)
		}
	}
	switch {
	case len(set) == 1:
		return set[0], true
	case len(set) == 0 && len(all) == 1:
		return all[0], true
	}
	return config.Position{}, false
}

// forAttribute is the fields that render as attribute name with vals: by
// name, else by value.
func forAttribute(cands []candidate, name string, vals []string) []candidate {
	var byName, byValue []candidate
	for _, c := range cands {
		if c.name == name {
			byName = append(byName, c)
		}
		if slices.ContainsFunc(c.values, func(v string) bool { return v != "" && slices.Contains(vals, v) }) {
			byValue = append(byValue, c)
		}
	}
	if len(byName) > 0 {
		return byName
	}
	return byValue
}

// candidate is one leaf field of the configuration.
type candidate struct {
	name   string   // its key in sindri.yaml
	values []string // its value(s) as text
	ptr    any      // for Config.PositionOf
}

// fieldsOf lists the leaf fields of cloud's block and of the build block.
func fieldsOf(c *config.Config, cloud string) []candidate {
	var out []candidate
	set := reflect.ValueOf(&c.Packer.Clouds).Elem()
	for i := range set.NumField() {
		if key, _, _ := strings.Cut(set.Type().Field(i).Tag.Get("yaml"), ","); key == cloud && !set.Field(i).IsNil() {
			walkFields(set.Field(i).Elem(), &out)
		}
	}
	walkFields(reflect.ValueOf(&c.Packer.Build).Elem(), &out)
	return out
}

func walkFields(v reflect.Value, out *[]candidate) {
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		key, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "-" || !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		if opts == "inline" {
			walkFields(fv, out)
			continue
		}
		add := func(fv reflect.Value, vals ...string) {
			*out = append(*out, candidate{name: key, values: vals, ptr: fv.Addr().Interface()})
		}
		switch fv.Kind() {
		case reflect.String:
			add(fv, fv.String())
		case reflect.Int:
			add(fv, strconv.FormatInt(fv.Int(), 10))
		case reflect.Bool:
			add(fv, strconv.FormatBool(fv.Bool()))
		case reflect.Struct:
			walkFields(fv, out)
		case reflect.Pointer:
			if !fv.IsNil() && fv.Elem().Kind() == reflect.Struct {
				walkFields(fv.Elem(), out)
			}
		case reflect.Slice:
			for j := range fv.Len() {
				switch e := fv.Index(j); e.Kind() {
				case reflect.String:
					add(e, e.String())
				case reflect.Struct:
					walkFields(e, out)
				}
			}
		case reflect.Map:
			var vals []string
			iter := fv.MapRange()
			for iter.Next() {
				vals = append(vals, fmt.Sprint(iter.Key()), fmt.Sprint(iter.Value()))
			}
			add(fv, vals...)
		}
	}
}

// attributeAt returns the attribute whose name is on line, at any depth.
func attributeAt(b *hclsyntax.Body, line int) *hclsyntax.Attribute {
	for _, a := range b.Attributes {
		if a.NameRange.Start.Line == line {
			return a
		}
	}
	for _, blk := range b.Blocks {
		if r := blk.Range(); r.Start.Line <= line && line <= r.End.Line {
			return attributeAt(blk.Body, line)
		}
	}
	return nil
}

// blockAt returns the innermost block around line, or nil.
func blockAt(b *hclsyntax.Body, line int) *hclsyntax.Block {
	for _, blk := range b.Blocks {
		if r := blk.Range(); r.Start.Line <= line && line <= r.End.Line {
			if inner := blockAt(blk.Body, line); inner != nil {
				return inner
			}
			return blk
		}
	}
	return nil
}

// attributesIn maps the attribute names of a block and its nested blocks
// to their literal values (none for an expression).
func attributesIn(blk *hclsyntax.Block) map[string][]string {
	out := map[string][]string{}
	if blk == nil {
		return out
	}
	var walk func(*hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for name, a := range b.Attributes {
			out[name] = append(out[name], literals(a.Expr)...)
			if out[name] == nil {
				out[name] = []string{}
			}
		}
		for _, nb := range b.Blocks {
			walk(nb.Body)
		}
	}
	walk(blk.Body)
	return out
}

// literals returns an expression's value as text when it is a constant
// (strings, numbers, booleans, lists of them); nil otherwise.
func literals(e hclsyntax.Expression) []string {
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return nil
	}
	var out []string
	var add func(cty.Value)
	add = func(v cty.Value) {
		switch {
		case v.IsNull():
		case v.Type() == cty.String:
			out = append(out, v.AsString())
		case v.Type() == cty.Number:
			out = append(out, v.AsBigFloat().Text('f', -1))
		case v.Type() == cty.Bool:
			out = append(out, strconv.FormatBool(v.True()))
		case v.CanIterateElements():
			for it := v.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				add(ev)
			}
		}
	}
	add(v)
	return out
}

var quotedRe = regexp.MustCompile(`"([^"]*)"`)

// quotedIn returns the double-quoted strings of a message.
func quotedIn(msg string) []string {
	var out []string
	for _, m := range quotedRe.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	return out
}

// mentioned reports whether name occurs in msg as a whole word.
func mentioned(msg, name string) bool {
	word := func(r byte) bool {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !word(msg[j-1])) && (end == len(msg) || !word(msg[end])) {
			return true
		}
		i = j + 1
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
