package gcp_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
)

const minimal = `
packer:
  cloud: gcp
  project_id: my-project-123
`

func TestIdentity(t *testing.T) {
	cloudtest.CheckIdentity(t, gcp.Cloud{}, cloudtest.Identity{
		Name: "gcp", SourceType: "googlecompute", Plugin: "googlecompute",
		Minimal: minimal, DefaultUser: "packer", User: "builder", NoVariables: true,
	})
}

var labelRule = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

func TestLabelValue(t *testing.T) {
	for _, tc := range labelValueCases {
		t.Run(tc.in, func(t *testing.T) {
			got := gcp.LabelValue(tc.in)
			if got != tc.want {
				t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !labelRule.MatchString(got) {
				t.Errorf("LabelValue(%q) = %q breaks GCP's label rules", tc.in, got)
			}
		})
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, gcp.Cloud{}, cloudtest.Load(t, minimal))
	cloudtest.WantStrs(t, b, map[string]string{
		"project_id":          "my-project-123",
		"zone":                "us-west1-a",
		"machine_type":        "e2-standard-4",
		"source_image_family": "ubuntu-2404-lts-amd64",
		"disk_type":           "pd-ssd",
		"image_name":          "sindri-20240101",
		"ssh_username":        "packer",
		"ssh_timeout":         "20m",
	})
	if got := cloudtest.Strs(t, b, "source_image_project_id"); !slices.Equal(got, []string{"ubuntu-os-cloud"}) {
		t.Errorf("source_image_project_id = %q", got)
	}
	cloudtest.WantInt(t, b, "disk_size", 80)
	if !cloudtest.Bool(t, b, "enable_secure_boot") {
		t.Error("enable_secure_boot is not true by default")
	}
	cloudtest.WantAbsent(t, b, "image_family", "image_description", "network", "subnetwork")
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, gcp.Cloud{}, cloudtest.Load(t, minimal+`  zone: europe-west4-a
  disk_size: 200
  enable_secure_boot: false
  network: default
  subnetwork: projects/p/regions/r/subnetworks/s
  labels: {team: platform, env: dev}
  build:
    image_family: team-dev
    description: Team image
`))
	cloudtest.WantStrs(t, b, map[string]string{
		"zone":              "europe-west4-a",
		"image_family":      "team-dev",
		"image_description": "Team image",
		"network":           "default",
		"subnetwork":        "projects/p/regions/r/subnetworks/s",
	})
	cloudtest.WantInt(t, b, "disk_size", 200)
	if cloudtest.Bool(t, b, "enable_secure_boot") {
		t.Error("enable_secure_boot is true although the config turns it off")
	}

	// Label values must be lower case: the version is adapted, the hash is
	// lowered and cut by Packer at build time.
	wantImage := map[string]string{
		"team": "platform", "env": "dev",
		"managed-by": "sindri-packer", "sindri-version": "3-0-1", "config-hash": "cfg-hash-123",
	}
	cloudtest.WantStrMap(t, b, wantImage, "image_labels")
	cloudtest.WantStrMap(t, b, cloudtest.WithRunTags(wantImage), "labels")
}

// labelValueCases are LabelValue's inputs and what GCP may hold.
var labelValueCases = []struct {
	in, want string
}{
	{"", ""},
	{"sindri-packer", "sindri-packer"},
	{"under_score", "under_score"},
	{"UPPER", "upper"},
	{"3.0.1", "3-0-1"},
	{"v3.0.1-RC.1+build.5", "v3-0-1-rc-1-build-5"},
	{"a b/c:d", "a-b-c-d"},
	{"ünï", "-n-"}, // one '-' per rune, not per byte
	{strings.Repeat("a", 63), strings.Repeat("a", 63)},
	{strings.Repeat("a", 64), strings.Repeat("a", 63)},
	{strings.Repeat("Ab.", 40), strings.Repeat("ab-", 21)},
}

// TestBuildTimeLabels checks the labels known only when packer runs are
// expressions of their variables, adapted to GCP's rules by Packer:
// config-hash is substr(lower(var.config_hash), 0, 63), sindri-version is
// LabelValue of var.sindri_version (what -var sindri_version installs,
// not the config's release), for every input LabelValue is checked with.
func TestBuildTimeLabels(t *testing.T) {
	b := cloudtest.Source(t, gcp.Cloud{}, cloudtest.Load(t, minimal))
	if got := cloudtest.Refs(t, b, "image_labels"); !slices.Equal(got, []string{"var.config_hash", "var.sindri_version"}) {
		t.Errorf("image_labels references %q, want var.config_hash and var.sindri_version", got)
	}
	long := strings.Repeat("ABCDEF0123", 7) // 70 characters
	for _, tc := range labelValueCases {
		ctx := &hcl.EvalContext{
			Variables: maps.Clone(cloudtest.EvalCtx.Variables),
			Functions: cloudtest.EvalCtx.Functions,
		}
		ctx.Variables["var"] = cty.ObjectVal(map[string]cty.Value{"config_hash": cty.StringVal(long), "sindri_version": cty.StringVal(tc.in)})
		v, diags := b.Attributes["image_labels"].Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got, want := v.GetAttr("config-hash").AsString(), strings.ToLower(long)[:63]; got != want {
			t.Errorf("config-hash = %q, want %q", got, want)
		}
		if got := v.GetAttr("sindri-version").AsString(); got != tc.want {
			t.Errorf("sindri-version of var.sindri_version %q = %q, want %q (LabelValue)", tc.in, got, tc.want)
		}
	}
}
