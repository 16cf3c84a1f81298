package azure_test

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

const minimal = `
packer:
  cloud: azure
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: image-rg
`

func TestIdentity(t *testing.T) {
	c := azure.Cloud{}
	cloudtest.CheckIdentity(t, c, cloudtest.Identity{
		Name: "azure", SourceType: "azure-arm", Plugin: "azure",
		Minimal: minimal, DefaultUser: "packer", User: "azureuser",
	})
	// The service principal's login; the secrets are sensitive, and
	// every default is empty (the Azure CLI login).
	sensitive := map[string]bool{}
	for _, v := range c.Variables(cloudtest.Load(t, minimal)) {
		if v.Default != "" {
			t.Errorf("variable %s defaults to %q", v.Name, v.Default)
		}
		sensitive[v.Name] = v.Sensitive
	}
	if want := map[string]bool{"azure_client_id": false, "azure_tenant_id": false, "azure_client_jwt": true, "azure_client_secret": true}; !maps.Equal(sensitive, want) {
		t.Errorf("variables (sensitive?) %v, want %v", sensitive, want)
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal))
	cloudtest.WantStrs(t, b, map[string]string{
		"subscription_id":                    "00000000-0000-0000-0000-000000000000",
		"os_type":                            "Linux",
		"image_publisher":                    "Canonical",
		"image_offer":                        "ubuntu-24_04-lts",
		"image_sku":                          "server",
		"location":                           "westus2",
		"vm_size":                            "Standard_D4s_v4",
		"managed_image_name":                 "sindri-20240101",
		"managed_image_resource_group_name":  "image-rg",
		"managed_image_storage_account_type": "Premium_LRS",
		"ssh_username":                       "packer",
		"ssh_timeout":                        "20m",
	})
	// Credentials are never in the template: variables (Prepare fills
	// them from the environment), else the Azure CLI login.
	if !cloudtest.Bool(t, b, "use_azure_cli_auth") {
		t.Error("use_azure_cli_auth is not true without a JWT or secret")
	}
	cloudtest.WantStrs(t, b, map[string]string{"client_id": "AZ-CLIENT-ID", "tenant_id": "AZ-TENANT-ID", "client_jwt": "", "client_secret": ""})
	if cloudtest.Has(b, "client_cert_path") {
		t.Error("client_cert_path written into the template")
	}
	for _, v := range []string{"azure_client_jwt", "azure_client_secret"} {
		ctx := cloudtest.EvalCtx.NewChild()
		vars := cloudtest.EvalCtx.Variables["var"].AsValueMap()
		vars[v] = cty.StringVal("set")
		ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(vars)}
		got, diags := b.Attributes["use_azure_cli_auth"].Expr.Value(ctx)
		if diags.HasErrors() || got.True() {
			t.Errorf("with %s set, use_azure_cli_auth = %#v (%s), want false", v, got, diags)
		}
	}
	cloudtest.WantInt(t, b, "os_disk_size_gb", 80)
	if n := cloudtest.Blocks(b, "shared_image_gallery_destination"); n != 0 {
		t.Errorf("shared_image_gallery_destination written without a gallery")
	}
	// The build VM and the image share one tag set, run tags included.
	cloudtest.WantStrMap(t, b, cloudtest.WithRunTags(cloudtest.ImageTags(map[string]string{
		// The build time (cloudtest's local.build_time): a managed image
		// has no creation time of its own on the wire.
		azure.CreatedTag: "2026-02-14T09:30:05Z",
	})), "azure_tags")
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal+`  image_publisher: Debian
  image_offer: debian-12
  image_sku: 12-gen2
  location: westeurope
  os_disk_size_gb: 128
  tags: {Team: platform}
`))
	cloudtest.WantStrs(t, b, map[string]string{
		"image_publisher": "Debian",
		"image_offer":     "debian-12",
		"image_sku":       "12-gen2",
		"location":        "westeurope",
	})
	cloudtest.WantInt(t, b, "os_disk_size_gb", 128)
	if got := cloudtest.StrMap(t, b, "azure_tags")["Team"]; got != "platform" {
		t.Errorf("azure_tags[Team] = %q, want the user tag", got)
	}
}

