package aws_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func TestFindImage(t *testing.T) {
	tests := []struct {
		name string
		seed func(f *awsfake.Fake) (want string)
		hash string
	}{
		{
			name: "ignores images without our tag or with another hash",
			seed: func(f *awsfake.Fake) string {
				f.AddImage(awsfake.ImageSpec{Name: "foreign", Tags: map[string]string{cloud.TagConfigHash: "h1"}, Created: t0.Add(time.Hour)})
				f.AddImage(awsfake.ImageSpec{Name: "other-tool", Tags: map[string]string{cloud.TagManagedBy: "someone-else", cloud.TagConfigHash: "h1"}, Created: t0.Add(time.Hour)})
				f.SeedImage("other-hash", "h9", t0.Add(2*time.Hour))
				return f.SeedImage("ours", "h1", t0)
			},
			hash: "h1",
		},
		{
			name: "picks the newest",
			seed: func(f *awsfake.Fake) string {
				f.SeedImage("old", "h1", t0)
				want := f.SeedImage("new", "h1", t0.Add(48*time.Hour))
				f.SeedImage("mid", "h1", t0.Add(24*time.Hour))
				return want
			},
			hash: "h1",
		},
		{
			name: "skips pending, deprecated and other regions",
			seed: func(f *awsfake.Fake) string {
				f.AddImage(awsfake.ImageSpec{Name: "pending", State: "pending", Tags: awsfake.ImageTags("h1"), Created: t0.Add(3 * time.Hour)})
				f.AddImage(awsfake.ImageSpec{Name: "retired", Tags: awsfake.ImageTags("h1"), Created: t0.Add(2 * time.Hour), Deprecation: time.Now().Add(-time.Hour)})
				f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "elsewhere", Tags: awsfake.ImageTags("h1"), Created: t0.Add(4 * time.Hour)})
				return f.SeedImage("ok", "h1", t0)
			},
			hash: "h1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, cfg := setup(t, "")
			want := tt.seed(f)
			img := cloudtest.FindImage(t, c, cfg, tt.hash, want)
			if img.ConfigHash != tt.hash || img.Region != "us-west-2" || img.Regions["us-west-2"] != want || img.State != "available" || img.SindriVersion != awsfake.SindriVersion {
				t.Errorf("image fields = %+v", img)
			}
			// The build cache asks for our account's images only, by tag.
			form := f.Calls("DescribeImages")[0].Form
			if form.Get("Owner.1") != "self" {
				t.Errorf("Owner.1 = %q, want self", form.Get("Owner.1"))
			}
		})
	}
}

func TestFindImageCopies(t *testing.T) {
	f, c, cfg := setup(t, "packer:\n  cloud: aws\n  ami_regions: [eu-west-1, ap-south-1]\n")
	id := f.SeedImage("sindri-1", "h1", t0)
	copyID := f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "sindri-1", Tags: awsfake.ImageTags("h1"), Created: t0.Add(time.Minute)})
	f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "sindri-0", Tags: awsfake.ImageTags("h1"), Created: t0})
	img, err := c.FindImage(t.Context(), cfg, "h1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"us-west-2": id, "eu-west-1": copyID}
	if len(img.Regions) != 2 || img.Regions["us-west-2"] != id || img.Regions["eu-west-1"] != copyID {
		t.Errorf("Regions = %v, want %v (no copy in ap-south-1)", img.Regions, want)
	}
	var regions []string
	for _, call := range f.Calls("DescribeImages") {
		regions = append(regions, call.Region)
	}
	if !slices.Equal(regions, []string{"us-west-2", "eu-west-1", "ap-south-1"}) {
		t.Errorf("DescribeImages regions = %v", regions)
	}
}

