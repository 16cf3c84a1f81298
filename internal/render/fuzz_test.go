package render

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/text/unicode/norm"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// injectable names every string a user controls that reaches a template,
// with how the renderer writes it: verbatim, or inside "KEY=value".
var injectable = []struct {
	cloud, field string
	set          func(c *config.Config, s string)
	want         func(s string) string
}{
	{"aws", "region", func(c *config.Config, s string) { c.Packer.Clouds.AWS.Region = s }, same},
	{"aws", "tags value", func(c *config.Config, s string) { c.Packer.Clouds.AWS.Tags["Team"] = s }, same},
	{"aws", "tags key", func(c *config.Config, s string) { c.Packer.Clouds.AWS.Tags = map[string]string{s: "v"} }, same},
	{"aws", "ami_users", func(c *config.Config, s string) { c.Packer.Clouds.AWS.AMIUsers = []string{s} }, same},
	{"aws", "build.description", func(c *config.Config, s string) { c.Packer.Build.Description = s }, same},
	{"aws", "build.name_prefix", func(c *config.Config, s string) { c.Packer.Build.NamePrefix = s }, same},
	{"aws", "build.environment", func(c *config.Config, s string) { c.Packer.Build.Environment = map[string]string{"X": s} }, env("X")},
	{"aws", "build.sindri_release_url", func(c *config.Config, s string) { c.Packer.Build.SindriReleaseURL = s }, env("SINDRI_RELEASE_BASE_URL")},
	// The profile is the default of the template's profile variable (so
	// `packer build -var profile=...` works); the script gets it through
	// SINDRI_PROFILE=${var.profile}.
	{"aws", "build.profile", func(c *config.Config, s string) { c.Packer.Build.Profile = s }, same},
	{"azure", "subscription_id", func(c *config.Config, s string) { c.Packer.Clouds.Azure.SubscriptionID = s }, same},
	{"gcp", "network", func(c *config.Config, s string) { c.Packer.Clouds.GCP.Network = s }, same},
	{"gcp", "labels value", func(c *config.Config, s string) { c.Packer.Clouds.GCP.Labels["team"] = s }, same},
	{"oci", "availability_domain", func(c *config.Config, s string) { c.Packer.Clouds.OCI.AvailabilityDomain = s }, same},
	{"alibaba", "source_image_family", func(c *config.Config, s string) { c.Packer.Clouds.Alibaba.SourceImageFamily = s }, same},
	{"qemu", "base_image", func(c *config.Config, s string) { c.Packer.Clouds.QEMU.BaseImage = s }, same},
	{"qemu", "ssh_username", func(c *config.Config, s string) { c.Packer.Clouds.QEMU.SSHUsername = s }, same},
	{"qemu", "file_uploads.destination", func(c *config.Config, s string) {
		c.Packer.Build.FileUploads = []config.FileUpload{{Source: "files/motd", Destination: s}}
	}, env("SINDRI_UPLOAD_DEST")},
}

func same(s string) string { return s }

func env(k string) func(string) string { return func(s string) string { return k + "=" + s } }