func TestSourceGallery(t *testing.T) {
	tests := []struct {
		name    string
		gallery string
		wantRG  string
		regions []string
	}{
		{
			name: "own resource group and regions",
			gallery: `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.2.3
    resource_group: gallery-rg
    replication_regions: [westus2, eastus]
`,
			wantRG:  "gallery-rg",
			regions: []string{"westus2", "eastus"},
		},
		{
			name: "resource group defaults to the image's",
			gallery: `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.2.3
`,
			wantRG: "image-rg",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, minimal+tc.gallery))
			d := cloudtest.Block(t, b, "shared_image_gallery_destination")
			cloudtest.WantStrs(t, d, map[string]string{
				"subscription":   "00000000-0000-0000-0000-000000000000",
				"resource_group": tc.wantRG,
				"gallery_name":   "sindri_gallery",
				"image_name":     "sindri-dev",
				// 1.2 as configured; the patch is the build's minute
				// (2026-02-14 09:30 on the 31-day calendar from 2025)
				// and the location's slot (westus2 is 8).
				"image_version": "1.2.59961008",
			})
			if tc.regions == nil {
				if cloudtest.Has(d, "replication_regions") {
					t.Error("replication_regions written without regions")
				}
			} else if got := cloudtest.Strs(t, d, "replication_regions"); !slices.Equal(got, tc.regions) {
				t.Errorf("replication_regions = %q, want %q", got, tc.regions)
			}
			// The managed image is still produced beside the gallery version.
			if got := cloudtest.Str(t, b, "managed_image_resource_group_name"); got != "image-rg" {
				t.Errorf("managed_image_resource_group_name = %q", got)
			}
		})
	}
}

// Prepare hands Packer the service principal the Env names (a workload
// identity token file, else a client secret) in a private variable file.
func TestPrepareCredentials(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJ.fake\"${x}.jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // the var file, "" for none
	}{
		{name: "nothing set: the CLI login", env: map[string]string{}},
		{name: "an id without a credential", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant"}},
		{name: "workload identity token", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant", "AZURE_FEDERATED_TOKEN_FILE": token, "AZURE_CLIENT_SECRET": "ignored"},
			want: "azure_client_id  = \"app\"\nazure_client_jwt = \"eyJ.fake\\\"$${x}.jwt\"\nazure_tenant_id  = \"tenant\"\n"},
		{name: "client secret", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant", "AZURE_CLIENT_SECRET": "s3cret"},
			want: "azure_client_id     = \"app\"\nazure_client_secret = \"s3cret\"\nazure_tenant_id     = \"tenant\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kv []string
			for k, v := range tt.env {
				kv = append(kv, k+"="+v)
			}
			run := &cloud.BuildRun{WorkDir: t.TempDir()}
			vars, cleanup, err := azure.Cloud{Env: cloud.EnvList(kv)}.Prepare(t.Context(), run)
			if err != nil || vars != nil || cleanup != nil {
				t.Fatalf("Prepare = %v, %v, %v", vars, cleanup != nil, err)
			}
			if tt.want == "" {
				if len(run.VarFiles) != 0 {
					t.Fatalf("var files %v, want none", run.VarFiles)
				}
				return
			}
			if len(run.VarFiles) != 1 {
				t.Fatalf("var files %v", run.VarFiles)
			}
			b, err := os.ReadFile(run.VarFiles[0])
			if err != nil || string(b) != tt.want {
				t.Fatalf("var file:\n%s\nwant:\n%s", b, tt.want)
			}
			if fi, _ := os.Stat(run.VarFiles[0]); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
		})
	}
	missing := cloud.EnvList([]string{"AZURE_CLIENT_ID=app", "AZURE_TENANT_ID=tenant", "AZURE_FEDERATED_TOKEN_FILE=" + filepath.Join(t.TempDir(), "missing")})
	if _, _, err := (azure.Cloud{Env: missing}).Prepare(t.Context(), &cloud.BuildRun{WorkDir: t.TempDir()}); err == nil {
		t.Fatal("a missing token file is no error")
	}
}

