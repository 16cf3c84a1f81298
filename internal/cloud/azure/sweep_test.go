package azure_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
)

func TestLeftovers(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	old, young := t0, t0.Add(48*time.Hour)
	var runA, runB []string
	for _, k := range []string{cloud.KindInstance, cloud.KindDisk, cloud.KindSecurityGroup, cloud.KindNetwork} {
		runA = append(runA, f.SeedLeftover(k, "run-a", old))
		runB = append(runB, f.SeedLeftover(k, "run-b", young))
	}
	if id := f.SeedLeftover(cloud.KindKeyPair, "run-a", old); id != "" {
		t.Errorf("key pair seeded: %s", id)
	}
	// Packer tags images with the run tags: they are never leftovers.
	f.SeedImage("sindri-img", "h", old)
	// A deployment: ours, but not temporary.
	f.Put(azurefake.ID("Microsoft.Compute/virtualMachines", "web-1"), map[string]any{"location": azurefake.Location, "tags": map[string]any{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-a", cloud.TagDeployment: "web",
	}}, old)

	tests := []struct {
		name string
		f    cloud.SweepFilter
		want []string
	}{
		{name: "all", want: append(slices.Clone(runA), runB...)},
		{name: "run", f: cloud.SweepFilter{RunID: "run-b"}, want: runB},
		{name: "before", f: cloud.SweepFilter{Before: t0.Add(time.Hour)}, want: runA},
		{name: "run and before", f: cloud.SweepFilter{RunID: "run-b", Before: t0.Add(time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Leftovers(t.Context(), cfg, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
				if r.Kind == "image" || r.RunID == "" || r.Created.IsZero() || r.Region != azurefake.Location {
					t.Errorf("leftover %+v", r)
				}
			}
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(ids, want) {
				t.Errorf("got %v\nwant %v", ids, want)
			}
		})
	}

	all, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Kind != cloud.KindInstance {
		t.Errorf("instances are not swept first: %+v", all[0])
	}
	for _, r := range all {
		for range 2 { // the second finds it gone
			if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
				t.Fatalf("delete %s: %v", r.ID, err)
			}
		}
	}
	for _, r := range f.Live() {
		if r.Kind != "image" && r.Tags[cloud.TagTemporary] == cloud.Temporary {
			t.Errorf("temporary resource left: %+v", r)
		}
	}
	if f.Get(azurefake.ID("Microsoft.Compute/virtualMachines", "web-1")) == nil {
		t.Error("the deployment was swept")
	}
}

// A run that died after Launch leaves a VM with its disk and network in
// use by each other: the sweep's order and NIC handling still clear it.
func TestSweepCrashedLaunch(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	req := launchReq(f.SeedImage("sindri-a", "ha", t0))
	req.Config = cfg
	if _, err := c.Launch(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	got, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{RunID: "run-1", Before: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range got {
		kinds[r.Kind]++
	}
	if kinds[cloud.KindInstance] != 1 || kinds[cloud.KindDisk] != 1 || kinds[cloud.KindSecurityGroup] != 1 || kinds[cloud.KindNetwork] != 3 {
		t.Fatalf("leftovers by kind = %v: %+v", kinds, got)
	}
	// Sweep the security group first, as a caller sorting by kind only
	// might not: its NIC goes first.
	slices.SortStableFunc(got, func(a, b cloud.Resource) int {
		if a.Kind == cloud.KindSecurityGroup {
			return -1
		}
		if b.Kind == cloud.KindSecurityGroup {
			return 1
		}
		return 0
	})
	var failed int
	for _, r := range got {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			failed++ // the NSG's NIC is held by the still running VM
		}
	}
	for _, r := range got { // a second pass, as cleanup retries
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Errorf("second pass: %v", err)
		}
	}
	onlyImages(t, f)
	if failed > 1 {
		t.Errorf("%d deletes failed in the first pass", failed)
	}
}

func TestDeleteResourceRefuses(t *testing.T) {
	c, _, cfg := setup(t, fakeConfig)
	for _, id := range []string{"garbage", azurefake.ID("Microsoft.Compute/images", "img")} {
		if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindDisk, ID: id}); err == nil {
			t.Errorf("DeleteResource(%s) succeeded", id)
		}
	}
}
