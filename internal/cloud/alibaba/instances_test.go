package alibaba_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEKEYFORTESTS sindri-packer-test-run-7"

func launchReq(cfg *config.Config, image string) cloud.LaunchRequest {
	return cloud.LaunchRequest{Config: cfg, ImageID: image, RunID: "run-7", User: "sindri", PublicKey: pubKey, AllowSSHFrom: "203.0.113.7/32"}
}

// tagsOf reads Tag.N.Key/Value of a request.
func tagsOf(p url.Values) map[string]string {
	m := map[string]string{}
	for n := 1; p.Get("Tag."+strconv.Itoa(n)+".Key") != ""; n++ {
		m[p.Get("Tag."+strconv.Itoa(n)+".Key")] = p.Get("Tag." + strconv.Itoa(n) + ".Value")
	}
	return m
}

func wantTags(t *testing.T, what string, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: tag %s = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

// Launch returns once the instance runs and has its public address (the
// fake's instances pass Pending and Starting first).
func TestLaunchWaitsUntilRunning(t *testing.T) {
	f, ali, cfg := start(t)
	img := f.SeedImage("sindri-a", "H", t0)
	inst, err := ali.Launch(t.Context(), launchReq(cfg, img))
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID == "" || inst.Host == "" || inst.Port != 22 || inst.User != "sindri" || inst.State != "running" ||
		inst.ImageID != img || inst.RunID != "run-7" || !inst.Temporary || inst.Region != alibabafake.Region || inst.Name != "sindri-test-run-7" {
		t.Errorf("instance = %+v", inst)
	}

	ours := map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run-7", "sindri-packer": "temporary", "team": "platform"}
	run := f.Params("RunInstances")
	if len(run) != 1 {
		t.Fatalf("%d RunInstances calls", len(run))
	}
	p := run[0]
	for k, want := range map[string]string{
		"RegionId": alibabafake.Region, "ImageId": img, "InstanceType": "ecs.g6.xlarge", "VSwitchId": alibabafake.VSwitchID,
		"SystemDisk.Category": "cloud_essd", "SystemDisk.Size": "80", "InternetMaxBandwidthOut": "10", "Amount": "1",
	} {
		if p.Get(k) != want {
			t.Errorf("RunInstances %s = %q, want %q", k, p.Get(k), want)
		}
	}
	if p.Get("ClientToken") == "" || p.Get("Password") != "" || p.Get("KeyPairName") != "" {
		t.Errorf("RunInstances: ClientToken %q, Password %q, KeyPairName %q", p.Get("ClientToken"), p.Get("Password"), p.Get("KeyPairName"))
	}
	ud, err := base64.StdEncoding.DecodeString(p.Get("UserData"))
	if err != nil || !strings.Contains(string(ud), pubKey) || !strings.Contains(string(ud), "name: sindri") || !strings.HasPrefix(string(ud), "#cloud-config") {
		t.Errorf("user data (%v): %q", err, ud)
	}
	wantTags(t, "instance", tagsOf(p), ours)

	sg := f.Params("CreateSecurityGroup")
	if len(sg) != 1 || sg[0].Get("VpcId") != alibabafake.VPCID {
		t.Fatalf("CreateSecurityGroup calls = %+v", sg)
	}
	wantTags(t, "security group", tagsOf(sg[0]), ours)
	groupID := p.Get("SecurityGroupId")
	rules := f.Rules(groupID)
	if len(rules) != 1 || rules[0] != (alibabafake.Rule{Protocol: "tcp", PortRange: "22/22", SourceCidr: "203.0.113.7/32", Policy: "accept"}) {
		t.Errorf("rules of %s = %+v, want only tcp 22 from 203.0.113.7/32", groupID, rules)
	}
	// The disk carries the instance's tags too (RunInstances Tag.N).
	disks := 0
	for _, r := range f.Live() {
		if r.Kind == cloud.KindDisk {
			disks++
			wantTags(t, "disk", r.Tags, ours)
		}
	}
	if disks != 1 {
		t.Errorf("%d disks live, want the system disk", disks)
	}
	for _, r := range f.Requests() {
		if strings.Contains(r, "Share") || strings.Contains(r, "ImageAttribute") {
			t.Errorf("launch touched image sharing or attributes: %s", r)
		}
	}
}

// Terminate returns once ECS no longer lists the instance (the fake lists
// a released one once more), its disk and security group gone with it.
func TestTerminateWaitsUntilGone(t *testing.T) {
	f, ali, cfg := start(t)
	inst, err := ali.Launch(t.Context(), launchReq(cfg, f.SeedImage("sindri-a", "H", t0)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ali.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if p := f.Params("DeleteInstance")[0]; p.Get("Force") != "true" || p.Get("InstanceId") != inst.ID {
		t.Errorf("DeleteInstance params = %v", p)
	}
	if k := liveKinds(f); k[cloud.KindInstance]+k[cloud.KindDisk]+k[cloud.KindSecurityGroup] != 0 {
		t.Errorf("left after terminate: %v", f.Live())
	}
	if err := ali.Terminate(t.Context(), inst); err != nil {
		t.Errorf("terminate when gone: %v", err)
	}
}

func TestLaunchDefaults(t *testing.T) {
	f, ali, cfg := start(t)
	img := f.SeedImage("sindri-a", "H", t0)
	req := launchReq(cfg, img)
	req.AllowSSHFrom = ""
	req.Deployment, req.Name = "web", "web-1"
	inst, err := ali.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Temporary || inst.Deployment != "web" || inst.Name != "web-1" {
		t.Errorf("deployment instance = %+v", inst)
	}
	p := f.Params("RunInstances")[0]
	tags := tagsOf(p)
	if _, temp := tags["sindri-packer"]; temp || tags["sindri-deployment"] != "web" {
		t.Errorf("deployment tags = %v", tags)
	}
	if rules := f.Rules(p.Get("SecurityGroupId")); len(rules) != 1 || rules[0].SourceCidr != "0.0.0.0/0" {
		t.Errorf("default SSH rule = %+v, want 0.0.0.0/0", rules)
	}
	// Found again by tags alone, its group goes with it.
	if err := ali.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	if k := liveKinds(f); k[cloud.KindInstance]+k[cloud.KindDisk]+k[cloud.KindSecurityGroup] != 0 {
		t.Errorf("left after TerminateInstance: %v", f.Live())
	}
	if err := ali.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Errorf("TerminateInstance when gone: %v", err)
	}
}

func TestLaunchNeedsVSwitch(t *testing.T) {
	tests := []struct{ name, yaml, field string }{
		{"single-cloud form", minimal, "packer.vswitch_id"},
		{"multi-cloud form", "packer:\n  clouds:\n    alibaba: {}\n", "packer.clouds.alibaba.vswitch_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ali, _ := start(t)
			_, err := ali.Launch(t.Context(), launchReq(cloudtest.Load(t, tc.yaml), "m-x"))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want one naming %s", err, tc.field)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests made before the check", n)
			}
		})
	}
}

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct {
		name    string
		fail    func(f *alibabafake.Fake)
		image   string // "" for the seeded one
		ctx     time.Duration
		wantErr string
	}{
		{"ssh rule refused", func(f *alibabafake.Fake) {
			fail(f, "AuthorizeSecurityGroup", 400, "InvalidSourceCidrIp.Malformed", "The specified SourceCidrIp is malformed.")
		}, "", 0, "InvalidSourceCidrIp.Malformed"},
		{"instance refused", func(f *alibabafake.Fake) {
			fail(f, "RunInstances", 403, "QuotaExceed.PostPaidInstance", "Living instances quota exceeded.")
		}, "", 0, "Living instances quota exceeded."},
		{"image missing", func(*alibabafake.Fake) {}, "m-missing", 0, "InvalidImageId.NotFound"},
		{"describe fails while waiting", func(f *alibabafake.Fake) {
			fail(f, "DescribeInstances", 400, "InvalidParameter", "Bad describe.")
		}, "", 0, "Bad describe."},
		{"cancelled while waiting", func(*alibabafake.Fake) {}, "", 50 * time.Millisecond, "context deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ali, cfg := start(t)
			img := f.SeedImage("sindri-a", "H", t0)
			if tc.image != "" {
				img = tc.image
			}
			tc.fail(f)
			c := ali
			ctx := t.Context()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
				c.Tuning.PollInterval = 200 * time.Millisecond // the deadline passes while waiting
			}
			_, err := c.Launch(ctx, launchReq(cfg, img))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			noSecrets(t, err)
			if k := liveKinds(f); k[cloud.KindInstance]+k[cloud.KindDisk]+k[cloud.KindSecurityGroup] != 0 {
				t.Errorf("left behind: %+v", f.Live())
			}
		})
	}
}

