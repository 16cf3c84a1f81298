package gcp_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

func TestLeftovers(t *testing.T) {
	f, c, cfg := newFake(t)
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	ids := map[string]string{
		"old-instance": f.SeedLeftover(cloud.KindInstance, "run-a", old),
		"old-disk":     f.SeedLeftover(cloud.KindDisk, "run-a", old),
		"old-fw":       f.SeedLeftover(cloud.KindSecurityGroup, "run-a", old),
		"new-instance": f.SeedLeftover(cloud.KindInstance, "run-b", recent),
		"new-fw":       f.SeedLeftover(cloud.KindSecurityGroup, "run-b", recent),
	}
	if id := f.SeedLeftover(cloud.KindKeyPair, "run-a", old); id != "" {
		t.Errorf("SeedLeftover(key-pair) = %q, want none on gcp", id)
	}
	// Never swept: images, deployments, someone else's rule.
	f.SeedImage("sindri-img", hashA, old)
	f.SeedInstance("sindri-web", map[string]string{"managed-by": "sindri-packer", "sindri-deployment": "web", "sindri-run-id": "run-a"}, old)

	tests := []struct {
		name   string
		filter cloud.SweepFilter
		want   []string
	}{
		{"all", cloud.SweepFilter{}, []string{"old-instance", "old-disk", "old-fw", "new-instance", "new-fw"}},
		{"by run id", cloud.SweepFilter{RunID: "run-a"}, []string{"old-instance", "old-disk", "old-fw"}},
		{"before", cloud.SweepFilter{Before: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, []string{"old-instance", "old-disk", "old-fw"}},
		{"run and before", cloud.SweepFilter{RunID: "run-b", Before: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Leftovers(ctx(t), cfg, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.Kind+":"+r.ID)
				if r.Kind == "image" || r.ID == "sindri-web" || r.ID == "sindri-img" {
					t.Errorf("swept %+v", r)
				}
				if r.RunID == "" || r.Created.IsZero() {
					t.Errorf("leftover without run id or time: %+v", r)
				}
			}
			// A leftover instance's boot disk is a disk leftover too.
			for _, w := range tt.want {
				kind := map[string]string{"instance": cloud.KindInstance, "disk": cloud.KindDisk, "fw": cloud.KindSecurityGroup}[w[strings.IndexByte(w, '-')+1:]]
				wantIDs = append(wantIDs, kind+":"+ids[w])
				if kind == cloud.KindInstance {
					wantIDs = append(wantIDs, cloud.KindDisk+":"+ids[w])
				}
			}
			slices.Sort(gotIDs)
			slices.Sort(wantIDs)
			if strings.Join(gotIDs, " ") != strings.Join(wantIDs, " ") {
				t.Errorf("Leftovers =\n %v\nwant\n %v", gotIDs, wantIDs)
			}
		})
	}
}

func TestDeleteResource(t *testing.T) {
	f, c, cfg := newFake(t)
	for _, kind := range []string{cloud.KindInstance, cloud.KindDisk, cloud.KindSecurityGroup} {
		f.SeedLeftover(kind, "run-z", time.Now().Add(-time.Hour))
	}
	f.SeedInstance("sindri-web", map[string]string{"managed-by": "sindri-packer", "sindri-deployment": "web"}, time.Now())
	left, err := c.Leftovers(ctx(t), cfg, cloud.SweepFilter{RunID: "run-z"})
	if err != nil {
		t.Fatal(err)
	}
	// A disk still attached is refused by the API; cleanup deletes
	// instances first, so sort as the sweeper does.
	order := map[string]int{cloud.KindInstance: 0, cloud.KindDisk: 1, cloud.KindSecurityGroup: 2}
	slices.SortStableFunc(left, func(a, b cloud.Resource) int { return order[a.Kind] - order[b.Kind] })
	for _, r := range left {
		if err := c.DeleteResource(ctx(t), cfg, r); err != nil {
			t.Fatalf("DeleteResource(%+v): %v", r, err)
		}
	}
	for _, r := range f.Live() {
		if r.Tags["sindri-packer"] == "temporary" {
			t.Errorf("still there: %+v", r)
		}
	}
	if f.Instance(f.Zone, "sindri-web") == nil {
		t.Error("the deployment was deleted")
	}
	// Gone already is success, for every kind.
	for _, r := range left {
		if err := c.DeleteResource(ctx(t), cfg, r); err != nil {
			t.Errorf("DeleteResource(gone %s): %v", r.Kind, err)
		}
	}
	if err := c.DeleteResource(ctx(t), cfg, cloud.Resource{Kind: cloud.KindKeyPair, ID: "k"}); err == nil {
		t.Error("DeleteResource(key-pair) succeeded on gcp")
	}
}

func TestDeleteAttachedDiskSurfacesAPIError(t *testing.T) {
	f, c, cfg := newFake(t)
	id := f.SeedLeftover(cloud.KindInstance, "run-y", time.Now())
	err := c.DeleteResource(ctx(t), cfg, cloud.Resource{Kind: cloud.KindDisk, ID: id})
	if err == nil || !strings.Contains(err.Error(), "is already being used by") || !strings.Contains(err.Error(), "resourceInUseByAnotherResource") {
		t.Fatalf("DeleteResource(attached disk) = %v", err)
	}
}

// Leftovers follows nextPageToken on each of its three lists.
func TestLeftoversReadEveryPage(t *testing.T) {
	f, c, cfg := newFake(t)
	f.PageSize = 1
	for range 3 {
		for _, kind := range []string{cloud.KindInstance, cloud.KindDisk, cloud.KindSecurityGroup} {
			f.SeedLeftover(kind, "run-p", time.Now())
		}
	}
	var want []string // the instances' boot disks carry the run's labels too
	for _, r := range f.Live() {
		want = append(want, r.ID)
	}
	left, err := c.Leftovers(ctx(t), cfg, cloud.SweepFilter{RunID: "run-p"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range left {
		got = append(got, r.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Leftovers with one item a page = %v, want %v", got, want)
	}
	for _, list := range []string{"/instances", "/disks", "/global/firewalls"} {
		if n := count(f, "GET", list); n < 3 {
			t.Errorf("%s read in %d pages, want at least 3", list, n)
		}
	}
}
