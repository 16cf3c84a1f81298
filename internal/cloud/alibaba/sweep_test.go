package alibaba_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// seedLeftovers makes an account after two crashed runs, plus what the
// sweeper must never touch: a deployment and a temporary-tagged image.
func seedLeftovers(f *alibabafake.Fake) (old, young map[string]string) {
	now := time.Now()
	old = map[string]string{}
	for _, kind := range []string{cloud.KindInstance, cloud.KindDisk, cloud.KindSecurityGroup, cloud.KindKeyPair} {
		old[f.SeedLeftover(kind, "run-old", now.Add(-3*time.Hour))] = kind
	}
	young = map[string]string{}
	for _, kind := range []string{cloud.KindInstance, cloud.KindKeyPair} {
		young[f.SeedLeftover(kind, "run-new", now.Add(-time.Minute))] = kind
	}
	f.AddInstance("web-1", map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run-old", "sindri-deployment": "web"}, now.Add(-5*time.Hour))
	f.AddImage(alibabafake.ImageSpec{Name: "tmp-image", Created: now.Add(-5 * time.Hour), Tags: map[string]string{
		"managed-by": "sindri-packer", "sindri-run-id": "run-old", "sindri-packer": "temporary",
	}})
	return old, young
}

func TestLeftovers(t *testing.T) {
	f, ali, cfg := start(t)
	old, young := seedLeftovers(f)
	// An instance's system disk carries its tags but is not listed: ECS
	// deletes it with the instance, and refuses to while it is attached.
	var systemDisks []string
	for _, r := range f.Live() {
		if r.Kind == cloud.KindDisk && r.Tags["sindri-packer"] == "temporary" {
			if _, seeded := old[r.ID]; !seeded {
				systemDisks = append(systemDisks, r.ID)
			}
		}
	}
	if len(systemDisks) != 2 {
		t.Fatalf("system disks of the two leftover instances: %v", systemDisks)
	}
	tests := []struct {
		name   string
		filter cloud.SweepFilter
		runs   []string // runs whose resources are expected
		before bool
	}{
		{"everything temporary", cloud.SweepFilter{}, []string{"run-old", "run-new"}, false},
		{"one run", cloud.SweepFilter{RunID: "run-new"}, []string{"run-new"}, false},
		{"older than an hour", cloud.SweepFilter{Before: time.Now().Add(-time.Hour)}, []string{"run-old"}, true},
		{"run and age exclude each other", cloud.SweepFilter{RunID: "run-new", Before: time.Now().Add(-time.Hour)}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ali.Leftovers(t.Context(), cfg, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, run := range tc.runs {
				src := old
				if run == "run-new" {
					src = young
				}
				for id, kind := range src {
					want[id] = kind
				}
			}
			seen := map[string]bool{}
			var kinds []string
			for _, r := range got {
				kinds = append(kinds, r.Kind)
				if want[r.ID] != r.Kind {
					t.Errorf("unexpected leftover %+v", r)
				}
				if r.Region != alibabafake.Region || r.RunID == "" || r.Created.IsZero() {
					t.Errorf("leftover fields: %+v", r)
				}
				if tc.before && !r.Created.Before(tc.filter.Before) {
					t.Errorf("%s created %v, not before %v", r.ID, r.Created, tc.filter.Before)
				}
				seen[r.ID] = true
			}
			for id, kind := range want {
				if !seen[id] {
					t.Errorf("missing %s %s", kind, id)
				}
			}
			for _, id := range systemDisks {
				if seen[id] {
					t.Errorf("system disk %s listed beside its instance", id)
				}
			}
			// Instances come first: the rest is in use while they run.
			if i := slices.Index(kinds, cloud.KindInstance); i > 0 {
				t.Errorf("kinds in order %v", kinds)
			}
		})
	}
}

func TestDeleteResource(t *testing.T) {
	f, ali, cfg := start(t)
	seedLeftovers(f)
	cloudtest.SweepAll(t, ali, cfg, cloud.SweepFilter{})
	for _, r := range f.Live() {
		if r.Tags["sindri-packer"] == "temporary" && r.Kind != alibabafake.KindImage {
			t.Errorf("still live: %+v", r)
		}
	}
	k := liveKinds(f)
	if k[alibabafake.KindImage] != 1 || k[cloud.KindInstance] != 1 {
		t.Errorf("the image and the deployment must stay: %v", f.Live())
	}
}

func TestDeleteResourceRefuses(t *testing.T) {
	f, ali, cfg := start(t)
	dep := f.AddInstance("web-1", map[string]string{"managed-by": "sindri-packer", "sindri-deployment": "web"}, t0)
	err := ali.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindInstance, ID: dep})
	if err == nil || !strings.Contains(err.Error(), "not deleting") {
		t.Errorf("deleting a deployment: %v", err)
	}
	if err := ali.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindNetwork, ID: "vpc-1"}); err == nil {
		t.Error("deleting an unknown kind succeeded")
	}
	if liveKinds(f)[cloud.KindInstance] != 1 {
		t.Error("the deployment was deleted")
	}
}

func TestDeleteAttachedDiskFails(t *testing.T) {
	f, ali, cfg := start(t)
	f.SeedLeftover(cloud.KindInstance, "run-x", t0)
	var disk cloud.Resource
	for _, r := range f.Live() {
		if r.Kind == cloud.KindDisk {
			disk = cloud.Resource{Kind: r.Kind, ID: r.ID, Region: r.Region}
		}
	}
	err := ali.DeleteResource(t.Context(), cfg, disk)
	if err == nil || !strings.Contains(err.Error(), "IncorrectDiskStatus") {
		t.Errorf("deleting an attached disk: %v, want ECS's IncorrectDiskStatus", err)
	}
}