func TestListInstances(t *testing.T) {
	f, ali, cfg := start(t)
	dep := f.AddInstance("web-1", map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run-1", "sindri-deployment": "web"}, t0)
	tmp := f.AddInstance("sindri-test-run-2", map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run-2", "sindri-packer": "temporary"}, t0)
	f.AddInstance("someone-elses", map[string]string{"team": "x"}, t0)

	tests := []struct {
		name   string
		filter cloud.InstanceFilter
		want   []string
	}{
		{"all of ours", cloud.InstanceFilter{}, []string{dep, tmp}},
		{"deployment", cloud.InstanceFilter{Deployment: "web"}, []string{dep}},
		{"temporary", cloud.InstanceFilter{Temporary: true}, []string{tmp}},
		{"run", cloud.InstanceFilter{RunID: "run-1"}, []string{dep}},
		{"no match", cloud.InstanceFilter{RunID: "run-9"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ali.ListInstances(t.Context(), cfg, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			ids := cloudtest.InstanceIDs(got)
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestStopStartInstance(t *testing.T) {
	f, ali, cfg := start(t)
	dep := f.AddInstance("web-1", map[string]string{"managed-by": "sindri-packer", "sindri-run-id": "run-1", "sindri-deployment": "web"}, t0)
	state := func() string {
		got, err := ali.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
		if err != nil || len(got) != 1 {
			t.Fatalf("list: %v %v", got, err)
		}
		in := got[0]
		if in.Name != "web-1" || in.Deployment != "web" || in.RunID != "run-1" || in.Temporary || !in.Created.Equal(t0) || in.Host == "" || in.Region != alibabafake.Region {
			t.Errorf("listed %+v", in)
		}
		return in.State
	}
	if err := ali.StopInstance(t.Context(), cfg, dep); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != "stopped" {
		t.Errorf("after stop: %s", s)
	}
	if err := ali.StopInstance(t.Context(), cfg, dep); err != nil {
		t.Errorf("stopping a stopped instance: %v", err)
	}
	if err := ali.StartInstance(t.Context(), cfg, dep); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != "running" {
		t.Errorf("after start: %s", s)
	}
	for _, op := range []func(context.Context, *config.Config, string) error{ali.StopInstance, ali.StartInstance} {
		if err := op(t.Context(), cfg, "i-missing"); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("missing instance: %v, want ErrNotFound", err)
		}
	}
}

func TestTerminateNeedsRegion(t *testing.T) {
	if err := fast.Terminate(t.Context(), &cloud.Instance{ID: "i-1"}); err == nil {
		t.Error("terminate without a handle or region succeeded")
	}
	if err := fast.Terminate(t.Context(), nil); err == nil {
		t.Error("terminate of nil succeeded")
	}
}

func TestNoAlibabaBlock(t *testing.T) {
	cfg := cloudtest.Load(t, "packer:\n  cloud: qemu\n")
	c := alibaba.Cloud{}
	if _, err := c.ListImages(t.Context(), cfg); err == nil {
		t.Error("ListImages without an alibaba block succeeded")
	}
	if _, err := c.Launch(t.Context(), cloud.LaunchRequest{Config: cfg}); err == nil {
		t.Error("Launch without an alibaba block succeeded")
	}
}
