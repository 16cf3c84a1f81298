package oci_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

// leftovers are what two crashed runs left, beside what the sweep must
// keep: a deployment, images (one carrying the temporary tag) and the
// user's disk. Each seeded instance brings a boot volume with the
// instance's tags.
type leftovers struct {
	oldInst, oldDisk, newInst, vol string
}

func seedLeftovers(t *testing.T, f *ocifake.Fake) leftovers {
	t.Helper()
	l := leftovers{
		oldInst: f.SeedLeftover(cloud.KindInstance, "run-a", t0),
		oldDisk: f.SeedLeftover(cloud.KindDisk, "run-a", t0.Add(time.Minute)),
		newInst: f.SeedLeftover(cloud.KindInstance, "run-b", t0.Add(48*time.Hour)),
		vol:     f.AddVolume("data", map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-b", cloud.TagTemporary: cloud.Temporary}, t0.Add(49*time.Hour)),
	}
	if id := f.SeedLeftover(cloud.KindSecurityGroup, "run-a", t0); id != "" {
		t.Errorf("SeedLeftover(security-group) = %q: OCI runs make none", id)
	}
	f.SeedDeployment("web", t0)
	f.SeedImage("sindri-a", "h1", t0)
	f.AddImage("tmp-tagged-image", map[string]string{cloud.TagTemporary: cloud.Temporary, cloud.TagRunID: "run-a"}, t0, "AVAILABLE")
	f.AddVolume("users-disk", map[string]string{"Team": "x"}, t0)
	return l
}

func TestLeftovers(t *testing.T) {
	f, c, cfg := setup(t)
	l := seedLeftovers(t, f)
	all, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var instances, disks []string
	for i, r := range all {
		switch r.Kind {
		case cloud.KindInstance:
			instances = append(instances, r.ID)
			if len(disks) > 0 {
				t.Errorf("instance %d listed after a disk", i)
			}
		case cloud.KindDisk:
			disks = append(disks, r.ID)
		default:
			t.Errorf("unexpected kind %+v", r)
		}
		if r.Region != ocifake.Region || r.RunID == "" || r.Created.IsZero() {
			t.Errorf("incomplete resource %+v", r)
		}
	}
	if !sameSet(instances, []string{l.oldInst, l.newInst}) || len(disks) != 4 || !slices.Contains(disks, l.oldDisk) || !slices.Contains(disks, l.vol) {
		t.Fatalf("Leftovers = instances %v disks %v", instances, disks)
	}
	for _, tc := range []struct {
		name string
		f    cloud.SweepFilter
		want int
	}{
		{"run-a", cloud.SweepFilter{RunID: "run-a"}, 3},             // instance, its boot volume, the disk
		{"before", cloud.SweepFilter{Before: t0.Add(time.Hour)}, 3}, // the same three
		{"run-b before", cloud.SweepFilter{RunID: "run-b", Before: t0.Add(49 * time.Hour)}, 2},
		{"unknown run", cloud.SweepFilter{RunID: "run-z"}, 0},
	} {
		got, err := c.Leftovers(t.Context(), cfg, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("%s: %d leftovers, want %d: %+v", tc.name, len(got), tc.want, got)
		}
	}
}

func TestDeleteResource(t *testing.T) {
	f, c, cfg := setup(t)
	seedLeftovers(t, f)
	cloudtest.SweepAll(t, c, cfg, cloud.SweepFilter{})
	for _, r := range f.Live() {
		if r.Tags[cloud.TagTemporary] == cloud.Temporary && r.Kind != "image" {
			t.Errorf("temporary %s %s still live", r.Kind, r.ID)
		}
	}
	if n := len(f.Live()); n != 5 { // deployment + its disk, two images, the user's disk
		t.Errorf("%d live resources after the sweep, want 5: %+v", n, f.Live())
	}
	if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindKeyPair, ID: "k"}); err == nil {
		t.Error("DeleteResource(key-pair) succeeded on a cloud without key pairs")
	}
}
