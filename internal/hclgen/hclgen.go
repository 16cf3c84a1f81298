// Package hclgen holds the few hclwrite helpers the renderer and the cloud
// packages share. User values only ever become tokens through Value, so they
// are always escaped (quotes, ${, %{, newlines); Expr is for this program's
// own fixed expressions and never sees user input.
package hclgen

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Str is a string literal token sequence.
func Str(s string) hclwrite.Tokens { return hclwrite.TokensForValue(cty.StringVal(s)) }

// Strs is a list of string literals.
func Strs(ss []string) hclwrite.Tokens {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	if len(vals) == 0 {
		return hclwrite.TokensForValue(cty.ListValEmpty(cty.String))
	}
	return hclwrite.TokensForValue(cty.TupleVal(vals))
}

// Expr parses one of this program's fixed HCL expressions into tokens.
// It panics on a syntax error: the expression is a constant in our code.
func Expr(src string) hclwrite.Tokens {
	f, diags := hclwrite.ParseConfig([]byte("x = "+src+"\n"), "expr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		panic(fmt.Sprintf("hclgen: bad expression %q: %s", src, diags))
	}
	return f.Body().GetAttribute("x").Expr().BuildTokens(nil)
}

// Map renders a map whose values are tokens, keys sorted.
func Map(m map[string]hclwrite.Tokens) hclwrite.Tokens {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]hclwrite.ObjectAttrTokens, len(keys))
	for i, k := range keys {
		attrs[i] = hclwrite.ObjectAttrTokens{Name: Str(k), Value: m[k]}
	}
	return hclwrite.TokensForObject(attrs)
}

// StrMap renders a map of string literals, keys sorted.
func StrMap(m map[string]string) hclwrite.Tokens {
	t := make(map[string]hclwrite.Tokens, len(m))
	for k, v := range m {
		t[k] = Str(v)
	}
	return Map(t)
}

// Body is a little builder over an hclwrite body.
type Body struct{ *hclwrite.Body }

// Set writes name = tokens.
func (b Body) Set(name string, t hclwrite.Tokens) { b.SetAttributeRaw(name, t) }

// Str writes name = "value".
func (b Body) Str(name, v string) { b.SetAttributeValue(name, cty.StringVal(v)) }

// StrIf writes name = "value" when the value is not empty.
func (b Body) StrIf(name, v string) {
	if v != "" {
		b.Str(name, v)
	}
}

// Int writes name = n.
func (b Body) Int(name string, n int) { b.SetAttributeValue(name, cty.NumberIntVal(int64(n))) }

// Bool writes name = v.
func (b Body) Bool(name string, v bool) { b.SetAttributeValue(name, cty.BoolVal(v)) }

// Strs writes name = [..] when the list is not empty.
func (b Body) Strs(name string, ss []string) {
	if len(ss) > 0 {
		b.Set(name, Strs(ss))
	}
}

// Block appends a nested block and returns its body.
func (b Body) Block(typ string, labels ...string) Body {
	return Body{b.AppendNewBlock(typ, labels).Body()}
}