// FuzzRenderValue proves that no value can inject HCL: whatever string a
// user puts in a field, the template parses, has exactly the structure it
// has with a harmless value, and holds exactly that string as a literal.
func FuzzRenderValue(f *testing.F) {
	for _, s := range []string{`x`, `"`, `${var.x}`, `%{if true}`, "a\nb", `\`, `$${x}`, `"} foo = {`, "ünï©ødé ☃", "\t\r", `%%{`, `}`} {
		f.Add(uint8(0), s)
	}
	configs := map[string]*config.Config{}
	for _, cloud := range config.Clouds {
		cfg, err := config.Load(filepath.Join("testdata", "configs", cloud+".yaml"), config.Options{Getenv: lookup(exampleEnv)})
		if err != nil {
			f.Fatal(err)
		}
		configs[cloud] = cfg
	}
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		if !utf8.ValidString(s) {
			return // the loader rejects such files
		}
		s = norm.NFC.String(s) // the loader normalises every value
		if s == "" {
			return // an empty optional field is left out of the template
		}
		in := injectable[int(which)%len(injectable)]
		render := func(v string) *hclsyntax.Body {
			cfg := clone(t, configs[in.cloud])
			in.set(cfg, v)
			files, err := Render(cfg, []string{in.cloud}, Options{SindriVersion: "3.1.0"})
			if err != nil {
				t.Fatal(err)
			}
			file, diags := hclsyntax.ParseConfig(files[0].Data, "t.pkr.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("%s %s = %q: rendered HCL does not parse: %s\n%s", in.cloud, in.field, v, diags, files[0].Data)
			}
			return file.Body.(*hclsyntax.Body)
		}
		got := render(s)
		base := render("harmless")
		if a, b := shape(got), shape(base); a != b {
			t.Fatalf("%s %s = %q changed the template's structure:\n%s\nvs\n%s", in.cloud, in.field, s, a, b)
		}
		if lits := literals(t, got); !slices.Contains(lits, in.want(s)) {
			t.Fatalf("%s %s = %q: no literal equals %q; literals: %q", in.cloud, in.field, s, in.want(s), lits)
		}
	})
}

// shape lists every block and attribute name, which an injection would change.
func shape(b *hclsyntax.Body) string {
	var sb strings.Builder
	var walk func(b *hclsyntax.Body, indent string)
	walk = func(b *hclsyntax.Body, indent string) {
		names := make([]string, 0, len(b.Attributes))
		for n := range b.Attributes {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&sb, "%s%s =\n", indent, n)
		}
		for _, blk := range b.Blocks {
			fmt.Fprintf(&sb, "%s%s %q {\n", indent, blk.Type, blk.Labels)
			walk(blk.Body, indent+"  ")
		}
	}
	walk(b, "")
	return sb.String()
}

// literals evaluates every constant expression (no variables, no
// functions) and collects the strings, including map keys and list items.
func literals(t *testing.T, b *hclsyntax.Body) []string {
	var out []string
	var collect func(v cty.Value)
	collect = func(v cty.Value) {
		switch {
		case !v.IsKnown() || v.IsNull():
		case v.Type() == cty.String:
			out = append(out, v.AsString())
		case v.Type().IsObjectType() || v.Type().IsMapType() || v.Type().IsTupleType() || v.Type().IsListType():
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				if k.Type() == cty.String {
					out = append(out, k.AsString())
				}
				collect(e)
			}
		}
	}
	var visit func(e hclsyntax.Expression)
	visit = func(e hclsyntax.Expression) {
		if len(e.Variables()) == 0 && !hasCall(e) {
			if v, diags := e.Value(nil); !diags.HasErrors() {
				collect(v)
				return
			}
		}
		switch x := e.(type) {
		case *hclsyntax.FunctionCallExpr:
			for _, a := range x.Args {
				visit(a)
			}
		case *hclsyntax.TupleConsExpr:
			for _, it := range x.Exprs {
				visit(it)
			}
		case *hclsyntax.ObjectConsExpr:
			for _, it := range x.Items {
				visit(it.KeyExpr)
				visit(it.ValueExpr)
			}
		}
	}
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, a := range b.Attributes {
			visit(a.Expr)
		}
		for _, blk := range b.Blocks {
			walk(blk.Body)
		}
	}
	walk(b)
	return out
}

func hasCall(e hclsyntax.Expression) bool {
	found := false
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		if _, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			found = true
		}
		return nil
	})
	return found
}

// clone deep-copies a config through reflection so cases never share maps.
func clone(t *testing.T, c *config.Config) *config.Config {
	t.Helper()
	return deepCopy(reflect.ValueOf(c)).Interface().(*config.Config)
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Elem().Type())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if n.Field(i).CanSet() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMap(v.Type())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	}
	return v
}
