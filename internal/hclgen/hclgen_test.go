package hclgen_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// tricky are values that break naive quoting: HCL template sequences,
// quotes, backslashes, control characters and non-ASCII text. (cty keeps
// strings in NFC, so the unicode cases are NFC already.)
var tricky = []struct {
	name, s string
}{
	{"empty", ""},
	{"plain", "sindri"},
	{"double quote", `say "hi"`},
	{"interpolation", "${var.secret}"},
	{"directive", "%{ if true }yes%{ endif }"},
	{"escaped interpolation", "$${not} %%{not}"},
	{"lone dollar brace", "${"},
	{"lone percent brace", "%{"},
	{"newlines", "line1\nline2\r\nline3\n"},
	{"tab and backslash", "a\tb\\c\\n"},
	{"unicode", "naïve — 日本語 🚀 Ünïcödé"},
	{"heredoc marker", "<<EOT\nx\nEOT"},
	{"comment markers", "# not a comment // nor /* this */"},
}

// parse wraps tokens as `x = ...`, formats and parses the file with the
// native HCL parser and returns the expression of x.
func parse(t *testing.T, toks hclwrite.Tokens) (hclsyntax.Expression, []byte) {
	t.Helper()
	f := hclwrite.NewEmptyFile()
	f.Body().SetAttributeRaw("x", toks)
	src := hclwrite.Format(f.Bytes())
	file, diags := hclsyntax.ParseConfig(src, "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("output does not parse: %s\n%s", diags, src)
	}
	attr, ok := file.Body.(*hclsyntax.Body).Attributes["x"]
	if !ok {
		t.Fatalf("no attribute x in\n%s", src)
	}
	return attr.Expr, src
}

// eval parses tokens and evaluates them without any variables or functions,
// so an unescaped ${...} fails to evaluate.
func eval(t *testing.T, toks hclwrite.Tokens) cty.Value {
	t.Helper()
	return evalCtx(t, toks, nil)
}

func evalCtx(t *testing.T, toks hclwrite.Tokens, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	expr, src := parse(t, toks)
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("evaluate: %s\n%s", diags, src)
	}
	return v
}

func TestStrRoundTrip(t *testing.T) {
	for _, tc := range tricky {
		t.Run(tc.name, func(t *testing.T) {
			got := eval(t, hclgen.Str(tc.s))
			if got.Type() != cty.String {
				t.Fatalf("type %s, want string", got.Type().FriendlyName())
			}
			if got.AsString() != tc.s {
				t.Errorf("round trip:\n got %q\nwant %q", got.AsString(), tc.s)
			}
		})
	}
}

// TestStrIsALiteral checks that the parsed expression is a plain template
// with no interpolation or directive parts: escaping, not luck, keeps
// ${...} inert.
func TestStrIsALiteral(t *testing.T) {
	for _, tc := range tricky {
		t.Run(tc.name, func(t *testing.T) {
			expr, src := parse(t, hclgen.Str(tc.s))
			if vars := expr.Variables(); len(vars) != 0 {
				t.Errorf("literal references variables %v:\n%s", vars, src)
			}
			tpl, ok := expr.(*hclsyntax.TemplateExpr)
			if !ok {
				t.Fatalf("expression is %T, want a quoted template:\n%s", expr, src)
			}
			for _, part := range tpl.Parts {
				if _, ok := part.(*hclsyntax.LiteralValueExpr); !ok {
					t.Errorf("template part %T is not a literal:\n%s", part, src)
				}
			}
		})
	}
}

func TestStrs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"one", []string{"099720109477"}},
		{"tricky", []string{`"q"`, "${x}", "%{y}", "a\nb", "日本"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := eval(t, hclgen.Strs(tc.in))
			if !v.Type().IsListType() && !v.Type().IsTupleType() {
				t.Fatalf("type %s, want a list", v.Type().FriendlyName())
			}
			if v.LengthInt() != len(tc.in) {
				t.Fatalf("length %d, want %d", v.LengthInt(), len(tc.in))
			}
			i := 0
			for it := v.ElementIterator(); it.Next(); i++ {
				_, e := it.Element()
				if e.Type() != cty.String || e.AsString() != tc.in[i] {
					t.Errorf("[%d] = %#v, want %q", i, e, tc.in[i])
				}
			}
		})
	}
}

