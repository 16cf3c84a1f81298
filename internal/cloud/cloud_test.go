package cloud_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
)

// The values Packer would supply at build time; distinctive so a literal
// "var.config_hash" string cannot pass for the reference.
var evalCtx = &hcl.EvalContext{Variables: map[string]cty.Value{
	"var": cty.ObjectVal(map[string]cty.Value{
		"config_hash":    cty.StringVal("CFG-HASH-123"),
		"run_id":         cty.StringVal("run-42"),
		"sindri_version": cty.StringVal("3.0.1"),
	}),
}}

// values evaluates every entry of a token map.
func values(t *testing.T, m map[string]hclwrite.Tokens) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, toks := range m {
		expr, diags := hclsyntax.ParseExpression(toks.Bytes(), k, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s does not parse: %s", k, toks.Bytes(), diags)
		}
		v, diags := expr.Value(evalCtx)
		if diags.HasErrors() {
			t.Fatalf("%s: %s: %s", k, toks.Bytes(), diags)
		}
		out[k] = v.AsString()
	}
	return out
}

func TestTags(t *testing.T) {
	tests := []struct {
		name string
		user map[string]string
		want map[string]string
	}{
		{
			name: "no user tags",
			user: nil,
			want: map[string]string{"managed-by": "sindri-packer", "sindri-version": "3.0.1", "config-hash": "CFG-HASH-123"},
		},
		{
			name: "user tags are kept and escaped",
			user: map[string]string{"team": "platform", "note": `"${x}" %{y}`},
			want: map[string]string{
				"team": "platform", "note": `"${x}" %{y}`,
				"managed-by": "sindri-packer", "sindri-version": "3.0.1", "config-hash": "CFG-HASH-123",
			},
		},
		{
			// The reserved keys are how cleanup and the cache find images:
			// a user tag must not be able to spoof them.
			name: "reserved keys override user ones",
			user: map[string]string{"managed-by": "someone-else", "sindri-version": "0.0.0", "config-hash": "forged", "owner": "me"},
			want: map[string]string{"owner": "me", "managed-by": "sindri-packer", "sindri-version": "3.0.1", "config-hash": "CFG-HASH-123"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := values(t, cloud.Tags(tc.user))
			if !maps.Equal(got, tc.want) {
				t.Errorf("Tags = %v, want %v", got, tc.want)
			}
		})
	}
}

// The config hash and the Sindri release are known only when packer runs:
// a literal sindri-version would keep naming the config's release when the
// seed's workflow runs packer build -var sindri_version=... on the
// checked-in templates, which installs another.
func TestTagsBuildTimeValuesAreVariableReferences(t *testing.T) {
	for tag, want := range map[string]string{"config-hash": "var.config_hash", "sindri-version": "var.sindri_version"} {
		toks := cloud.Tags(nil)[tag]
		expr, diags := hclsyntax.ParseExpression(toks.Bytes(), tag, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		vars := expr.Variables()
		if len(vars) != 1 {
			t.Errorf("%s = %s references %d variables, want %s", tag, toks.Bytes(), len(vars), want)
			continue
		}
		if got := string(hclwrite.TokensForTraversal(vars[0]).Bytes()); got != want {
			t.Errorf("%s references %s, want %s", tag, got, want)
		}
	}
}

func TestTagsDoesNotModifyUserMap(t *testing.T) {
	user := map[string]string{"managed-by": "me"}
	cloud.Tags(user)
	if len(user) != 1 || user["managed-by"] != "me" {
		t.Errorf("user map changed to %v", user)
	}
}

func TestRunTags(t *testing.T) {
	got := values(t, cloud.RunTags())
	want := map[string]string{"sindri-run-id": "run-42", "sindri-packer": "temporary"}
	if !maps.Equal(got, want) {
		t.Errorf("RunTags = %v, want %v", got, want)
	}
}

func TestMerge(t *testing.T) {
	a := map[string]hclwrite.Tokens{"only-a": hclgen.Str("a"), "both": hclgen.Str("from-a")}
	b := map[string]hclwrite.Tokens{"only-b": hclgen.Str("b"), "both": hclgen.Str("from-b")}
	got := cloud.Merge(a, b)
	want := map[string]string{"only-a": "a", "only-b": "b", "both": "from-b"}
	if v := values(t, got); !maps.Equal(v, want) {
		t.Errorf("Merge = %v, want %v (b wins)", v, want)
	}

	// A copy: writing to the result leaves both inputs alone.
	got["new"] = hclgen.Str("x")
	got["only-a"] = hclgen.Str("changed")
	if _, ok := a["new"]; ok {
		t.Error("Merge returned a's map itself")
	}
	if _, ok := b["new"]; ok {
		t.Error("Merge returned b's map itself")
	}
	if v := values(t, a); v["only-a"] != "a" || v["both"] != "from-a" || len(v) != 2 {
		t.Errorf("a changed to %v", v)
	}
	if v := values(t, b); v["both"] != "from-b" || len(v) != 2 {
		t.Errorf("b changed to %v", v)
	}
}

func TestMergeNil(t *testing.T) {
	if got := cloud.Merge(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("Merge(nil, nil) = %v, want an empty writable map", got)
	}
	b := map[string]hclwrite.Tokens{"k": hclgen.Str("v")}
	got := cloud.Merge(nil, b)
	if keys := slices.Sorted(maps.Keys(got)); len(keys) != 1 || keys[0] != "k" {
		t.Errorf("Merge(nil, b) keys = %v", keys)
	}
	got["k2"] = hclgen.Str("v2")
	if len(b) != 1 {
		t.Error("Merge(nil, b) returned b itself")
	}
}

// The age filter of every cloud's sweep: without Before everything
// passes; with it only what is known to be older, never the undated.
func TestSweepFilterOldEnough(t *testing.T) {
	before := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		f       cloud.SweepFilter
		created time.Time
		want    bool
	}{
		{cloud.SweepFilter{}, time.Time{}, true},
		{cloud.SweepFilter{}, before.Add(time.Hour), true},
		{cloud.SweepFilter{Before: before}, before.Add(-time.Hour), true},
		{cloud.SweepFilter{Before: before}, before, false},
		{cloud.SweepFilter{Before: before}, before.Add(time.Hour), false},
		{cloud.SweepFilter{Before: before}, time.Time{}, false},
	} {
		if got := tc.f.OldEnough(tc.created); got != tc.want {
			t.Errorf("%+v OldEnough(%v) = %v, want %v", tc.f, tc.created, got, tc.want)
		}
	}
}

