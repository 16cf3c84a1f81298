package oci_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// setup starts a fake, points the environment at it the way the
// command-line tests do, and returns a client with tiny backoffs.
func setup(t *testing.T) (*ocifake.Server, oci.Cloud, *config.Config) {
	t.Helper()
	f := ocifake.New(t)
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
	c := oci.Cloud{
		Backoff:      cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 5 * time.Second},
		PollInterval: time.Millisecond,
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
	}
	return f, c, cloudtest.Load(t, ocifake.YAML+"  tags: {Team: platform}\n")
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func ourTags(hash string) map[string]string {
	return map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: hash, cloud.TagSindriVersion: "3.0.1"}
}

func TestFindImage(t *testing.T) {
	tests := []struct {
		name  string
		seed  func(f *ocifake.Server) string // returns the expected ID ("" = none)
		hash  string
		wantN string
	}{
		{name: "hit", hash: "h1", seed: func(f *ocifake.Server) string {
			return f.SeedImage("sindri-a", "h1", t0)
		}},
		{name: "miss", hash: "h-none", seed: func(f *ocifake.Server) string {
			f.SeedImage("sindri-a", "h1", t0)
			return ""
		}},
		{name: "ignores images without our tag", hash: "h1", seed: func(f *ocifake.Server) string {
			f.AddImage("foreign", map[string]string{cloud.TagConfigHash: "h1"}, t0, "AVAILABLE")
			f.AddImage("other-tool", map[string]string{cloud.TagManagedBy: "someone-else", cloud.TagConfigHash: "h1"}, t0, "AVAILABLE")
			return ""
		}},
		{name: "ignores another hash", hash: "h1", seed: func(f *ocifake.Server) string {
			f.SeedImage("sindri-b", "h2", t0)
			return ""
		}},
		{name: "picks the newest across pages", hash: "h1", seed: func(f *ocifake.Server) string {
			f.SeedImage("old", "h1", t0)
			f.SeedImage("other", "h2", t0.Add(3*time.Hour))
			want := f.SeedImage("new", "h1", t0.Add(2*time.Hour))
			f.SeedImage("older", "h1", t0.Add(-time.Hour))
			f.SeedImage("x", "h3", t0.Add(4*time.Hour))
			return want
		}},
		{name: "ignores images not yet available", hash: "h1", seed: func(f *ocifake.Server) string {
			want := f.SeedImage("done", "h1", t0)
			f.AddImage("building", ourTags("h1"), t0.Add(time.Hour), "PROVISIONING")
			return want
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c, cfg := setup(t)
			want := tc.seed(f)
			img, err := c.FindImage(t.Context(), cfg, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case want == "" && img != nil:
				t.Fatalf("FindImage = %+v, want none", img)
			case want != "" && (img == nil || img.ID != want):
				t.Fatalf("FindImage = %+v, want %s", img, want)
			case want != "" && (img.ConfigHash != tc.hash || img.Regions[ocifake.Region] != want):
				t.Errorf("FindImage = %+v: hash or regions wrong", img)
			}
		})
	}
}

func TestListGetImages(t *testing.T) {
	f, c, cfg := setup(t)
	a := f.SeedImage("sindri-a", "h1", t0)
	b := f.SeedImage("sindri-b", "h2", t0.Add(time.Hour))
	p := f.AddImage("sindri-c", ourTags("h3"), t0.Add(2*time.Hour), "PROVISIONING")
	f.AddImage("platform", nil, t0.Add(3*time.Hour), "AVAILABLE")

	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range imgs {
		ids = append(ids, img.ID)
	}
	if want := []string{p, b, a}; !slices.Equal(ids, want) {
		t.Fatalf("ListImages IDs = %v, want %v (ours, newest first)", ids, want)
	}
	got := imgs[1]
	if got.Name != "sindri-b" || got.ConfigHash != "h2" || got.SindriVersion != "3.0.1" || got.State != "available" ||
		got.Region != ocifake.Region || !got.Created.Equal(t0.Add(time.Hour)) || !got.Deprecated.IsZero() {
		t.Errorf("ListImages[1] = %+v", got)
	}
	if imgs[0].State != "provisioning" {
		t.Errorf("state = %q, want provisioning", imgs[0].State)
	}

	img, err := c.GetImage(t.Context(), cfg, a)
	if err != nil || img.ID != a || img.ConfigHash != "h1" {
		t.Fatalf("GetImage = %+v, %v", img, err)
	}
	_, err = c.GetImage(t.Context(), cfg, "ocid1.image.oc1.iad.missing")
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("GetImage(missing) error = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "NotAuthorizedOrNotFound") || !strings.Contains(err.Error(), "fake-opc-request-") {
		t.Errorf("not-found error lacks the code or request id: %v", err)
	}
}