func TestListImages(t *testing.T) {
	f, c, cfg := setup(t, "")
	old := f.SeedImage("old", "h1", t0)
	dep := time.Now().Add(-time.Hour).UTC().Truncate(time.Minute)
	retired := f.AddImage(awsfake.ImageSpec{Name: "retired", Tags: awsfake.ImageTags("h0"), Created: t0.Add(-time.Hour), Deprecation: dep})
	newest := f.SeedImage("new", "h2", t0.Add(time.Hour))
	f.AddImage(awsfake.ImageSpec{Name: "foreign", Created: t0.Add(2 * time.Hour)})
	f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "elsewhere", Tags: awsfake.ImageTags("h1"), Created: t0})

	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := cloudtest.ImageIDs(imgs)
	if !slices.Equal(ids, []string{newest, old, retired}) {
		t.Fatalf("ListImages = %v, want newest first %v", ids, []string{newest, old, retired})
	}
	first := imgs[0]
	if first.Name != "new" || first.ConfigHash != "h2" || !first.Created.Equal(t0.Add(time.Hour)) || first.State != "available" ||
		first.SindriVersion != awsfake.SindriVersion || first.Region != "us-west-2" || !first.Deprecated.IsZero() {
		t.Errorf("first = %+v", first)
	}
	if !imgs[2].Deprecated.Equal(dep) {
		t.Errorf("Deprecated = %v, want %v", imgs[2].Deprecated, dep)
	}
	if got := f.Calls("DescribeImages")[0].Form.Get("IncludeDeprecated"); got != "true" {
		t.Errorf("IncludeDeprecated = %q, want true", got)
	}
}

func TestGetImage(t *testing.T) {
	f, c, cfg := setup(t, "")
	id := f.SeedImage("sindri-1", "h1", t0)
	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{"found", id, nil},
		{"not found", "ami-0123456789abcdef0", cloud.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := c.GetImage(t.Context(), cfg, tt.id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("GetImage err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || img.ID != tt.id || img.Name != "sindri-1" || img.ConfigHash != "h1" {
				t.Fatalf("GetImage = %+v, %v", img, err)
			}
		})
	}
	if _, err := c.GetImage(t.Context(), cfg, "not-an-ami"); err == nil || errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "InvalidAMIID.Malformed") {
		t.Errorf("malformed id: err = %v, want EC2's InvalidAMIID.Malformed", err)
	}
}

func TestDeleteImage(t *testing.T) {
	f, c, cfg := setup(t, "packer:\n  cloud: aws\n  ami_regions: [eu-west-1]\n")
	id := f.SeedImage("sindri-1", "h1", t0)
	f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "sindri-1", Tags: awsfake.ImageTags("h1"), Created: t0})
	keep := f.SeedImage("sindri-2", "h2", t0)
	foreign := f.AddImage(awsfake.ImageSpec{Name: "foreign", Created: t0})

	if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range f.Live() {
		left = append(left, r.Kind+":"+r.Name)
	}
	// The image, its copy and both snapshots are gone; the others stay.
	if len(f.Live()) != 4 || !slices.Contains(left, "image:sindri-2") || !slices.Contains(left, "image:foreign") {
		t.Errorf("after delete, live = %v", left)
	}
	if n := len(f.Calls("DeleteSnapshot")); n != 2 {
		t.Errorf("DeleteSnapshot calls = %d, want 2 (one per region)", n)
	}
	// Idempotent.
	if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Errorf("second delete: %v", err)
	}
	// Never an image this tool did not make.
	if err := c.DeleteImage(t.Context(), cfg, foreign); err == nil || !strings.Contains(err.Error(), "not an image of this tool") {
		t.Errorf("delete foreign image: err = %v", err)
	}
	if _, err := c.GetImage(t.Context(), cfg, keep); err != nil {
		t.Errorf("the other image: %v", err)
	}
}

func TestDeleteImageSnapshotStillInUse(t *testing.T) {
	f, c, cfg := setup(t, "")
	id := f.SeedImage("sindri-1", "h1", t0)
	// EC2 may still see the deregistered image holding its snapshot.
	f.Inject(cloudtest.Fault{Match: "Action=DeleteSnapshot", Status: 400, Code: "InvalidSnapshot.InUse", Message: "The snapshot snap-1 is currently in use by " + id})
	if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
		t.Fatal(err)
	}
	if live := f.Live(); len(live) != 0 {
		t.Errorf("live = %+v, want nothing", live)
	}
}

