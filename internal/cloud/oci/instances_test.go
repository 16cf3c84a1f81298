package oci_test

import (
	"encoding/base64"
	"errors"
	"net/http"
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

// launched is a test instance launched on a fresh fake.
type launched struct {
	f    *ocifake.Fake
	c    oci.Cloud
	cfg  *config.Config
	img  string
	req  cloud.LaunchRequest
	inst *cloud.Instance
}

func launchTest(t *testing.T) launched {
	t.Helper()
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
	return launched{f: f, c: c, cfg: cfg, img: img, req: req, inst: inst}
}

var launchTags = map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-7", cloud.TagTemporary: cloud.Temporary, "Team": "platform"}

func TestLaunchWaitsUntilRunning(t *testing.T) {
	l := launchTest(t)
	inst := l.inst
	if !strings.HasPrefix(inst.Host, "192.0.2.") || inst.Port != 22 || inst.User != "ubuntu" || inst.State != "running" ||
		inst.ImageID != l.img || inst.RunID != "run-7" || !inst.Temporary || inst.Region != ocifake.Region || inst.Name != "sindri-test-run-7" {
		t.Errorf("Launch = %+v", inst)
	}
	if n := count(l.f.Requests(), "GET /20160918/instances/"); n < 2 {
		t.Errorf("%d GetInstance polls, want the PROVISIONING one and the RUNNING one", n)
	}
	// No firewall or sharing: the only writes are the launch and the boot
	// volume tags (the subnet's security list is the user's).
	for _, r := range l.f.Requests() {
		m, _, _ := strings.Cut(r, " ")
		if m != http.MethodGet && r != "POST /20160918/instances" && !strings.HasPrefix(r, "PUT /20160918/bootVolumes/") {
			t.Errorf("unexpected write %q", r)
		}
	}
}

func TestLaunchRequest(t *testing.T) {
	l := launchTest(t)
	launches := l.f.Launches()
	if len(launches) != 1 {
		t.Fatalf("%d LaunchInstance calls, want 1", len(launches))
	}
	sent := launches[0]
	if !equalAny(sent["freeformTags"], launchTags) {
		t.Errorf("instance freeformTags = %v, want %v", sent["freeformTags"], launchTags)
	}
	if sent["compartmentId"] != ocifake.Compartment || sent["availabilityDomain"] != ocifake.AvailabilityDomain || sent["shape"] != "VM.Standard.E4.Flex" {
		t.Errorf("placement = %v %v %v", sent["compartmentId"], sent["availabilityDomain"], sent["shape"])
	}
	sc, _ := sent["shapeConfig"].(map[string]any)
	if sc["ocpus"] != 4.0 || sc["memoryInGBs"] != 64.0 {
		t.Errorf("shapeConfig = %v", sc)
	}
	src, _ := sent["sourceDetails"].(map[string]any)
	if src["sourceType"] != "image" || src["imageId"] != l.img || src["bootVolumeSizeInGBs"] != 80.0 {
		t.Errorf("sourceDetails = %v", src)
	}
	vnic, _ := sent["createVnicDetails"].(map[string]any)
	if vnic["subnetId"] != ocifake.Subnet || vnic["assignPublicIp"] != true || !equalAny(vnic["freeformTags"], launchTags) {
		t.Errorf("createVnicDetails = %v", vnic)
	}
	md, _ := sent["metadata"].(map[string]any)
	ud, err := base64.StdEncoding.DecodeString(md["user_data"].(string))
	if err != nil || !strings.HasPrefix(string(ud), "#cloud-config") || !strings.Contains(string(ud), l.req.PublicKey) || !strings.Contains(string(ud), "name: ubuntu") {
		t.Errorf("user_data = %q (%v)", ud, err)
	}
	if md["ssh_authorized_keys"] != l.req.PublicKey {
		t.Errorf("ssh_authorized_keys = %v", md["ssh_authorized_keys"])
	}
}

// The VNIC and the boot volume carry our tags too.
func TestLaunchTagsVNICAndBootVolume(t *testing.T) {
	l := launchTest(t)
	for id, tags := range l.f.VNICs() {
		if tags[cloud.TagRunID] != "run-7" || tags[cloud.TagTemporary] != cloud.Temporary {
			t.Errorf("VNIC %s tags = %v", id, tags)
		}
	}
	var disks int
	for _, r := range l.f.Live() {
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
}

func TestTerminateWaitsUntilGone(t *testing.T) {
	l := launchTest(t)
	f, c, inst := l.f, l.c, l.inst
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.Requests(), "DELETE /20160918/instances/"+inst.ID+"?preserveBootVolume=false") {
		t.Errorf("no TerminateInstance with preserveBootVolume=false: %v", f.Requests())
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 {
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

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(f *ocifake.Fake)
		noCall bool // the launch itself fails: no instance was made
		want   string
	}{
		{name: "no public address", want: "VNIC lookup broke", fault: func(f *ocifake.Fake) {
			failAlways(f, "GET /20160918/vnics/", 400, "InvalidParameter", "VNIC lookup broke")
		}},
		{name: "boot volume tagging refused", want: "tag namespace quota", fault: func(f *ocifake.Fake) {
			failAlways(f, "PUT /20160918/bootVolumes/", 400, "LimitExceeded", "tag namespace quota")
		}},
		{name: "launch refused", noCall: true, want: "Out of host capacity.", fault: func(f *ocifake.Fake) {
			failAlways(f, "POST /20160918/instances", 500, "InternalError", "Out of host capacity.")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c, cfg := setup(t)
			img := f.SeedImage("sindri-a", "h1", t0)
			tc.fault(f)
			c.Tuning.Retry.MaxElapsed = 50 * time.Millisecond // 500s are retried: keep it short
			cloudtest.LaunchFailsCleanly(t.Context(), t, c, f, cloud.LaunchRequest{Config: cfg, ImageID: img, RunID: "r", User: "ubuntu", PublicKey: "ssh-ed25519 AAAA k"},
				cloudtest.ErrorSays(tc.want, "fake-opc-request-")) // with the request id
			if got := count(f.Requests(), "DELETE /20160918/instances/"); (got == 0) != tc.noCall {
				t.Errorf("%d TerminateInstance calls", got)
			}
		})
	}
	t.Run("image missing", func(t *testing.T) {
		f, c, cfg := setup(t)
		cloudtest.LaunchFailsCleanly(t.Context(), t, c, f, cloud.LaunchRequest{Config: cfg, ImageID: "ocid1.image.oc1.iad.nope", RunID: "r", User: "u", PublicKey: "k"},
			cloudtest.ErrorSays("NotAuthorizedOrNotFound"))
	})
}

// deployment is a deployed instance "web" beside a temporary one and a
// foreign one, on a fresh fake.
type deployment struct {
	f        *ocifake.Fake
	c        oci.Cloud
	cfg      *config.Config
	web, tmp string
}

func deployTest(t *testing.T) deployment {
	t.Helper()
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
	return deployment{f: f, c: c, cfg: cfg, web: inst.ID, tmp: tmp}
}

// list returns the IDs ListInstances finds with flt; running ones must
// have their address.
func (d deployment) list(t *testing.T, flt cloud.InstanceFilter) []string {
	t.Helper()
	got, err := d.c.ListInstances(t.Context(), d.cfg, flt)
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

func TestListInstances(t *testing.T) {
	d := deployTest(t)
	for _, tc := range []struct {
		name string
		f    cloud.InstanceFilter
		want []string
	}{
		{"all ours", cloud.InstanceFilter{}, []string{d.web, d.tmp}},
		{"deployment", cloud.InstanceFilter{Deployment: "web"}, []string{d.web}},
		{"temporary", cloud.InstanceFilter{Temporary: true}, []string{d.tmp}},
		{"run id", cloud.InstanceFilter{RunID: "run-d"}, []string{d.web}},
		{"no match", cloud.InstanceFilter{Deployment: "db"}, nil},
	} {
		if got := d.list(t, tc.f); !sameSet(got, tc.want) {
			t.Errorf("%s: ListInstances = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStopStartInstance(t *testing.T) {
	d := deployTest(t)
	ctx, c, cfg := t.Context(), d.c, d.cfg
	if err := c.StopInstance(ctx, cfg, d.web); err != nil {
		t.Fatal(err)
	}
	got, _ := c.ListInstances(ctx, cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "stopped" || got[0].Host != "" {
		t.Errorf("after stop: %+v", got)
	}
	if err := c.StopInstance(ctx, cfg, d.web); err != nil {
		t.Errorf("stopping a stopped instance: %v", err)
	}
	if err := c.StartInstance(ctx, cfg, d.web); err != nil {
		t.Fatal(err)
	}
	got, _ = c.ListInstances(ctx, cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "running" {
		t.Errorf("after start: %+v", got)
	}
	if !slices.Contains(d.f.Requests(), "POST /20160918/instances/"+d.web+"?action=SOFTSTOP") ||
		!slices.Contains(d.f.Requests(), "POST /20160918/instances/"+d.web+"?action=START") {
		t.Errorf("requests lack the power actions: %v", d.f.Requests())
	}
	if err := c.StartInstance(ctx, cfg, "ocid1.instance.oc1.iad.gone"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("StartInstance(missing) = %v, want ErrNotFound", err)
	}
}

func TestTerminateInstance(t *testing.T) {
	d := deployTest(t)
	ctx, c, cfg := t.Context(), d.c, d.cfg
	for i := range 2 {
		if err := c.TerminateInstance(ctx, cfg, d.web); err != nil {
			t.Fatalf("TerminateInstance #%d: %v", i+1, err)
		}
	}
	if err := c.TerminateInstance(ctx, cfg, "ocid1.instance.oc1.iad.never"); err != nil {
		t.Errorf("TerminateInstance(never existed) = %v", err)
	}
	if got := d.list(t, cloud.InstanceFilter{}); !slices.Equal(got, []string{d.tmp}) {
		t.Errorf("after terminate: %v", got)
	}
	foreign := ""
	for _, r := range d.f.Live() {
		if r.Kind == cloud.KindInstance && r.Name == "foreign" {
			foreign = r.ID
		}
	}
	if err := c.TerminateInstance(ctx, cfg, foreign); err == nil || !strings.Contains(err.Error(), "not managed by") {
		t.Errorf("TerminateInstance(foreign) = %v, want a refusal", err)
	}
}

// TestPublicIPFollowsPages: the VNIC attachments of an instance are paged
// like every OCI list; a public IP on a VNIC whose attachment is on the
// second page is still found (the lookup read the first page only).
func TestPublicIPFollowsPages(t *testing.T) {
	f, c, cfg := setup(t)
	id := f.SeedDeployment("web", t0)
	f.SetPrimaryPublicIP(id, "")
	f.AddVNIC(id, "192.0.2.77")
	f.SetPageSize(1)
	got, err := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if err != nil || len(got) != 1 || got[0].Host != "192.0.2.77" {
		t.Fatalf("ListInstances = %+v, %v; want the secondary VNIC's public IP 192.0.2.77", got, err)
	}
}