func TestDeleteImage(t *testing.T) {
	f, c, cfg := setup(t)
	id := f.SeedImage("sindri-a", "h1", t0)
	keep := f.SeedImage("sindri-b", "h2", t0)
	foreign := f.AddImage("platform", map[string]string{"team": "x"}, t0, "AVAILABLE")
	for i := range 2 { // the second delete finds it gone: still success
		if err := c.DeleteImage(t.Context(), cfg, id); err != nil {
			t.Fatalf("DeleteImage #%d: %v", i+1, err)
		}
	}
	if err := c.DeleteImage(t.Context(), cfg, foreign); err == nil || !strings.Contains(err.Error(), "not managed by") {
		t.Errorf("DeleteImage(foreign) = %v, want a refusal", err)
	}
	var live []string
	for _, r := range f.Live() {
		live = append(live, r.ID)
	}
	if want := []string{keep, foreign}; !sameSet(live, want) {
		t.Errorf("Live = %v, want %v", live, want)
	}
	if n := count(f.Requests(), "DELETE /20160918/images/"); n != 1 {
		t.Errorf("%d DeleteImage calls, want 1", n)
	}
}

func TestDeprecateImage(t *testing.T) {
	f, c, cfg := setup(t)
	id := f.AddImage("sindri-a", map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "h1", "Team": "platform"}, t0, "AVAILABLE")
	at := time.Date(2025, 4, 1, 8, 30, 0, 0, time.UTC)
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{At: at, Replacement: "ocid1.image.oc1.iad.new"}); err != nil {
		t.Fatal(err)
	}
	tags := f.ImageTags(id)
	if tags[cloud.TagDeprecated] != "2025-04-01T08:30:00Z" || tags["Team"] != "platform" || tags[cloud.TagConfigHash] != "h1" {
		t.Errorf("tags after deprecate = %v (the old tags must stay)", tags)
	}
	img, err := c.GetImage(t.Context(), cfg, id)
	if err != nil || !img.Deprecated.Equal(at) {
		t.Errorf("GetImage Deprecated = %v, %v; want %v", img.Deprecated, err, at)
	}
	// The zero time means now.
	before := time.Now().Add(-time.Second)
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if img, _ := c.GetImage(t.Context(), cfg, id); img.Deprecated.Before(before) {
		t.Errorf("Deprecated = %v, want about now", img.Deprecated)
	}
	if err := c.DeprecateImage(t.Context(), cfg, "ocid1.image.oc1.iad.missing", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("DeprecateImage(missing) = %v, want ErrNotFound", err)
	}
	foreign := f.AddImage("platform", nil, t0, "AVAILABLE")
	if err := c.DeprecateImage(t.Context(), cfg, foreign, cloud.Deprecation{}); err == nil {
		t.Error("DeprecateImage of a foreign image succeeded")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// liveKinds lists what the fake holds besides images.
func liveKinds(f *ocifake.Server) []string {
	var out []string
	for _, r := range f.Live() {
		if r.Kind != "image" {
			out = append(out, r.Kind+" "+r.ID)
		}
	}
	return out
}

func TestLaunchWaitTerminate(t *testing.T) {
	f, c, cfg := setup(t)
	img := f.SeedImage("sindri-a", "h1", t0)
	req := cloud.LaunchRequest{
		Config: cfg, ImageID: img, RunID: "run-7", User: "ubuntu",
		PublicKey: "ssh-ed25519 AAAAC3NzaFAKE sindri-packer-test-run-7", AllowSSHFrom: "203.0.113.0/24",
	}
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.Host, "192.0.2.") || inst.Port != 22 || inst.User != "ubuntu" || inst.State != "running" ||
		inst.ImageID != img || inst.RunID != "run-7" || !inst.Temporary || inst.Region != ocifake.Region || inst.Name != "sindri-test-run-7" {
		t.Errorf("Launch = %+v", inst)
	}

	launches := f.Launches()
	if len(launches) != 1 {
		t.Fatalf("%d LaunchInstance calls, want 1", len(launches))
	}
	l := launches[0]
	wantTags := map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-7", cloud.TagTemporary: cloud.Temporary, "Team": "platform"}
	if !equalAny(l["freeformTags"], wantTags) {
		t.Errorf("instance freeformTags = %v, want %v", l["freeformTags"], wantTags)
	}
	if l["compartmentId"] != ocifake.Compartment || l["availabilityDomain"] != ocifake.AvailabilityDomain || l["shape"] != "VM.Standard.E4.Flex" {
		t.Errorf("placement = %v %v %v", l["compartmentId"], l["availabilityDomain"], l["shape"])
	}
	sc, _ := l["shapeConfig"].(map[string]any)
	if sc["ocpus"] != 4.0 || sc["memoryInGBs"] != 64.0 {
		t.Errorf("shapeConfig = %v", sc)
	}
	src, _ := l["sourceDetails"].(map[string]any)
	if src["sourceType"] != "image" || src["imageId"] != img || src["bootVolumeSizeInGBs"] != 80.0 {
		t.Errorf("sourceDetails = %v", src)
	}
	vnic, _ := l["createVnicDetails"].(map[string]any)
	if vnic["subnetId"] != ocifake.Subnet || vnic["assignPublicIp"] != true || !equalAny(vnic["freeformTags"], wantTags) {
		t.Errorf("createVnicDetails = %v", vnic)
	}
	md, _ := l["metadata"].(map[string]any)
	ud, err := base64.StdEncoding.DecodeString(md["user_data"].(string))
	if err != nil || !strings.HasPrefix(string(ud), "#cloud-config") || !strings.Contains(string(ud), req.PublicKey) || !strings.Contains(string(ud), "name: ubuntu") {
		t.Errorf("user_data = %q (%v)", ud, err)
	}
	if md["ssh_authorized_keys"] != req.PublicKey {
		t.Errorf("ssh_authorized_keys = %v", md["ssh_authorized_keys"])
	}
	// The VNIC and the boot volume carry our tags too.
	for id, tags := range f.VNICs() {
		if tags[cloud.TagRunID] != "run-7" || tags[cloud.TagTemporary] != cloud.Temporary {
			t.Errorf("VNIC %s tags = %v", id, tags)
		}
	}
	var disks int
	for _, r := range f.Live() {
		if r.Kind == cloud.KindDisk {
			disks++
			if r.Tags[cloud.TagRunID] != "run-7" || r.Tags[cloud.TagTemporary] != cloud.Temporary || r.Tags["Team"] != "platform" {
				t.Errorf("boot volume tags = %v", r.Tags)
			}
		}
	}
	if disks != 1 {
		t.Errorf("%d boot volumes, want 1", disks)
	}
	// No firewall or sharing: the only writes are the launch and the boot
	// volume tags (the subnet's security list is the user's).
	for _, r := range f.Requests() {
		m, _, _ := strings.Cut(r, " ")
		if m != http.MethodGet && r != "POST /20160918/instances" && !strings.HasPrefix(r, "PUT /20160918/bootVolumes/") {
			t.Errorf("unexpected write %q", r)
		}
	}
	if n := count(f.Requests(), "GET /20160918/instances/"); n < 2 {
		t.Errorf("%d GetInstance polls, want the PROVISIONING one and the RUNNING one", n)
	}

	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.Requests(), "DELETE /20160918/instances/"+inst.ID+"?preserveBootVolume=false") {
		t.Errorf("no TerminateInstance with preserveBootVolume=false: %v", f.Requests())
	}
	if left := liveKinds(f); len(left) != 0 {
		t.Errorf("after Terminate, live: %v", left)
	}
	if len(f.VNICs()) != 0 {
		t.Errorf("VNICs left: %v", f.VNICs())
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Errorf("Terminate of a terminated instance: %v", err)
	}
	if err := c.Terminate(t.Context(), &cloud.Instance{ID: inst.ID}); err == nil {
		t.Error("Terminate without a handle succeeded")
	}
}