// objectKeys returns the literal keys of an object constructor in source order.
func objectKeys(t *testing.T, expr hclsyntax.Expression) []string {
	t.Helper()
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("expression is %T, want an object", expr)
	}
	var keys []string
	for _, item := range obj.Items {
		k, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("key: %s", diags)
		}
		keys = append(keys, k.AsString())
	}
	return keys
}

func TestMapSortsKeys(t *testing.T) {
	m := map[string]hclwrite.Tokens{
		"zeta":       hclgen.Str("z"),
		"alpha":      hclgen.Str("a"),
		"managed-by": hclgen.Str("sindri-packer"),
		"Beta":       hclgen.Str("B"),
		"a b":        hclgen.Str("space"),
		"${key}":     hclgen.Str("template-looking key"),
		"10":         hclgen.Str("ten"),
		"9":          hclgen.Str("nine"),
	}
	want := []string{"${key}", "10", "9", "Beta", "a b", "alpha", "managed-by", "zeta"}
	// Map iteration order is random; a missing sort shows up within a few tries.
	for range 20 {
		expr, src := parse(t, hclgen.Map(m))
		if got := objectKeys(t, expr); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("keys in order %q, want %q:\n%s", got, want, src)
		}
	}
	v := eval(t, hclgen.Map(m))
	for k, toks := range m {
		if got, want := v.GetAttr(k), eval(t, toks); !got.RawEquals(want) {
			t.Errorf("[%q] = %#v, want %#v", k, got, want)
		}
	}
}

func TestMapDeterministic(t *testing.T) {
	m := map[string]string{"c": "3", "a": "1", "b": "2", "d": "4", "e": "5"}
	first := hclgen.StrMap(m).Bytes()
	for range 20 {
		if got := hclgen.StrMap(m).Bytes(); !bytes.Equal(got, first) {
			t.Fatalf("output differs between calls:\n%s\n%s", first, got)
		}
	}
}

func TestMapValuesKeepTheirTokens(t *testing.T) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{"config_hash": cty.StringVal("h1")}),
	}}
	v := evalCtx(t, hclgen.Map(map[string]hclwrite.Tokens{
		"literal": hclgen.Str("var.config_hash"),
		"expr":    hclgen.Expr("var.config_hash"),
	}), ctx)
	if got := v.GetAttr("literal").AsString(); got != "var.config_hash" {
		t.Errorf("literal = %q", got)
	}
	if got := v.GetAttr("expr").AsString(); got != "h1" {
		t.Errorf("expr = %q, want the variable's value", got)
	}
}

func TestStrMap(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
	}{
		{"nil", nil},
		{"tricky", map[string]string{
			"quote":   `"`,
			"interp":  "${a}",
			"dir":     "%{b}",
			"newline": "x\ny",
			"unicode": "ü🚀",
			`k"ey`:    "quoted key",
			"${k}":    "interp key",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := eval(t, hclgen.StrMap(tc.in))
			if !v.Type().IsObjectType() {
				t.Fatalf("type %s, want an object", v.Type().FriendlyName())
			}
			if n := len(v.Type().AttributeTypes()); n != len(tc.in) {
				t.Fatalf("%d keys, want %d", n, len(tc.in))
			}
			for k, want := range tc.in {
				if !v.Type().HasAttribute(k) {
					t.Errorf("key %q missing", k)
					continue
				}
				if got := v.GetAttr(k).AsString(); got != want {
					t.Errorf("[%q] = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestExpr(t *testing.T) {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(map[string]cty.Value{"config_hash": cty.StringVal("ABCdef")}),
			"local": cty.ObjectVal(map[string]cty.Value{"image_name": cty.StringVal("img")}),
		},
		Functions: map[string]function.Function{
			"substr": stdlib.SubstrFunc,
			"lower":  stdlib.LowerFunc,
			"format": stdlib.FormatFunc,
		},
	}
	tests := []struct {
		src  string
		want string
	}{
		{"var.config_hash", "ABCdef"},
		{"substr(lower(var.config_hash), 0, 4)", "abcd"},
		{`format("%s.qcow2", local.image_name)`, "img.qcow2"},
		{`"${local.image_name}-x"`, "img-x"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			if got := evalCtx(t, hclgen.Expr(tc.src), ctx); got.AsString() != tc.want {
				t.Errorf("= %q, want %q", got.AsString(), tc.want)
			}
		})
	}
}

func TestExprPanicsOnBadSyntax(t *testing.T) {
	for _, src := range []string{"", `"unterminated`, "1 +", "var.", "f(", ")", "a = b", "${x}"} {
		t.Run(src, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("Expr(%q) did not panic", src)
				}
				if msg, _ := r.(string); !strings.Contains(msg, "hclgen: bad expression") {
					t.Errorf("panic %v does not name the problem", r)
				}
			}()
			hclgen.Expr(src)
		})
	}
}