func TestDeprecateImage(t *testing.T) {
	f, c, cfg := setup(t, "")
	id := f.SeedImage("sindri-1", "h1", t0)
	later := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Minute)

	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{At: later}); err != nil {
		t.Fatal(err)
	}
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil {
		t.Fatal(err)
	}
	if !img.Deprecated.Equal(later) {
		t.Errorf("Deprecated = %v, want %v", img.Deprecated, later)
	}
	// Not deprecated yet: still the cache of its hash.
	if hit, err := c.FindImage(t.Context(), cfg, "h1"); err != nil || hit == nil {
		t.Errorf("FindImage before the deprecation time = %v, %v", hit, err)
	}

	// "Now" (the zero time) becomes the next full minute a minute ahead,
	// since EC2 refuses the past.
	before := time.Now()
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	at := f.Calls("EnableImageDeprecation")[1].Form.Get("DeprecateAt")
	got, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatalf("DeprecateAt %q: %v", at, err)
	}
	if got.Before(before.Add(time.Minute)) || got.After(before.Add(2*time.Minute)) || got.Second() != 0 {
		t.Errorf("DeprecateAt = %v, want a whole minute in (now+1m, now+2m]", got)
	}

	if err := c.DeprecateImage(t.Context(), cfg, "ami-0123456789abcdef0", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("deprecate missing image: %v, want ErrNotFound", err)
	}
}

// EC2 may answer DescribeImages in pages: the cache, the list and the
// copies lookup read every page (the newest image is on the last one).
func TestImagesFollowNextToken(t *testing.T) {
	f, c, cfg := setup(t, "packer:\n  cloud: aws\n  ami_regions: [eu-west-1]\n")
	var newest string
	for i := range 3 {
		created := t0.Add(time.Duration(i) * time.Hour)
		newest = f.SeedImage("sindri-"+string(rune('a'+i)), "h1", created)
		f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "other-" + string(rune('a'+i)), Tags: awsfake.ImageTags("h0"), Created: created})
	}
	copyID := f.AddImage(awsfake.ImageSpec{Region: "eu-west-1", Name: "sindri-c", Tags: awsfake.ImageTags("h1"), Created: t0})
	f.SetPageSize(1)
	img, err := c.FindImage(t.Context(), cfg, "h1")
	if err != nil || img == nil || img.ID != newest || img.Regions["eu-west-1"] != copyID {
		t.Fatalf("FindImage = %+v, %v; want %s with its copy %s", img, err, newest, copyID)
	}
	list, err := c.ListImages(t.Context(), cfg)
	if err != nil || len(list) != 3 || list[0].ID != newest {
		t.Fatalf("ListImages = %d images, %v; want 3, newest first", len(list), err)
	}
	if pages := len(f.Calls("DescribeImages")); pages != 3+1+3 {
		t.Errorf("%d DescribeImages calls: the answers were not paged", pages)
	}
}

// amazon-ebs tags every AMI it creates with run_tags (config hash and
// sindri-packer=temporary included): under encrypt_boot the unencrypted
// intermediate (named random.AlphaNum(7)) is no image of this tool, but
// with encrypt_boot false the AMI so tagged is the build's own, named as
// our template names it: the cache finds it and the list shows it.
func TestOnlyTheIntermediateAMIIsIgnored(t *testing.T) {
	f, c, cfg := setup(t, "")
	runTagged := func(name string, created time.Time) string {
		tags := awsfake.ImageTags("h1")
		maps.Copy(tags, awsfake.RunTags("run-1"))
		return f.AddImage(awsfake.ImageSpec{Name: name, Tags: tags, Created: created})
	}
	own := runTagged("sindri-20260101000000", t0)
	runTagged("Xq3k9Za", t0.Add(time.Hour)) // the intermediate, newer
	img, err := c.FindImage(t.Context(), cfg, "h1")
	if err != nil || img == nil || img.ID != own {
		t.Errorf("FindImage = %+v, %v; want the build's own AMI %s", img, err, own)
	}
	imgs, err := c.ListImages(t.Context(), cfg)
	if ids := cloudtest.ImageIDs(imgs); err != nil || !slices.Equal(ids, []string{own}) {
		t.Errorf("ListImages = %v, %v; want only %s", ids, err, own)
	}
}