func equalAny(got any, want map[string]any) bool {
	m, ok := got.(map[string]any)
	if !ok || len(m) != len(want) {
		return false
	}
	for k, v := range want {
		if m[k] != v {
			return false
		}
	}
	return true
}

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(f *ocifake.Server)
		noCall bool // the launch itself fails: no instance was made
		want   string
	}{
		{name: "no public address", want: "VNIC lookup broke", fault: func(f *ocifake.Server) {
			f.FailPath(http.MethodGet, "/vnics/", 400, "InvalidParameter", "VNIC lookup broke")
		}},
		{name: "boot volume tagging refused", want: "tag namespace quota", fault: func(f *ocifake.Server) {
			f.FailPath(http.MethodPut, "/bootVolumes/", 400, "LimitExceeded", "tag namespace quota")
		}},
		{name: "launch refused", noCall: true, want: "Out of host capacity.", fault: func(f *ocifake.Server) {
			f.FailPath(http.MethodPost, "/instances", 500, "InternalError", "Out of host capacity.")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c, cfg := setup(t)
			img := f.SeedImage("sindri-a", "h1", t0)
			tc.fault(f)
			c.Backoff.MaxElapsed = 50 * time.Millisecond // 500s are retried: keep it short
			_, err := c.Launch(t.Context(), cloud.LaunchRequest{Config: cfg, ImageID: img, RunID: "r", User: "ubuntu", PublicKey: "ssh-ed25519 AAAA k"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "fake-opc-request-") {
				t.Fatalf("Launch error = %v, want %q with the request id", err, tc.want)
			}
			if left := liveKinds(f); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			if got := count(f.Requests(), "DELETE /20160918/instances/"); (got == 0) != tc.noCall {
				t.Errorf("%d TerminateInstance calls", got)
			}
		})
	}
	t.Run("image missing", func(t *testing.T) {
		f, c, cfg := setup(t)
		_, err := c.Launch(t.Context(), cloud.LaunchRequest{Config: cfg, ImageID: "ocid1.image.oc1.iad.nope", RunID: "r", User: "u", PublicKey: "k"})
		if err == nil || !strings.Contains(err.Error(), "NotAuthorizedOrNotFound") {
			t.Fatalf("Launch error = %v", err)
		}
		if left := liveKinds(f); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})
}