// With an Env, the process environment is not read: the command line's
// own environment is the one that counts.
func TestPrepareReadsOnlyTheEnv(t *testing.T) {
	t.Setenv("AZURE_CLIENT_ID", "app")
	t.Setenv("AZURE_TENANT_ID", "tenant")
	t.Setenv("AZURE_CLIENT_SECRET", "process-secret")
	run := &cloud.BuildRun{WorkDir: t.TempDir()}
	if _, _, err := (azure.Cloud{Env: cloud.EnvList(nil)}).Prepare(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if len(run.VarFiles) != 0 {
		t.Errorf("Prepare read the process environment: var files %v", run.VarFiles)
	}
	// The zero value (nil Env) reads the process environment.
	if _, _, err := (azure.Cloud{}).Prepare(t.Context(), run); err != nil || len(run.VarFiles) != 1 {
		t.Errorf("zero value: var files %v, %v; want the process's service principal", run.VarFiles, err)
	}
}

// artifactString is azure-arm's Artifact.String() for a managed image also
// published to a gallery (format of packer-plugin-azure v1.4.0).
const artifactString = `Azure.ResourceManagement.VMImage:

OSType: Linux
ManagedImageResourceGroupName: sindri-rg
ManagedImageName: sindri-dev-20261125
ManagedImageId: /subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125
ManagedImageLocation: westus2
ManagedImageSharedImageGalleryId: /subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/galleries/g/images/sindri-dev/versions/1.0.0
SharedImageGalleryResourceGroup: sindri-rg
`

func TestDescribeKeepsBothIDs(t *testing.T) {
	img := azure.Cloud{}.Describe(&cloud.BuildRun{Hash: "h"}, cloud.Artifact{ID: "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125", String: artifactString}, nil)
	managed := "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/images/sindri-dev-20261125"
	if img.ID != managed || img.Extra["managed_image_id"] != managed {
		t.Errorf("managed image id: %+v", img)
	}
	if got := img.Extra["gallery_image_version_id"]; got != "/subscriptions/0000/resourceGroups/sindri-rg/providers/Microsoft.Compute/galleries/g/images/sindri-dev/versions/1.0.0" {
		t.Errorf("gallery version id %q", got)
	}
	if img.Name != "sindri-dev-20261125" || img.Regions["westus2"] != managed || img.ConfigHash != "h" {
		t.Errorf("%+v", img)
	}
}

func TestDescribeGalleryOnly(t *testing.T) {
	s := "Azure.ResourceManagement.VMImage:\n\nOSType: Linux\nManagedImageSharedImageGalleryId: /g/v/1\n"
	img := azure.Cloud{}.Describe(&cloud.BuildRun{}, cloud.Artifact{ID: "", String: s}, nil)
	if img.ID != "/g/v/1" || img.Extra["managed_image_id"] != "" {
		t.Errorf("%+v", img)
	}
	plain := azure.Cloud{}.Describe(&cloud.BuildRun{}, cloud.Artifact{ID: "x"}, nil)
	if plain.ID != "x" || plain.Extra != nil {
		t.Errorf("%+v", plain)
	}
}

// renderedVersion renders the azure source of yaml and evaluates its
// gallery image_version as Packer would for a build started at bt.
func renderedVersion(t *testing.T, yaml string, bt time.Time) string {
	t.Helper()
	d := cloudtest.Block(t, cloudtest.Source(t, azure.Cloud{}, cloudtest.Load(t, yaml)), "shared_image_gallery_destination")
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{
			"build_time": cty.StringVal(bt.UTC().Format("20060102150405")),
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
	for _, r := range azure.KnownRegions {
		s := azure.RegionSlot(r)
		if s < 1 || s >= azure.RegionSlots-20 {
			t.Errorf("%s: slot %d outside the table's range", r, s)
		}
		if o, ok := slots[s]; ok {
			t.Errorf("%s and %s share slot %d", r, o, s)
		}
		slots[s] = r
	}
	if azure.RegionSlot("West Europe") != azure.RegionSlot("westeurope") {
		t.Error("a display name and its location name get different slots")
	}
}

// The template's expression and azure.GalleryImageVersion agree, minute by
// minute, and the patch grows with time and fits int32 until 2065.
func TestGalleryVersionExpressionMatchesGo(t *testing.T) {
	prev := int64(-1)
	for bt := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); bt.Year() < 2065; bt = bt.Add(97*24*time.Hour + 13*time.Hour + 7*time.Minute) {
		got := renderedVersion(t, galleryYAML("eastus"), bt)
		if want := azure.GalleryImageVersion("1.4.0", "eastus", bt); got != want {
			t.Fatalf("at %s: template says %s, Go says %s", bt, got, want)
		}
		_, _, p := patch(t, got)
		if p <= prev {
			t.Fatalf("at %s: patch %d not after %d", bt, p, prev)
		}
		prev = p
	}
	last := azure.GalleryImageVersion("1.4.0", "someregionfromthefuture", time.Date(2064, 12, 31, 23, 59, 0, 0, time.UTC))
	if _, _, p := patch(t, last); p > math.MaxInt32 {
		t.Errorf("last version %s overflows", last)
	}
}

// Only numbers reach the version expression: anything else is written as
// the literal string it is (the loader refuses it before that).
func TestGalleryVersionOnlyNumbersEnterTheExpression(t *testing.T) {
	for _, v := range []string{`1.2`, `1.2.3.4`, `${var.x}.1.0`, `1."}.0`, `01x.2.3`, `1.2.99999999999`} {
		if toks, lit := azure.GalleryVersionExpr(v, "eastus"), hclgen.Str(v); string(toks.Bytes()) != string(lit.Bytes()) {
			t.Errorf("%q rendered as %s", v, toks.Bytes())
		}
		if _, ok := azure.MajorMinor(v); ok {
			t.Errorf("azure.MajorMinor(%q) accepted", v)
		}
	}
}
