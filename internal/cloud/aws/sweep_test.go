package aws_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

var kinds = []string{cloud.KindInstance, cloud.KindImage, cloud.KindDisk, cloud.KindKeyPair, cloud.KindSecurityGroup}

func TestLeftovers(t *testing.T) {
	f, c, cfg := setup(t, "")
	now := time.Now().UTC().Truncate(time.Second)
	old, recent := now.Add(-3*time.Hour), now.Add(-10*time.Minute)
	ids := map[string]string{} // id → run
	for _, k := range kinds {
		ids[f.SeedLeftover(k, "run-a", old)] = "run-a"
		ids[f.SeedLeftover(k, "run-b", recent)] = "run-b"
	}
	// Never leftovers: an image builds keep, also the one amazon-ebs
	// tagged with the run's tags (encrypt_boot false), a deployment, an
	// instance that is gone, a group without our tag.
	f.AddImage(awsfake.ImageSpec{Name: "sindri-20260101000000", Tags: map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-a"}, Created: old})
	f.AddImage(awsfake.ImageSpec{Name: "sindri-20260101000001", Tags: awsfake.RunTags("run-a"), Created: old})
	deployment := f.AddInstance(awsfake.InstanceSpec{Tags: map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-a", cloud.TagDeployment: "web"}, Created: old})
	f.AddInstance(awsfake.InstanceSpec{State: "terminated", Tags: awsfake.RunTags("run-a"), Created: old})
	f.AddSecurityGroup("shared", map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-a"})
	// A temporary group with no date: swept without an age limit only.
	undated := f.AddSecurityGroup("undated", awsfake.RunTags("run-c"))

	tests := []struct {
		name   string
		filter cloud.SweepFilter
		want   []string // runs of the expected resources, one of each kind
	}{
		{"all but the undated group", cloud.SweepFilter{RunID: "run-a"}, []string{"run-a"}},
		{"all", cloud.SweepFilter{}, []string{"run-a", "run-b", "run-c"}},
		{"by run", cloud.SweepFilter{RunID: "run-b"}, []string{"run-b"}},
		{"older than an hour", cloud.SweepFilter{Before: now.Add(-time.Hour)}, []string{"run-a"}},
		{"run and age", cloud.SweepFilter{RunID: "run-b", Before: now.Add(-time.Hour)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Leftovers(t.Context(), cfg, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			want := len(kinds) * len(tt.want)
			if slices.Contains(tt.want, "run-c") {
				want -= len(kinds) - 1 // run-c has only its group
			}
			if len(got) != want {
				t.Fatalf("Leftovers = %+v, want %d", got, want)
			}
			for i, r := range got {
				if r.ID == undated {
					if r.Kind != cloud.KindSecurityGroup || r.RunID != "run-c" || !r.Created.IsZero() {
						t.Errorf("undated group = %+v", r)
					}
					continue
				}
				if ids[r.ID] == "" || !slices.Contains(tt.want, r.RunID) || ids[r.ID] != r.RunID || r.Region != "us-west-2" || r.Created.IsZero() {
					t.Errorf("unexpected leftover %+v", r)
				}
				if r.ID == deployment {
					t.Errorf("a deployment is a leftover")
				}
				// Instances come first: the others are in use while they run.
				if i > 0 && slices.Index(kinds, got[i-1].Kind) > slices.Index(kinds, r.Kind) {
					t.Errorf("order: %s before %s", got[i-1].Kind, r.Kind)
				}
			}
		})
	}
}

func TestDeleteResource(t *testing.T) {
	f, c, cfg := setup(t, "")
	for _, k := range kinds {
		f.SeedLeftover(k, "run-a", t0)
	}
	image := f.SeedImage("keep", "h1", t0)
	cloudtest.SweepAll(t, c, cfg, cloud.SweepFilter{})
	for _, r := range f.Live() {
		if r.Tags[cloud.TagTemporary] == cloud.Temporary { // the AMI's snapshot too
			t.Errorf("left %s %s", r.Kind, r.ID)
		}
	}
	if _, err := c.GetImage(t.Context(), cfg, image); err != nil {
		t.Errorf("image: %v", err)
	}
	if got, _ := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{}); len(got) != 0 {
		t.Errorf("leftovers after the sweep: %+v", got)
	}
}

func TestDeleteResourceRefuses(t *testing.T) {
	f, c, cfg := setup(t, "")
	dep := f.AddInstance(awsfake.InstanceSpec{Tags: map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagDeployment: "web"}})
	err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindInstance, ID: dep})
	if err == nil || !strings.Contains(err.Error(), "not a leftover") {
		t.Errorf("delete a deployment: %v", err)
	}
	if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindNetwork, ID: "vpc-1"}); err == nil {
		t.Error("delete a network: no error")
	}
	if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindInstance, ID: "i-0123456789abcdef0"}); err != nil {
		t.Errorf("delete an unknown instance: %v", err)
	}
	if len(f.Calls("TerminateInstances")) != 0 {
		t.Error("TerminateInstances called")
	}
	kept := f.SeedImage("keep", "h1", t0)
	runTagged := f.AddImage(awsfake.ImageSpec{Name: "sindri-20260101000001", Tags: awsfake.RunTags("run-a"), Created: t0})
	for _, id := range []string{kept, runTagged} {
		if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindImage, ID: id}); err == nil || !strings.Contains(err.Error(), "not a leftover") {
			t.Errorf("delete an image a build keeps (%s): %v", id, err)
		}
	}
	if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindImage, ID: "ami-0123456789abcdef0"}); err != nil {
		t.Errorf("delete an unknown image: %v", err)
	}
	if n := len(f.Calls("DeregisterImage")) + len(f.Calls("DeleteSnapshot")); n != 0 {
		t.Errorf("%d DeregisterImage/DeleteSnapshot calls", n)
	}
}

// A group made by Launch is swept by its creation-time tag; an in-use
// volume (a running instance's root) is not a leftover.
func TestLeftoversOfALaunch(t *testing.T) {
	f, c, cfg := setup(t, "")
	image := f.SeedImage("sindri-1", "h1", t0)
	if _, err := c.Launch(t.Context(), launchReq(cfg, image)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{RunID: "run-7", Before: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var kindsGot []string
	for _, r := range got {
		kindsGot = append(kindsGot, r.Kind)
	}
	if !slices.Equal(kindsGot, []string{cloud.KindInstance, cloud.KindSecurityGroup}) {
		t.Fatalf("leftovers = %+v", got)
	}
	for _, r := range got {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Fatal(err)
		}
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

// EC2 may answer a filtered Describe in pages: Leftovers reads every page
// of instances, images, volumes and security groups (key pairs are never
// paged).
func TestLeftoversFollowNextToken(t *testing.T) {
	f, c, cfg := setup(t, "")
	want := map[string]bool{}
	for i := range 3 {
		for _, k := range kinds {
			want[f.SeedLeftover(k, "run-p", t0.Add(time.Duration(i)*time.Minute))] = true
		}
	}
	f.SetPageSize(1)
	left, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{RunID: "run-p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range left {
		delete(want, r.ID)
	}
	if len(left) != 3*len(kinds) || len(want) != 0 {
		t.Errorf("Leftovers = %d resources, missing %v", len(left), want)
	}
}