func TestDeploymentLifecycle(t *testing.T) {
	f, c, cfg := setup(t)
	img := f.SeedImage("sindri-a", "h1", t0)
	inst, err := c.Launch(t.Context(), cloud.LaunchRequest{Config: cfg, ImageID: img, RunID: "run-d", User: "ubuntu", PublicKey: "ssh-ed25519 AAAA d", Deployment: "web", Name: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Temporary || inst.Deployment != "web" || inst.Name != "web-1" {
		t.Errorf("Launch = %+v", inst)
	}
	tmp := f.SeedLeftover(cloud.KindInstance, "run-t", t0)
	f.AddInstance("foreign", map[string]string{"Team": "x"}, t0, "RUNNING")

	list := func(flt cloud.InstanceFilter) []string {
		t.Helper()
		got, err := c.ListInstances(t.Context(), cfg, flt)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, i := range got {
			ids = append(ids, i.ID)
			if i.State == "running" && !strings.HasPrefix(i.Host, "192.0.2.") {
				t.Errorf("running instance %s without a host: %+v", i.ID, i)
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		f    cloud.InstanceFilter
		want []string
	}{
		{"all ours", cloud.InstanceFilter{}, []string{inst.ID, tmp}},
		{"deployment", cloud.InstanceFilter{Deployment: "web"}, []string{inst.ID}},
		{"temporary", cloud.InstanceFilter{Temporary: true}, []string{tmp}},
		{"run id", cloud.InstanceFilter{RunID: "run-d"}, []string{inst.ID}},
		{"no match", cloud.InstanceFilter{Deployment: "db"}, nil},
	} {
		if got := list(tc.f); !sameSet(got, tc.want) {
			t.Errorf("%s: ListInstances = %v, want %v", tc.name, got, tc.want)
		}
	}

	if err := c.StopInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "stopped" || got[0].Host != "" {
		t.Errorf("after stop: %+v", got)
	}
	if err := c.StopInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Errorf("stopping a stopped instance: %v", err)
	}
	if err := c.StartInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "running" {
		t.Errorf("after start: %+v", got)
	}
	if !slices.Contains(f.Requests(), "POST /20160918/instances/"+inst.ID+"?action=SOFTSTOP") ||
		!slices.Contains(f.Requests(), "POST /20160918/instances/"+inst.ID+"?action=START") {
		t.Errorf("requests lack the power actions: %v", f.Requests())
	}
	if err := c.StartInstance(t.Context(), cfg, "ocid1.instance.oc1.iad.gone"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("StartInstance(missing) = %v, want ErrNotFound", err)
	}

	for i := range 2 {
		if err := c.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
			t.Fatalf("TerminateInstance #%d: %v", i+1, err)
		}
	}
	if err := c.TerminateInstance(t.Context(), cfg, "ocid1.instance.oc1.iad.never"); err != nil {
		t.Errorf("TerminateInstance(never existed) = %v", err)
	}
	if got := list(cloud.InstanceFilter{}); !slices.Equal(got, []string{tmp}) {
		t.Errorf("after terminate: %v", got)
	}
	foreign := ""
	for _, r := range f.Live() {
		if r.Kind == cloud.KindInstance && r.Name == "foreign" {
			foreign = r.ID
		}
	}
	if err := c.TerminateInstance(t.Context(), cfg, foreign); err == nil || !strings.Contains(err.Error(), "not managed by") {
		t.Errorf("TerminateInstance(foreign) = %v, want a refusal", err)
	}
}

func TestLeftovers(t *testing.T) {
	f, c, cfg := setup(t)
	oldInst := f.SeedLeftover(cloud.KindInstance, "run-a", t0)
	oldDisk := f.SeedLeftover(cloud.KindDisk, "run-a", t0.Add(time.Minute))
	newInst := f.SeedLeftover(cloud.KindInstance, "run-b", t0.Add(48*time.Hour))
	vol := f.AddVolume("data", map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-b", cloud.TagTemporary: cloud.Temporary}, t0.Add(49*time.Hour))
	if id := f.SeedLeftover(cloud.KindSecurityGroup, "run-a", t0); id != "" {
		t.Errorf("SeedLeftover(security-group) = %q: OCI runs make none", id)
	}
	f.SeedDeployment("web", t0)
	f.SeedImage("sindri-a", "h1", t0)
	f.AddImage("tmp-tagged-image", map[string]string{cloud.TagTemporary: cloud.Temporary, cloud.TagRunID: "run-a"}, t0, "AVAILABLE")
	f.AddVolume("users-disk", map[string]string{"Team": "x"}, t0)

	// Each seeded instance brings a boot volume with the instance's tags.
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
	if !sameSet(instances, []string{oldInst, newInst}) || len(disks) != 4 || !slices.Contains(disks, oldDisk) || !slices.Contains(disks, vol) {
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

	for _, r := range all {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Errorf("DeleteResource(%s %s): %v", r.Kind, r.ID, err)
		}
	}
	for _, r := range f.Live() {
		if r.Tags[cloud.TagTemporary] == cloud.Temporary && r.Kind != "image" {
			t.Errorf("temporary %s %s still live", r.Kind, r.ID)
		}
	}
	if n := len(f.Live()); n != 5 { // deployment + its disk, two images, the user's disk
		t.Errorf("%d live resources after the sweep, want 5: %+v", n, f.Live())
	}
	// Gone already: success.
	for _, r := range all {
		if err := c.DeleteResource(t.Context(), cfg, r); err != nil {
			t.Errorf("DeleteResource(%s %s) again: %v", r.Kind, r.ID, err)
		}
	}
	if err := c.DeleteResource(t.Context(), cfg, cloud.Resource{Kind: cloud.KindKeyPair, ID: "k"}); err == nil {
		t.Error("DeleteResource(key-pair) succeeded on a cloud without key pairs")
	}
}

func TestRetries(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f, c, cfg := setup(t)
			id := f.SeedImage("sindri-a", "h1", t0)
			f.FailNext(status, 2)
			img, err := c.GetImage(t.Context(), cfg, id)
			if err != nil || img.ID != id {
				t.Fatalf("GetImage after two %d = %+v, %v", status, img, err)
			}
			if n := len(f.Requests()); n != 3 {
				t.Errorf("%d requests, want 3", n)
			}
		})
	}
	t.Run("gives up within the bound", func(t *testing.T) {
		f, c, cfg := setup(t)
		c.Backoff.MaxElapsed = 30 * time.Millisecond
		f.FailNext(503, 1000)
		_, err := c.ListImages(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
			t.Fatalf("error = %v", err)
		}
		if n := len(f.Requests()); n < 2 || n > 10 {
			t.Errorf("%d requests, want a few retries", n)
		}
	})
	t.Run("client errors are not retried", func(t *testing.T) {
		f, c, cfg := setup(t)
		f.FailNext(400, 5)
		if _, err := c.ListImages(t.Context(), cfg); err == nil {
			t.Fatal("no error")
		}
		if n := len(f.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("hanging request times out", func(t *testing.T) {
		f, c, cfg := setup(t)
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		c.Backoff.MaxElapsed = 200 * time.Millisecond
		f.HangNext(1000)
		start := time.Now()
		_, err := c.ListImages(t.Context(), cfg)
		if err == nil || !cloud.IsTimeout(err) {
			t.Fatalf("error = %v, want a time-out", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("one hang then success", func(t *testing.T) {
		f, c, cfg := setup(t)
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		f.SeedImage("sindri-a", "h1", t0)
		f.HangNext(1)
		imgs, err := c.ListImages(t.Context(), cfg)
		if err != nil || len(imgs) != 1 {
			t.Fatalf("ListImages = %v, %v", imgs, err)
		}
	})
	t.Run("error body surfaces verbatim", func(t *testing.T) {
		f, c, cfg := setup(t)
		f.FailPath(http.MethodGet, "/images", 409, "IncorrectTagNamespace", "Tag namespace 'x' is retired: contact your administrator.")
		_, err := c.ListImages(t.Context(), cfg)
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"Tag namespace 'x' is retired: contact your administrator.", "IncorrectTagNamespace", "http 409", "opc-request-id fake-opc-request-", "ListImages"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}

func TestCheckCredentials(t *testing.T) {
	f, _, cfg := setup(t)
	desc, err := oci.Cloud{}.CheckCredentials(t.Context(), cfg) // the zero value, through the environment
	if err != nil {
		t.Fatal(err)
	}
	if want := "tenancy " + ocifake.Tenancy + " user " + ocifake.User + " (" + ocifake.UserName + ") in " + ocifake.Region; desc != want {
		t.Errorf("CheckCredentials = %q, want %q", desc, want)
	}
	if got := f.Requests(); !slices.Equal(got, []string{"GET /20160918/users/" + ocifake.User}) {
		t.Errorf("requests = %v, want one GetUser", got)
	}

	// No credential value in any error: a rejected call, and a key the
	// fake does not know (its signature fails).
	secrets := secretsOf(t, f)
	f.FailNext(401, 1)
	_, err = oci.Cloud{}.CheckCredentials(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "NotAuthenticated") {
		t.Fatalf("error = %v", err)
	}
	noSecrets(t, err, secrets)

	other := t.TempDir() + "/config"
	data, _ := os.ReadFile(f.ConfigFile())
	wrongUser := strings.Replace(string(data), ocifake.User, "ocid1.user.oc1..fake-stranger", 1)
	if err := os.WriteFile(other, []byte(wrongUser), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_CLI_CONFIG_FILE", other)
	_, err = oci.Cloud{}.CheckCredentials(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "unknown keyId") {
		t.Fatalf("error with an unknown key = %v", err)
	}
	noSecrets(t, err, secrets)

	t.Setenv("OCI_CLI_CONFIG_FILE", t.TempDir()+"/missing")
	t.Setenv("OCI_CONFIG_FILE", "")
	t.Setenv("HOME", t.TempDir())
	if _, err := (oci.Cloud{}).ListImages(t.Context(), cfg); err == nil {
		t.Error("ListImages without credentials succeeded")
	} else {
		noSecrets(t, err, secrets)
	}
}

// secretsOf returns the fake key's PEM lines.
func secretsOf(t *testing.T, f *ocifake.Server) []string {
	t.Helper()
	data, err := os.ReadFile(f.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	var keyFile string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "key_file="); ok {
			keyFile = v
		}
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(pem), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

func noSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error contains key material: %v", err)
		}
	}
	if strings.Contains(err.Error(), "Signature version") || strings.Contains(err.Error(), "signature=") {
		t.Fatalf("error contains the request signature: %v", err)
	}
}

func TestNoOCIBlock(t *testing.T) {
	cfg := cloudtest.Load(t, "packer:\n  cloud: qemu\n")
	if _, err := (oci.Cloud{}).ListImages(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "no oci block") {
		t.Errorf("error = %v", err)
	}
}
