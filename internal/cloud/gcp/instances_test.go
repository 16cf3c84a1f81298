package gcp_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE sindri-packer-test-run-7"

func launchReq(cfg *config.Config) cloud.LaunchRequest {
	return cloud.LaunchRequest{Config: cfg, ImageID: "sindri-img", RunID: "Run_7.2", User: "sindri", PublicKey: pubKey, AllowSSHFrom: "198.51.100.7/32"}
}

// launchOne seeds the image and launches the standard request.
func launchOne(t *testing.T) (*gcpfake.Fake, gcp.Cloud, *config.Config, *cloud.Instance) {
	t.Helper()
	f, c, cfg := newFake(t)
	f.SeedImage("sindri-img", hashA, time.Now())
	inst, err := c.Launch(ctx(t), launchReq(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return f, c, cfg, inst
}

func TestLaunchWaitsUntilRunning(t *testing.T) {
	f, _, cfg, inst := launchOne(t)
	if inst.Host != f.NatIP || inst.Port != 22 || inst.User != "sindri" || inst.State != "running" || inst.ImageID != "sindri-img" ||
		inst.RunID != "run_7-2" || !inst.Temporary || inst.Region != f.Zone || !strings.HasPrefix(inst.ID, "sindri-test-") || inst.Handle != cfg {
		t.Errorf("instance = %+v", inst)
	}
	in := f.Instance(f.Zone, inst.ID)
	wantLabels := map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run_7-2", "sindri-packer": "temporary", "team": "platform"}
	for k, v := range wantLabels {
		if in.GetLabels()[k] != v {
			t.Errorf("instance label %s = %q, want %q (labels %v)", k, in.GetLabels()[k], v, in.GetLabels())
		}
	}
	if got := in.GetMachineType(); got != "zones/"+f.Zone+"/machineTypes/e2-standard-4" {
		t.Errorf("machineType = %s", got)
	}
	ni := in.GetNetworkInterfaces()[0]
	if ni.GetNetwork() != "projects/"+f.Project+"/global/networks/default" || ni.GetAccessConfigs()[0].GetType() != "ONE_TO_ONE_NAT" {
		t.Errorf("network interface = %v", ni)
	}
	if len(in.GetTags().GetItems()) != 1 || in.GetTags().GetItems()[0] != inst.ID {
		t.Errorf("network tags = %v, want the instance's own", in.GetTags().GetItems())
	}
}

func TestLaunchSendsUserDataKeyAndBootDisk(t *testing.T) {
	f, _, _, inst := launchOne(t)
	meta := map[string]string{}
	for _, it := range f.Instance(f.Zone, inst.ID).GetMetadata().GetItems() {
		meta[it.GetKey()] = it.GetValue()
	}
	if ud := meta["user-data"]; !strings.HasPrefix(ud, "#cloud-config") || !strings.Contains(ud, pubKey) || !strings.Contains(ud, "name: sindri") {
		t.Errorf("user-data = %q", ud)
	}
	if meta["ssh-keys"] != "sindri:"+pubKey || meta["block-project-ssh-keys"] != "true" {
		t.Errorf("ssh metadata = %v", meta)
	}
	// The insert asked for the right image in the right zone, with
	// labelled auto-delete boot disk.
	var insert string
	for _, call := range f.Calls("POST /compute/v1/projects/" + f.Project + "/zones/" + f.Zone + "/instances") {
		if call.Path == "/compute/v1/projects/"+f.Project+"/zones/"+f.Zone+"/instances" {
			insert = string(call.Body)
		}
	}
	cloudtest.WantContains(t, "the instance insert", insert, `"sourceImage":"projects/fake-project/global/images/sindri-img"`, `"autoDelete":true`, `"diskSizeGb":"80"`,
		`"diskType":"zones/us-west1-a/diskTypes/pd-ssd"`, `"sindri-packer":"temporary"`, `"enableSecureBoot":true`)
	disk := liveOf(f.Live(), cloud.KindDisk)
	if len(disk) != 1 || disk[0].Tags["sindri-run-id"] != "run_7-2" || disk[0].Tags["sindri-packer"] != "temporary" {
		t.Errorf("boot disk = %+v, want our labels", disk)
	}
}

// SSH is open to the given CIDR only, for this instance only.
func TestLaunchOpensSSHToTheGivenCIDROnly(t *testing.T) {
	f, _, _, inst := launchOne(t)
	fws := liveOf(f.Live(), cloud.KindSecurityGroup)
	if len(fws) != 1 {
		t.Fatalf("firewalls = %+v, want one", fws)
	}
	fw := f.Firewall(fws[0].ID)
	if !strings.HasPrefix(fw.GetName(), "sindri-tmp-") || strings.Join(fw.GetSourceRanges(), ",") != "198.51.100.7/32" ||
		strings.Join(fw.GetTargetTags(), ",") != inst.ID || fw.GetDirection() != "INGRESS" ||
		len(fw.GetAllowed()) != 1 || fw.GetAllowed()[0].GetIPProtocol() != "tcp" || strings.Join(fw.GetAllowed()[0].GetPorts(), ",") != "22" ||
		!strings.Contains(fw.GetDescription(), "sindri-run-id=Run_7.2") || !strings.Contains(fw.GetDescription(), "sindri-packer=temporary") {
		t.Errorf("firewall = %v", fw)
	}
	// Nothing is shared publicly: no IAM policy is ever set.
	for _, r := range f.Requests() {
		if strings.Contains(r, "setIamPolicy") {
			t.Errorf("public sharing request: %s", r)
		}
	}
}

func TestTerminateWaitsUntilGone(t *testing.T) {
	f, c, cfg, inst := launchOne(t)
	if err := c.Terminate(ctx(t), inst); err != nil {
		t.Fatal(err)
	}
	if live := f.Live(); len(liveOf(live, cloud.KindInstance))+len(liveOf(live, cloud.KindDisk))+len(liveOf(live, cloud.KindSecurityGroup)) != 0 {
		t.Errorf("after Terminate: %+v", live)
	}
	// Gone already: still success, by handle and by id.
	if err := c.Terminate(ctx(t), inst); err != nil {
		t.Errorf("Terminate(gone) = %v", err)
	}
	if err := c.TerminateInstance(ctx(t), cfg, inst.ID); err != nil {
		t.Errorf("TerminateInstance(gone) = %v", err)
	}
	if err := c.Terminate(ctx(t), &cloud.Instance{ID: "x"}); err == nil {
		t.Error("Terminate without a handle succeeded")
	}
}

func TestLaunchDefaultsAndDeployment(t *testing.T) {
	f, c, _ := newFake(t)
	f.SeedImage("sindri-img", hashA, time.Now())
	cfg := loadCfg(t, f.Project, f.Zone, "  network: vpc-1\n  subnetwork: sub-1\n  enable_secure_boot: false\n")
	req := launchReq(cfg)
	req.AllowSSHFrom = ""
	req.Deployment, req.Name = "dev-box", "Dev Box"
	inst, err := c.Launch(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != "dev-box" || inst.Temporary || inst.Deployment != "dev-box" {
		t.Errorf("instance = %+v", inst)
	}
	in := f.Instance(f.Zone, "dev-box")
	ni := in.GetNetworkInterfaces()[0]
	if ni.GetNetwork() != "projects/fake-project/global/networks/vpc-1" || ni.GetSubnetwork() != "projects/fake-project/regions/us-west1/subnetworks/sub-1" {
		t.Errorf("network = %s, subnetwork = %s", ni.GetNetwork(), ni.GetSubnetwork())
	}
	if in.GetLabels()["sindri-packer"] != "" || in.GetLabels()["sindri-deployment"] != "dev-box" || in.GetShieldedInstanceConfig() != nil {
		t.Errorf("deployment instance = %v", in)
	}
	fw := f.Firewall("sindri-ssh-dev-box")
	if fw == nil || strings.Join(fw.GetSourceRanges(), ",") != "0.0.0.0/0" || strings.Contains(fw.GetDescription(), "temporary") {
		t.Fatalf("deployment firewall = %v", fw)
	}
	list, err := c.ListInstances(ctx(t), cfg, cloud.InstanceFilter{Deployment: "dev-box"})
	if err != nil || len(list) != 1 || list[0].ID != "dev-box" || list[0].User != "sindri" || list[0].ImageID != "sindri-img" {
		t.Fatalf("ListInstances = %+v, %v", list, err)
	}
	if err := c.TerminateInstance(ctx(t), cfg, "dev-box"); err != nil {
		t.Fatal(err)
	}
	if f.Firewall("sindri-ssh-dev-box") != nil || f.Instance(f.Zone, "dev-box") != nil {
		t.Error("deployment not fully destroyed")
	}
}

func loadCfg(t *testing.T, project, zone, extra string) *config.Config {
	t.Helper()
	return cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: "+project+"\n  zone: "+zone+"\n"+extra)
}

// fakeKnobs are the fault switches the launch table uses.
type fakeKnobs interface {
	BootFailure(on bool)
	FailInstanceInsert(code, message string)
	Inject(faults ...cloudtest.Fault)
}

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f fakeKnobs)
		image string
		want  string
	}{
		{name: "image missing: the firewall is removed", image: "sindri-missing", setup: func(fakeKnobs) {},
			want: "The resource 'projects/fake-project/global/images/sindri-missing' was not found"},
		{name: "insert refused: the firewall is removed", image: "sindri-img",
			setup: func(f fakeKnobs) {
				f.Inject(cloudtest.Fault{Match: "POST /compute/v1/projects/fake-project/zones/us-west1-a/instances", Status: 400,
					Code: "invalid", Message: "Invalid value for field 'resource.machineType'"})
			},
			want: "Invalid value for field 'resource.machineType'"},
		{name: "insert operation fails", image: "sindri-img",
			setup: func(f fakeKnobs) {
				f.FailInstanceInsert("ZONE_RESOURCE_POOL_EXHAUSTED", "The zone 'projects/fake-project/zones/us-west1-a' does not have enough resources available")
			},
			want: "ZONE_RESOURCE_POOL_EXHAUSTED"},
		{name: "boot fails: instance, disk and firewall are removed", image: "sindri-img",
			setup: func(f fakeKnobs) { f.BootFailure(true) }, want: "it is stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, cfg := newFake(t)
			f.SeedImage("sindri-img", hashA, time.Now())
			tt.setup(f)
			req := launchReq(cfg)
			req.ImageID = tt.image
			cloudtest.LaunchFailsCleanly(ctx(t), t, c, f, req, cloudtest.ErrorSays(tt.want))
		})
	}
}

