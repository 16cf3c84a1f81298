// Package cloudtest holds the test helpers of the cloud packages: render a
// target's source block the way the renderer does, parse it back with the
// native HCL parser and evaluate attributes against stand-ins for Packer's
// variables. Only tests import it.
package cloudtest

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// SindriVersion stands in for var.sindri_version, the release the
// templates install and tag.
const SindriVersion = "3.0.1"

// evalCtx stands in for what Packer supplies at build time; the values are
// distinctive so a literal string cannot pass for a variable reference.
var EvalCtx = &hcl.EvalContext{
	Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{
			"config_hash":          cty.StringVal("CFG-HASH-123"),
			"sindri_version":       cty.StringVal(SindriVersion),
			"azure_client_id":      cty.StringVal("AZ-CLIENT-ID"),
			"azure_tenant_id":      cty.StringVal("AZ-TENANT-ID"),
			"azure_client_jwt":     cty.StringVal(""),
			"azure_client_secret":  cty.StringVal(""),
			"run_id":               cty.StringVal("run-42"),
			"oci_access_cfg_file":  cty.StringVal("/test/oci/config"),
			"qemu_accelerator":     cty.StringVal("test-accel"),
			"qemu_output_dir":      cty.StringVal("/test/out"),
			"ssh_public_key":       cty.StringVal("ssh-ed25519 AAAATEST test@key"),
			"ssh_private_key_file": cty.StringVal("/test/key"),
		}),
		"local": cty.ObjectVal(map[string]cty.Value{"image_name": cty.StringVal("sindri-20240101"), "build_time": cty.StringVal("20260214093005")}),
	},
	Functions: map[string]function.Function{
		"format":        stdlib.FormatFunc,
		"parseint":      stdlib.ParseIntFunc,
		"lower":         stdlib.LowerFunc,
		"substr":        stdlib.SubstrFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
	},
}

// load parses a sindri.yaml from a string, so defaults and validation apply
// exactly as for a file; no environment variable is set.
func Load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("sindri.yaml", []byte(yaml), config.Options{
		Getenv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// source renders the builder's source block and returns its parsed body.
func Source(t *testing.T, c cloud.Target, cfg *config.Config) *hclsyntax.Body {
	t.Helper()
	f := hclwrite.NewEmptyFile()
	blk := f.Body().AppendNewBlock("source", []string{c.SourceType(), "sindri"})
	c.Source(blk.Body(), cfg, cloud.Meta{ImageName: hclgen.Expr("local.image_name")})
	file, diags := hclsyntax.ParseConfig(f.Bytes(), "t.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("source does not parse: %s\n%s", diags, f.Bytes())
	}
	return file.Body.(*hclsyntax.Body).Blocks[0].Body
}

func Has(b *hclsyntax.Body, name string) bool {
	_, ok := b.Attributes[name]
	return ok
}

// Value evaluates an attribute against EvalCtx.
func Value(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	return ValueIn(t, b, name, EvalCtx)
}

// ValueIn evaluates an attribute against ctx (nil: literals only).
func ValueIn(t *testing.T, b *hclsyntax.Body, name string, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		t.Fatalf("attribute %s missing", name)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", name, diags)
	}
	return v
}

// typed is Value, failing the test unless the value is of type want.
func typed(t *testing.T, b *hclsyntax.Body, name string, want cty.Type) cty.Value {
	t.Helper()
	v := Value(t, b, name)
	if v.Type() != want {
		t.Fatalf("%s is %s, want %s", name, v.Type().FriendlyName(), want.FriendlyName())
	}
	return v
}

func Str(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	return typed(t, b, name, cty.String).AsString()
}

func Bool(t *testing.T, b *hclsyntax.Body, name string) bool {
	t.Helper()
	return typed(t, b, name, cty.Bool).True()
}

func Int(t *testing.T, b *hclsyntax.Body, name string) int64 {
	t.Helper()
	n, _ := typed(t, b, name, cty.Number).AsBigFloat().Int64()
	return n
}

func Strs(t *testing.T, b *hclsyntax.Body, name string) []string {
	t.Helper()
	var out []string
	for it := Value(t, b, name).ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

func StrMap(t *testing.T, b *hclsyntax.Body, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for it := Value(t, b, name).ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e.AsString()
	}
	return out
}

// refs returns the variable references of an attribute, e.g. "var.run_id".
func Refs(t *testing.T, b *hclsyntax.Body, name string) []string {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		t.Fatalf("attribute %s missing", name)
	}
	var out []string
	for _, tr := range a.Expr.Variables() {
		out = append(out, string(hclwrite.TokensForTraversal(tr).Bytes()))
	}
	return out
}

func Blocks(b *hclsyntax.Body, typ string) int {
	n := 0
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			n++
		}
	}
	return n
}

func Block(t *testing.T, b *hclsyntax.Body, typ string) *hclsyntax.Body {
	t.Helper()
	if n := Blocks(b, typ); n != 1 {
		t.Fatalf("%d %s Blocks, want 1", n, typ)
	}
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			return blk.Body
		}
	}
	return nil
}