// body runs fill on a fresh body and parses the result.
func body(t *testing.T, fill func(hclgen.Body)) (*hclsyntax.Body, []byte) {
	t.Helper()
	f := hclwrite.NewEmptyFile()
	fill(hclgen.Body{Body: f.Body()})
	file, diags := hclsyntax.ParseConfig(f.Bytes(), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("output does not parse: %s\n%s", diags, f.Bytes())
	}
	return file.Body.(*hclsyntax.Body), f.Bytes()
}

// attrValue evaluates an attribute that holds literals only.
func attrValue(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	return cloudtest.ValueIn(t, b, name, nil)
}

func TestBody(t *testing.T) {
	b, src := body(t, func(b hclgen.Body) {
		b.Set("raw", hclgen.Strs([]string{"a", "b"}))
		b.Str("str", "${not interpolated}")
		b.Str("str_empty", "")
		b.StrIf("strif_set", `"quoted"`)
		b.StrIf("strif_empty", "")
		b.Int("int", 80)
		b.Int("zero", 0)
		b.Bool("yes", true)
		b.Bool("no", false)
		b.Strs("strs_set", []string{"x"})
		b.Strs("strs_nil", nil)
		b.Strs("strs_empty", []string{})
		inner := b.Block("shared_image_gallery_destination")
		inner.Str("gallery_name", "g")
		b.Block("source", "amazon-ebs", "sindri").Bool("nested", true)
	})

	wantAttrs := []string{"raw", "str", "str_empty", "strif_set", "int", "zero", "yes", "no", "strs_set"}
	if len(b.Attributes) != len(wantAttrs) {
		var got []string
		for k := range b.Attributes {
			got = append(got, k)
		}
		t.Errorf("attributes %q, want %q:\n%s", got, wantAttrs, src)
	}
	for _, skipped := range []string{"strif_empty", "strs_nil", "strs_empty"} {
		if _, ok := b.Attributes[skipped]; ok {
			t.Errorf("%s written for an empty value:\n%s", skipped, src)
		}
	}
	if v := attrValue(t, b, "raw"); v.LengthInt() != 2 {
		t.Errorf("raw = %#v", v)
	}
	if v := attrValue(t, b, "str"); v.AsString() != "${not interpolated}" {
		t.Errorf("str = %#v", v)
	}
	if v := attrValue(t, b, "str_empty"); v.AsString() != "" {
		t.Errorf("str_empty = %#v; Str must write empty values", v)
	}
	if v := attrValue(t, b, "strif_set"); v.AsString() != `"quoted"` {
		t.Errorf("strif_set = %#v", v)
	}
	if v := attrValue(t, b, "int"); !v.RawEquals(cty.NumberIntVal(80)) {
		t.Errorf("int = %#v", v)
	}
	if v := attrValue(t, b, "zero"); !v.RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("zero = %#v", v)
	}
	if v := attrValue(t, b, "yes"); !v.RawEquals(cty.True) {
		t.Errorf("yes = %#v", v)
	}
	if v := attrValue(t, b, "no"); !v.RawEquals(cty.False) {
		t.Errorf("no = %#v", v)
	}
	if v := attrValue(t, b, "strs_set"); v.LengthInt() != 1 {
		t.Errorf("strs_set = %#v", v)
	}

	if len(b.Blocks) != 2 {
		t.Fatalf("%d blocks, want 2:\n%s", len(b.Blocks), src)
	}
	g := b.Blocks[0]
	if g.Type != "shared_image_gallery_destination" || len(g.Labels) != 0 {
		t.Errorf("first block %s %q", g.Type, g.Labels)
	}
	if v := attrValue(t, g.Body, "gallery_name"); v.AsString() != "g" {
		t.Errorf("gallery_name = %#v", v)
	}
	s := b.Blocks[1]
	if s.Type != "source" || strings.Join(s.Labels, ",") != "amazon-ebs,sindri" {
		t.Errorf("second block %s %q", s.Type, s.Labels)
	}
	if v := attrValue(t, s.Body, "nested"); !v.RawEquals(cty.True) {
		t.Errorf("nested = %#v", v)
	}
}
