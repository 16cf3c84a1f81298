package azure

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// renderedVersion renders the azure source of yaml and evaluates its
// gallery image_version as Packer would for a build started at bt.
func renderedVersion(t *testing.T, yaml string, bt time.Time) string {
	t.Helper()
	d := cloudtest.Block(t, cloudtest.Source(t, Cloud{}, cloudtest.Load(t, yaml)), "shared_image_gallery_destination")
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{
			"build_time": cty.StringVal(bt.UTC().Format(nameTime)),
		})},
		Functions: cloudtest.EvalCtx.Functions,
	}
	v, diags := d.Attributes["image_version"].Expr.(hclsyntax.Expression).Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("image_version: %s", diags)
	}
	return v.AsString()
}

func galleryYAML(location string) string {
	return `
packer:
  cloud: azure
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: image-rg
  location: ` + location + `
  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.4.0
    replication_regions: [` + location + `]
`
}

// patch reads the version's MAJOR.MINOR.PATCH as numbers, failing unless
// each fits the 32-bit integers Azure's version format allows.
func patch(t *testing.T, v string) (major, minor, patch int64) {
	t.Helper()
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		t.Fatalf("version %q is not MAJOR.MINOR.PATCH", v)
	}
	var n [3]int64
	for i, p := range parts {
		x, err := strconv.ParseInt(p, 10, 32)
		if err != nil || x < 0 {
			t.Fatalf("version %q: part %q is not a non-negative int32", v, p)
		}
		n[i] = x
	}
	return n[0], n[1], n[2]
}

// A scheduled repave or a --rebuild builds the same config again: the
// plugin refuses an existing gallery version, so each build must publish
// a new one, and the later build's must be the greater (Azure's "latest").
func TestGalleryVersionNewPerRepave(t *testing.T) {
	first := time.Date(2026, 3, 31, 23, 59, 10, 0, time.UTC)
	for _, later := range []time.Time{
		first.Add(time.Minute),                      // --rebuild right after (next month, too)
		first.Add(30 * 24 * time.Hour),              // the scheduled repave
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), // a new year
	} {
		a, b := renderedVersion(t, galleryYAML("westeurope"), first), renderedVersion(t, galleryYAML("westeurope"), later)
		if a == b {
			t.Fatalf("builds at %s and %s both publish %s", first, later, a)
		}
		ma, mi, pa := patch(t, a)
		mb, mib, pb := patch(t, b)
		if ma != 1 || mi != 4 || mb != 1 || mib != 4 {
			t.Errorf("versions %s, %s do not keep the configured 1.4", a, b)
		}
		if pb <= pa {
			t.Errorf("later build's %s does not sort after %s", b, a)
		}
	}
}

// Per-region matrix jobs (matrix --per-region, build --region) render the
// same config with another location and start in the same minute: they
// publish into one gallery image and must not collide.
func TestGalleryVersionPerRegionMatrixJobsDiffer(t *testing.T) {
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	seen := map[string]string{}
	for _, region := range []string{"westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth", "someregionfromthefuture"} {
		v := renderedVersion(t, galleryYAML(region), at)
		if other, ok := seen[v]; ok {
			t.Fatalf("jobs in %s and %s both publish %s", other, region, v)
		}
		seen[v] = region
	}
	// Every known region has a slot of its own, within the slots.
	slots := map[int]string{}
	for _, r := range azureRegions {
		s := regionSlot(r)
		if s < 1 || s >= regionSlots-20 {
			t.Errorf("%s: slot %d outside the table's range", r, s)
		}
		if o, ok := slots[s]; ok {
			t.Errorf("%s and %s share slot %d", r, o, s)
		}
		slots[s] = r
	}
	if regionSlot("West Europe") != regionSlot("westeurope") {
		t.Error("a display name and its location name get different slots")
	}
}

// The template's expression and GalleryImageVersion agree, minute by
// minute, and the patch grows with time and fits int32 until 2065.
func TestGalleryVersionExpressionMatchesGo(t *testing.T) {
	prev := int64(-1)
	for bt := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); bt.Year() < 2065; bt = bt.Add(97*24*time.Hour + 13*time.Hour + 7*time.Minute) {
		got := renderedVersion(t, galleryYAML("eastus"), bt)
		if want := GalleryImageVersion("1.4.0", "eastus", bt); got != want {
			t.Fatalf("at %s: template says %s, Go says %s", bt, got, want)
		}
		_, _, p := patch(t, got)
		if p <= prev {
			t.Fatalf("at %s: patch %d not after %d", bt, p, prev)
		}
		prev = p
	}
	last := GalleryImageVersion("1.4.0", "someregionfromthefuture", time.Date(2064, 12, 31, 23, 59, 0, 0, time.UTC))
	if _, _, p := patch(t, last); p > math.MaxInt32 {
		t.Errorf("last version %s overflows", last)
	}
}

// Only numbers reach the version expression: anything else is written as
// the literal string it is (the loader refuses it before that).
func TestGalleryVersionOnlyNumbersEnterTheExpression(t *testing.T) {
	for _, v := range []string{`1.2`, `1.2.3.4`, `${var.x}.1.0`, `1."}.0`, `01x.2.3`, `1.2.99999999999`} {
		if toks, lit := galleryVersionExpr(v, "eastus"), hclgen.Str(v); string(toks.Bytes()) != string(lit.Bytes()) {
			t.Errorf("%q rendered as %s", v, toks.Bytes())
		}
		if _, ok := majorMinor(v); ok {
			t.Errorf("majorMinor(%q) accepted", v)
		}
	}
}