func TestLaunchCancelledCleansUp(t *testing.T) {
	f, c, cfg := newFake(t)
	f.SeedImage("sindri-img", hashA, time.Now())
	// The instance never gets past its first poll: every read of it hangs
	// (more hangs than the launch can try before its context ends).
	for range 100 {
		f.Inject(cloudtest.Fault{Match: "GET /compute/v1/projects/fake-project/zones/us-west1-a/instances/", Hang: true})
	}
	c.Tuning.CallTimeout = 50 * time.Millisecond
	cctx, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	cloudtest.LaunchFailsCleanly(cctx, t, c, f, launchReq(cfg), func(error) bool { return true })
}

func TestStopStartList(t *testing.T) {
	f, c, cfg := newFake(t)
	f.SeedImage("sindri-img", hashA, time.Now())
	inst, err := c.Launch(ctx(t), launchReq(cfg))
	if err != nil {
		t.Fatal(err)
	}
	f.SeedInstance("someone-else", map[string]string{"team": "x"}, time.Now())
	f.SeedInstance("sindri-dep", map[string]string{"managed-by": "sindri-packer", "sindri-deployment": "web"}, time.Now().Add(-time.Hour))

	if err := c.StopInstance(ctx(t), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	if st := f.Instance(f.Zone, inst.ID).GetStatus(); st != "TERMINATED" {
		t.Errorf("after stop: %s", st)
	}
	tests := []struct {
		name   string
		filter cloud.InstanceFilter
		want   string
	}{
		{"all of ours, newest first", cloud.InstanceFilter{}, inst.ID + ",sindri-dep"},
		{"by run id", cloud.InstanceFilter{RunID: "Run_7.2"}, inst.ID},
		{"temporary", cloud.InstanceFilter{Temporary: true}, inst.ID},
		{"deployment", cloud.InstanceFilter{Deployment: "web"}, "sindri-dep"},
		{"other run", cloud.InstanceFilter{RunID: "other"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := c.ListInstances(ctx(t), cfg, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			ids := cloudtest.InstanceIDs(list)
			if strings.Join(ids, ",") != tt.want {
				t.Errorf("ListInstances = %v, want %s", ids, tt.want)
			}
		})
	}
	list, _ := c.ListInstances(ctx(t), cfg, cloud.InstanceFilter{Temporary: true})
	if len(list) != 1 || list[0].State != "stopped" || list[0].Host != "" {
		t.Errorf("stopped instance listed as %+v", list)
	}

	if err := c.StartInstance(ctx(t), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	list, _ = c.ListInstances(ctx(t), cfg, cloud.InstanceFilter{Temporary: true})
	if len(list) != 1 || list[0].State != "running" || list[0].Host != f.NatIP {
		t.Errorf("started instance listed as %+v", list)
	}
	for _, verb := range []func() error{
		func() error { return c.StopInstance(ctx(t), cfg, "missing") },
		func() error { return c.StartInstance(ctx(t), cfg, "missing") },
	} {
		if err := verb(); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("stop/start of a missing instance = %v, want ErrNotFound", err)
		}
	}
}

func liveOf(live []cloudtest.FakeResource, kind string) []cloudtest.FakeResource {
	var out []cloudtest.FakeResource
	for _, r := range live {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// A zero Tuning polls at the gcp pace: from 1s, doubling (the shared
// default would start at 2s).
func TestStatePollsStartAtOneSecond(t *testing.T) {
	f, c, cfg := newFake(t)
	f.SeedImage("sindri-img", hashA, time.Now())
	var slept []time.Duration
	c.Tuning = cloud.Tuning{Retry: tiny, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	if _, err := c.Launch(ctx(t), launchReq(cfg)); err != nil {
		t.Fatal(err)
	}
	// The instance reads PROVISIONING, then STAGING, then RUNNING.
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(slept, want) {
		t.Errorf("waits between polls = %v, want %v", slept, want)
	}
}
