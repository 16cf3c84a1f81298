package repave

import (
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func img(id string, ageDays int, hash string, deprecatedDaysAgo int) cloud.Image {
	im := cloud.Image{ID: id, Created: now.Add(-time.Duration(ageDays) * 24 * time.Hour), ConfigHash: hash}
	if deprecatedDaysAgo >= 0 {
		im.Deprecated = now.Add(-time.Duration(deprecatedDaysAgo) * 24 * time.Hour)
	}
	return im
}

func TestNeedsBuild(t *testing.T) {
	p := Policy{MaxAge: 30 * 24 * time.Hour, Now: now}
	tests := []struct {
		name   string
		images []cloud.Image
		want   bool
		reason string
	}{
		{name: "no image", want: true, reason: "no image yet"},
		{name: "only deprecated images", images: []cloud.Image{img("a", 1, "h", 0)}, want: true, reason: "no image yet"},
		{name: "fresh and current", images: []cloud.Image{img("a", 3, "h", -1)}, want: false, reason: "3d old and current"},
		{name: "stale", images: []cloud.Image{img("a", 31, "h", -1), img("b", 40, "h", -1)}, want: true, reason: "newest image a is 31d old (max-age 30d)"},
		{name: "config changed", images: []cloud.Image{img("a", 2, "old", -1)}, want: true, reason: "no image carries the current config hash h"},
		{name: "newest decides, not order", images: []cloud.Image{img("old", 45, "h", -1), img("new", 1, "h", -1)}, want: false, reason: "new is 1d old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := NeedsBuild(tt.images, "h", p)
			if got != tt.want || !strings.Contains(why, tt.reason) {
				t.Fatalf("NeedsBuild = %v, %q; want %v, containing %q", got, why, tt.want, tt.reason)
			}
		})
	}
}

func ids(images []cloud.Image) []string {
	out := []string{}
	for _, im := range images {
		out = append(out, im.ID)
	}
	return out
}

func TestRetire(t *testing.T) {
	p := Policy{Keep: 2, DeleteAfter: 30 * 24 * time.Hour, Now: now}
	images := []cloud.Image{
		img("i5", 5, "h", -1),
		img("new", 0, "h", -1),
		img("i40", 40, "x", -1),
		img("i60-dep10", 60, "x", 10),   // deprecated recently: kept
		img("i90-dep31", 90, "x", 31),   // deprecated long ago: deleted
		img("i70", 70, "x", -1),         // in use by a deployment
		img("i100-dep40", 100, "x", 40), // in use although deprecated: kept
	}
	d := Retire(images, "new", map[string]bool{"i70": true, "i100-dep40": true}, p)
	want := map[string][]string{
		"keep":      {"new", "i5", "i60-dep10", "i70", "i100-dep40"},
		"deprecate": {"i40"},
		"delete":    {"i90-dep31"},
	}
	got := map[string][]string{"keep": ids(d.Keep), "deprecate": ids(d.Deprecate), "delete": ids(d.Delete)}
	for k := range want {
		if !equal(got[k], want[k]) {
			t.Errorf("%s = %v, want %v (why: %v)", k, got[k], want[k], d.Why)
		}
	}
}

func TestRetireTwiceDeletesNothingNew(t *testing.T) {
	p := Policy{Keep: 1, DeleteAfter: 7 * 24 * time.Hour, Now: now}
	images := []cloud.Image{img("new", 0, "h", -1), img("a", 10, "x", -1), img("b", 20, "x", -1)}
	first := Retire(images, "new", nil, p)
	if len(first.Delete) != 0 || !equal(ids(first.Deprecate), []string{"a", "b"}) {
		t.Fatalf("first run: deprecate %v delete %v", ids(first.Deprecate), ids(first.Delete))
	}
	// What the first run did, as the cloud now reports it.
	for i := range images {
		if images[i].ID != "new" {
			images[i].Deprecated = now
		}
	}
	p.Now = now.Add(time.Minute)
	second := Retire(images, "new", nil, p)
	if len(second.Delete) != 0 || len(second.Deprecate) != 0 {
		t.Fatalf("second run right after: deprecate %v delete %v, want nothing", ids(second.Deprecate), ids(second.Delete))
	}
	p.Now = now.Add(8 * 24 * time.Hour)
	later := Retire(images, "new", nil, p)
	if !equal(ids(later.Delete), []string{"a", "b"}) || !equal(ids(later.Keep), []string{"new"}) {
		t.Fatalf("a week later: keep %v delete %v", ids(later.Keep), ids(later.Delete))
	}
}

func TestRetireCurrentNotListedYet(t *testing.T) {
	// An eventually consistent listing may not show the new image: it
	// still takes one of the Keep places.
	p := Policy{Keep: 2, DeleteAfter: time.Hour, Now: now}
	d := Retire([]cloud.Image{img("a", 1, "x", -1), img("b", 2, "x", -1)}, "new", nil, p)
	if !equal(ids(d.Keep), []string{"a"}) || !equal(ids(d.Deprecate), []string{"b"}) {
		t.Fatalf("keep %v deprecate %v", ids(d.Keep), ids(d.Deprecate))
	}
}

func TestRetireKeepsAtLeastOne(t *testing.T) {
	d := Retire([]cloud.Image{img("a", 1, "x", -1)}, "", nil, Policy{Keep: 0, Now: now})
	if len(d.Keep) != 1 || len(d.Deprecate) != 0 {
		t.Fatalf("keep %v deprecate %v", ids(d.Keep), ids(d.Deprecate))
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "30d", want: 30 * 24 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "xd", bad: true},
		{in: "-1d", bad: true},
		{in: "soon", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v (bad %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * 24 * time.Hour: "30d", 36 * time.Hour: "1d12h", 5 * time.Hour: "5h", 0: "0h",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}
