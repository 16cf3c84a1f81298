package gcp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA" // 64, upper-case last
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// seeder is the part of the fake the image tables use.
type seeder interface {
	SeedImage(name, configHash string, created time.Time) string
	PutImage(*computepb.Image)
}

func TestFindImage(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		seed func(f seeder)
		hash string
		want string // "" = no image
	}{
		{name: "miss on an empty project", seed: func(f seeder) {
		}, hash: hashA},
		{name: "hit, newest of two", seed: func(f seeder) {
			f.SeedImage("sindri-old", hashA, day)
			f.SeedImage("sindri-new", hashA, day.Add(time.Hour))
			f.SeedImage("sindri-other", hashB, day.Add(2*time.Hour))
		}, hash: hashA, want: "sindri-new"},
		{name: "another hash is a miss", seed: func(f seeder) {
			f.SeedImage("sindri-other", hashB, day)
		}, hash: hashA},
		{name: "an image without our managed-by label is ignored", seed: func(f seeder) {
			f.PutImage(&computepb.Image{Name: proto.String("someone-elses"), Labels: map[string]string{"config-hash": strings.ToLower(hashA)[:63]}})
		}, hash: hashA},
		{name: "pending and deprecated images are not the cache", seed: func(f seeder) {
			f.SeedImage("sindri-ready", hashA, day)
			labels := map[string]string{"managed-by": "sindri-packer", "config-hash": strings.ToLower(hashA)[:63]}
			f.PutImage(&computepb.Image{Name: proto.String("sindri-pending"), Status: proto.String("PENDING"), Labels: labels,
				CreationTimestamp: proto.String(day.Add(time.Hour).Format(time.RFC3339))})
			f.PutImage(&computepb.Image{Name: proto.String("sindri-retired"), Labels: labels, Deprecated: &computepb.DeprecationStatus{State: proto.String("DEPRECATED")},
				CreationTimestamp: proto.String(day.Add(2 * time.Hour).Format(time.RFC3339))})
		}, hash: hashA, want: "sindri-ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, cfg := newFake(t)
			f.PageSize = 1 // every image on its own page
			tt.seed(f)
			got := cloudtest.FindImage(t, c, cfg, tt.hash, tt.want)
			if got == nil {
				return
			}
			if got.ConfigHash != tt.hash {
				t.Errorf("ConfigHash = %q, want the full hash %q", got.ConfigHash, tt.hash)
			}
			// The server filtered by the lower-case, 63-character label.
			calls := f.Calls("")
			if q := calls[0].Query.Get("filter"); !strings.Contains(q, `labels.config-hash = "`+strings.ToLower(tt.hash)[:63]+`"`) || !strings.Contains(q, "labels.managed-by") {
				t.Errorf("list filter = %s, want filters on managed-by and the truncated hash", q)
			}
		})
	}
}

func TestListAndGetImages(t *testing.T) {
	f, c, cfg := newFake(t)
	f.PageSize = 2
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range []string{"sindri-1", "sindri-2", "sindri-3"} {
		f.SeedImage(n, hashA, day.Add(time.Duration(i)*time.Hour))
	}
	f.PutImage(&computepb.Image{Name: proto.String("not-ours")})
	if err := c.DeprecateImage(ctx(t), cfg, "sindri-1", cloud.Deprecation{At: day.Add(48 * time.Hour), Replacement: "sindri-3"}); err != nil {
		t.Fatal(err)
	}

	list, err := c.ListImages(ctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := cloudtest.ImageIDs(list)
	if strings.Join(names, ",") != "sindri-3,sindri-2,sindri-1" {
		t.Fatalf("ListImages = %v, want ours, newest first", names)
	}
	newest := list[0]
	if newest.State != "ready" || newest.SindriVersion != "3-0-1" || newest.ConfigHash != strings.ToLower(hashA)[:63] ||
		!newest.Created.Equal(day.Add(2*time.Hour)) || newest.Region != "us" || !newest.Deprecated.IsZero() {
		t.Errorf("newest = %+v", newest)
	}
	old := list[2]
	if old.State != "deprecated" || !old.Deprecated.Equal(day.Add(48*time.Hour)) || old.Extra["replacement"] != "sindri-3" {
		t.Errorf("deprecated image = %+v", old)
	}
	dep := f.Image("sindri-1").GetDeprecated()
	if dep.GetState() != "DEPRECATED" || dep.GetReplacement() != f.Image("sindri-3").GetSelfLink() || dep.GetDeprecated() != "2025-03-03T00:00:00Z" {
		t.Errorf("deprecation status sent = %v", dep)
	}

	got, err := c.GetImage(ctx(t), cfg, "sindri-2")
	if err != nil || got.Name != "sindri-2" {
		t.Fatalf("GetImage = %+v, %v", got, err)
	}
	// A selfLink names the image too.
	if got, err := c.GetImage(ctx(t), cfg, f.Image("sindri-2").GetSelfLink()); err != nil || got.ID != "sindri-2" {
		t.Fatalf("GetImage(selfLink) = %+v, %v", got, err)
	}
	_, err = c.GetImage(ctx(t), cfg, "sindri-missing")
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("GetImage(missing) = %v, want ErrNotFound", err)
	}
	if err := c.DeprecateImage(ctx(t), cfg, "sindri-missing", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("DeprecateImage(missing) = %v, want ErrNotFound", err)
	}
	if err := c.DeprecateImage(ctx(t), cfg, "sindri-2", cloud.Deprecation{Replacement: "sindri-missing"}); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("DeprecateImage(missing replacement) = %v, want ErrNotFound", err)
	}
}

// The conformance suite checks that a deleted image is gone and that
// deleting it again succeeds; here: the delete waited for its operation.
func TestDeleteImageWaitsForItsOperation(t *testing.T) {
	f, c, cfg := newFake(t)
	f.SeedImage("sindri-1", hashA, time.Now())
	if err := c.DeleteImage(ctx(t), cfg, "sindri-1"); err != nil {
		t.Fatal(err)
	}
	if !hasOpPoll(f.Requests(), "/global/operations/") {
		t.Errorf("delete did not wait for its operation: %v", f.Requests())
	}
}

func hasOpPoll(reqs []string, part string) bool {
	for _, r := range reqs {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, part) {
			return true
		}
	}
	return false
}