// The tags an instance filter asks for, and the check every cloud makes
// with them.
func TestInstanceFilterTags(t *testing.T) {
	if got, want := (cloud.InstanceFilter{}).Tags(), map[string]string{cloud.TagManagedBy: cloud.ManagedBy}; !maps.Equal(got, want) {
		t.Errorf("empty filter: %v, want %v", got, want)
	}
	f := cloud.InstanceFilter{RunID: "r1", Deployment: "d1", Temporary: true}
	want := map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "r1", cloud.TagDeployment: "d1", cloud.TagTemporary: cloud.Temporary}
	if got := f.Tags(); !maps.Equal(got, want) {
		t.Errorf("full filter: %v, want %v", got, want)
	}
	have := map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "r1", "Name": "x"}
	if !cloud.HasTags(have, cloud.InstanceFilter{RunID: "r1"}.Tags()) || cloud.HasTags(have, f.Tags()) || cloud.HasTags(nil, f.Tags()) || !cloud.HasTags(nil, nil) {
		t.Error("HasTags does not demand exactly every wanted tag")
	}
}

// Every cloud and cleanup delete leftovers in one order: instances first
// (the rest is in use while they run); a kind not in KindOrder comes last.
func TestCompareKinds(t *testing.T) {
	kinds := []string{"mystery", cloud.KindNetwork, cloud.KindSecurityGroup, cloud.KindKeyPair, cloud.KindDisk, cloud.KindImage, cloud.KindInstance}
	slices.SortFunc(kinds, cloud.CompareKinds)
	want := append(slices.Clone(cloud.KindOrder), "mystery")
	if !slices.Equal(kinds, want) || cloud.KindOrder[0] != cloud.KindInstance {
		t.Errorf("sorted kinds = %v, want %v", kinds, want)
	}
}

// The build cache takes the newest image of the hash that is not retired.
func TestCacheHit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	imgs := []cloud.Image{ // newest first
		{ID: "other-hash", ConfigHash: "h2"},
		{ID: "retired", ConfigHash: "h1", Deprecated: now},
		{ID: "retiring-later", ConfigHash: "h1", Deprecated: now.Add(time.Hour)},
		{ID: "older", ConfigHash: "h1"},
	}
	tests := []struct{ hash, want string }{{"h1", "retiring-later"}, {"h2", "other-hash"}, {"h3", ""}}
	for _, tc := range tests {
		var id string
		if got := cloud.CacheHit(imgs, tc.hash, now); got != nil {
			id = got.ID
		}
		if id != tc.want {
			t.Errorf("CacheHit(%s) = %q, want %q", tc.hash, id, tc.want)
		}
	}
}
