package aws_test

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE sindri-packer-test-run-7"

func launchReq(cfg *config.Config, image string) cloud.LaunchRequest {
	return cloud.LaunchRequest{Config: cfg, ImageID: image, RunID: "run-7", User: "sindri", PublicKey: pubKey, AllowSSHFrom: "203.0.113.7/32"}
}

// launched starts a fake and launches the test instance of run-7 from an
// image in its region, as an image test does.
func launched(t *testing.T, yaml string) (*awsfake.Fake, aws.Cloud, *config.Config, *cloud.Instance, string) {
	t.Helper()
	f, c, cfg := setup(t, yaml)
	region := cfg.Packer.Clouds.AWS.Region
	image := f.AddImage(awsfake.ImageSpec{Region: region, Name: "sindri-1", Tags: awsfake.ImageTags("h1"), Created: t0})
	inst, err := c.Launch(t.Context(), launchReq(cfg, image))
	if err != nil {
		t.Fatal(err)
	}
	return f, c, cfg, inst, image
}

const subnetYAML = "packer:\n  cloud: aws\n  region: eu-central-1\n  instance_type: t3.small\n  subnet_id: " + awsfake.OtherSubnet + "\n  tags:\n    team: platform\n"

// Launch returns once the instance runs with its public address, asked
// for exactly: IMDSv2, one public interface in the configured subnet,
// a poweroff ends it, the key comes in cloud-init user data.
func TestLaunchWaitsUntilRunning(t *testing.T) {
	f, c, _ := setup(t, "")
	f.SetPublicIP("127.0.0.9")
	f.SetTransitionPolls(3)
	cfg := cloudtest.Load(t, subnetYAML)
	image := f.AddImage(awsfake.ImageSpec{Region: "eu-central-1", Name: "sindri-1", Tags: awsfake.ImageTags("h1"), Created: t0})
	inst, err := c.Launch(t.Context(), launchReq(cfg, image))
	if err != nil {
		t.Fatal(err)
	}
	if inst.Host != "127.0.0.9" || inst.Port != 22 || inst.User != "sindri" || inst.State != "running" || inst.ImageID != image ||
		inst.RunID != "run-7" || !inst.Temporary || inst.Region != "eu-central-1" || inst.Name != "sindri-packer-test-run-7" || inst.Handle == nil {
		t.Errorf("instance = %+v", inst)
	}
	run := f.Calls("RunInstances")
	if len(run) != 1 {
		t.Fatalf("RunInstances calls = %d", len(run))
	}
	form := run[0].Form
	if run[0].Region != "eu-central-1" {
		t.Errorf("launched in %s", run[0].Region)
	}
	for key, want := range map[string]string{
		"ImageId":                                     image,
		"InstanceType":                                "t3.small",
		"MetadataOptions.HttpTokens":                  "required",
		"InstanceInitiatedShutdownBehavior":           "terminate",
		"NetworkInterface.1.AssociatePublicIpAddress": "true",
		"NetworkInterface.1.DeleteOnTermination":      "true",
		"NetworkInterface.1.SubnetId":                 awsfake.OtherSubnet,
		"NetworkInterface.1.DeviceIndex":              "0",
		"TagSpecification.1.ResourceType":             "instance",
		"TagSpecification.2.ResourceType":             "volume",
		"TagSpecification.3.ResourceType":             "network-interface",
	} {
		if got := form.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if form.Get("KeyName") != "" || form.Get("SubnetId") != "" {
		t.Errorf("KeyName/SubnetId set at instance level: %q/%q", form.Get("KeyName"), form.Get("SubnetId"))
	}
	ud, err := base64.StdEncoding.DecodeString(form.Get("UserData"))
	if err != nil || !strings.Contains(string(ud), pubKey) || !strings.HasPrefix(string(ud), "#cloud-config") || !strings.Contains(string(ud), "name: sindri") {
		t.Errorf("user data = %q, %v", ud, err)
	}
	if n := len(f.Calls("DescribeInstances")); n < 4 {
		t.Errorf("DescribeInstances calls = %d: Launch returned before the instance ran", n)
	}
}

// The instance, its volume and its group carry our tags; the group lets
// SSH in from the given CIDR only, in the subnet's VPC; nothing is shared.
func TestLaunchTagsAndOpensSSHOnly(t *testing.T) {
	f, _, _, _, _ := launched(t, subnetYAML)
	form := f.Calls("RunInstances")[0].Form
	wantTags := map[string]string{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-7", cloud.TagTemporary: cloud.Temporary,
		"team": "platform", "Name": "sindri-packer-test-run-7",
	}
	kinds := map[string]int{}
	for _, r := range f.Live() {
		kinds[r.Kind]++
		switch r.Kind {
		case cloud.KindInstance, cloud.KindDisk:
			if !maps.Equal(r.Tags, wantTags) {
				t.Errorf("%s tags = %v, want %v", r.Kind, r.Tags, wantTags)
			}
		case cloud.KindSecurityGroup:
			for k, v := range wantTags {
				if k != "Name" && r.Tags[k] != v {
					t.Errorf("security group tag %s = %q, want %q", k, r.Tags[k], v)
				}
			}
			if _, err := time.Parse(time.RFC3339, r.Tags[aws.TagCreated]); err != nil {
				t.Errorf("security group %s tag: %v", aws.TagCreated, err)
			}
			want := []awsfake.Rule{{Protocol: "tcp", From: 22, To: 22, CIDR: "203.0.113.7/32"}}
			if got := f.Rules(r.ID); !slices.Equal(got, want) {
				t.Errorf("ingress = %+v, want %+v", got, want)
			}
			if form.Get("NetworkInterface.1.SecurityGroupId.1") != r.ID {
				t.Errorf("instance group = %q, want %s", form.Get("NetworkInterface.1.SecurityGroupId.1"), r.ID)
			}
		}
	}
	if kinds[cloud.KindInstance] != 1 || kinds[cloud.KindDisk] != 1 || kinds[cloud.KindSecurityGroup] != 1 {
		t.Errorf("live kinds = %v", kinds)
	}
	if sg := f.Calls("CreateSecurityGroup"); len(sg) != 1 || sg[0].Form.Get("VpcId") != awsfake.OtherVPC {
		t.Errorf("security group not in the subnet's VPC: %+v", sg)
	}
	for _, r := range f.Requests() {
		if strings.Contains(r, "ModifyImageAttribute") || strings.Contains(r, "LaunchPermission") || strings.Contains(r, "ModifySnapshotAttribute") {
			t.Errorf("sharing request %s", r)
		}
	}
}

// Terminate ends the instance and removes its group; terminating again,
// or an unknown instance, succeeds.
func TestTerminateWaitsUntilGone(t *testing.T) {
	f, c, cfg, inst, _ := launched(t, subnetYAML)
	f.SetTransitionPolls(3)
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 {
		t.Errorf("after Terminate, live = %v", left)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if err := c.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Errorf("TerminateInstance of a terminated instance: %v", err)
	}
	if err := c.TerminateInstance(t.Context(), cfg, "i-0123456789abcdef0"); err != nil {
		t.Errorf("TerminateInstance of an unknown instance: %v", err)
	}
}

// The waits for an instance state back off from 2s to 10s at most: the
// aws target's own ceiling, below cloud.DefaultTuning's 15s.
func TestStatePollsBackOffToTenSeconds(t *testing.T) {
	f, c, cfg := setup(t, "")
	var waits []time.Duration
	c.Tuning = cloud.Tuning{Sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	f.SetTransitionPolls(6)
	if _, err := c.Launch(t.Context(), launchReq(cfg, f.SeedImage("sindri-1", "h1", t0))); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
}

// A retried RunInstances carries the same client token: one instance.
func TestRetriedLaunchMakesOneInstance(t *testing.T) {
	f, c, cfg := setup(t, "")
	image := f.SeedImage("sindri-1", "h1", t0)
	f.Inject(cloudtest.Fault{Match: "Action=RunInstances", Status: http.StatusServiceUnavailable, Code: "Unavailable", Message: "The service is unavailable. Please try again shortly."})
	inst, err := c.Launch(t.Context(), launchReq(cfg, image))
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls("RunInstances")
	if len(calls) != 2 || calls[0].Form.Get("ClientToken") == "" || calls[0].Form.Get("ClientToken") != calls[1].Form.Get("ClientToken") {
		t.Errorf("RunInstances attempts = %d, tokens must be equal and set", len(calls))
	}
	if got := cloudtest.Temporaries(f); len(got) != 3 {
		t.Errorf("live = %v, want one instance, its disk and group", got)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
}

func TestLaunchNetworkAndTags(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		mutate     func(r *cloud.LaunchRequest)
		wantVPC    string
		wantSubnet string
		wantCIDR   string
		wantTag    [2]string
		shutdown   string
	}{
		{
			name: "default vpc, open to the world by default", yaml: "packer:\n  cloud: aws\n",
			mutate:  func(r *cloud.LaunchRequest) { r.AllowSSHFrom = "" },
			wantVPC: awsfake.DefaultVPC, wantCIDR: "0.0.0.0/0", wantTag: [2]string{cloud.TagTemporary, cloud.Temporary}, shutdown: "terminate",
		},
		{
			name: "vpc without subnet picks one of its subnets; a bare address is one host", yaml: "packer:\n  cloud: aws\n  vpc_id: " + awsfake.OtherVPC + "\n",
			mutate:  func(r *cloud.LaunchRequest) { r.AllowSSHFrom = "198.51.100.4" },
			wantVPC: awsfake.OtherVPC, wantSubnet: awsfake.OtherSubnet, wantCIDR: "198.51.100.4/32", wantTag: [2]string{cloud.TagTemporary, cloud.Temporary}, shutdown: "terminate",
		},
		{
			name: "deployment", yaml: "packer:\n  cloud: aws\n",
			mutate:  func(r *cloud.LaunchRequest) { r.Deployment, r.Name = "web", "web-1" },
			wantVPC: awsfake.DefaultVPC, wantCIDR: "203.0.113.7/32", wantTag: [2]string{cloud.TagDeployment, "web"}, shutdown: "stop",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, cfg := setup(t, tt.yaml)
			image := f.SeedImage("sindri-1", "h1", t0)
			req := launchReq(cfg, image)
			tt.mutate(&req)
			inst, err := c.Launch(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			form := f.Calls("RunInstances")[0].Form
			if got := form.Get("NetworkInterface.1.SubnetId"); got != tt.wantSubnet {
				t.Errorf("subnet = %q, want %q", got, tt.wantSubnet)
			}
			if got := f.Calls("CreateSecurityGroup")[0].Form.Get("VpcId"); got != tt.wantVPC {
				t.Errorf("group vpc = %q, want %q", got, tt.wantVPC)
			}
			if got := form.Get("InstanceInitiatedShutdownBehavior"); got != tt.shutdown {
				t.Errorf("shutdown behaviour = %q, want %q", got, tt.shutdown)
			}
			for _, r := range f.Live() {
				if r.Kind == cloud.KindSecurityGroup {
					if rules := f.Rules(r.ID); len(rules) != 1 || rules[0].CIDR != tt.wantCIDR {
						t.Errorf("rules = %+v, want tcp/22 from %s", rules, tt.wantCIDR)
					}
				}
				if r.Kind == cloud.KindInstance {
					if r.Tags[tt.wantTag[0]] != tt.wantTag[1] {
						t.Errorf("instance tags = %v, want %s=%s", r.Tags, tt.wantTag[0], tt.wantTag[1])
					}
					if req.Deployment != "" && (r.Tags[cloud.TagTemporary] != "" || r.Tags["Name"] != "web-1") {
						t.Errorf("deployment tags = %v", r.Tags)
					}
				}
			}
			if inst.Temporary != req.Temporary() || inst.Deployment != req.Deployment {
				t.Errorf("instance = %+v", inst)
			}
			if err := c.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
				t.Fatal(err)
			}
			if left := cloudtest.Temporaries(f); len(left) != 0 {
				t.Errorf("after TerminateInstance, live = %v", left)
			}
		})
	}
}

func TestLaunchRefusesBadCIDR(t *testing.T) {
	f, c, cfg := setup(t, "")
	req := launchReq(cfg, "ami-0123456789abcdef0")
	req.AllowSSHFrom = "everywhere"
	if _, err := c.Launch(t.Context(), req); err == nil || !strings.Contains(err.Error(), "not a CIDR") {
		t.Errorf("err = %v", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests made before the CIDR was checked", n)
	}
}

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		inject  func(f *awsfake.Fake)
		image   string // "" means the seeded image
		wantErr string
	}{
		{
			name: "security group rule refused",
			inject: func(f *awsfake.Fake) {
				f.Inject(cloudtest.Fault{Match: "Action=AuthorizeSecurityGroupIngress", Status: 400, Code: "RulesPerSecurityGroupLimitExceeded", Message: "The maximum number of rules per security group has been reached."})
			},
			wantErr: "The maximum number of rules per security group has been reached.",
		},
		{
			name: "run refused",
			inject: func(f *awsfake.Fake) {
				f.Inject(cloudtest.Fault{Match: "Action=RunInstances", Status: 400, Code: "InstanceLimitExceeded", Message: "You have requested more instances (1) than your current instance limit of 0 allows."})
			},
			wantErr: "You have requested more instances (1) than your current instance limit of 0 allows.",
		},
		{
			name:    "unknown image",
			inject:  func(*awsfake.Fake) {},
			image:   "ami-0000000000000dead",
			wantErr: "InvalidAMIID.NotFound",
		},
		{
			name: "instance cannot start",
			inject: func(f *awsfake.Fake) {
				f.FailLaunch("Server.InternalError", "Server.InternalError: Internal error on launch")
			},
			wantErr: "is terminated: Server.InternalError: Internal error on launch",
		},
		{
			name: "group still in use at first",
			inject: func(f *awsfake.Fake) {
				f.FailLaunch("Server.InternalError", "boom")
				f.Inject(cloudtest.Fault{Match: "Action=DeleteSecurityGroup", Status: 400, Code: "DependencyViolation", Message: "resource has a dependent object"})
			},
			wantErr: "boom",
		},
		{
			name:    "no such subnet",
			yaml:    "packer:\n  cloud: aws\n  subnet_id: subnet-0000000000000dead\n",
			inject:  func(*awsfake.Fake) {},
			wantErr: "InvalidSubnetID.NotFound",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, cfg := setup(t, tt.yaml)
			image := f.SeedImage("sindri-1", "h1", t0)
			if tt.image != "" {
				image = tt.image
			}
			tt.inject(f)
			cloudtest.LaunchFailsCleanly(t.Context(), t, c, f, launchReq(cfg, image), cloudtest.ErrorSays(tt.wantErr))
		})
	}
}

func TestLaunchCancelledCleansUp(t *testing.T) {
	f, c, cfg := setup(t, "")
	image := f.SeedImage("sindri-1", "h1", t0)
	f.SetTransitionPolls(1 << 20) // never running
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Launch(ctx, launchReq(cfg, image))
		done <- err
	}()
	// Once the instance is launched, later transitions (its termination
	// in the clean-up) complete at once.
	for len(f.Calls("RunInstances")) == 0 {
		time.Sleep(time.Millisecond)
	}
	f.SetTransitionPolls(0)
	err := <-done
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Launch err = %v, want the deadline", err)
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 {
		t.Errorf("a cancelled launch left %v", left)
	}
}

// ours launches a test instance (run-7) and a stopped deployment (web,
// run-8), and seeds an instance that is not ours and one of ours that is
// terminated.
type ours struct {
	f              *awsfake.Fake
	c              aws.Cloud
	cfg            *config.Config
	image, gone    string
	test, deployed *cloud.Instance
}

func launchOurs(t *testing.T) ours {
	t.Helper()
	f, c, cfg, inst, image := launched(t, "")
	dreq := launchReq(cfg, image)
	dreq.Deployment, dreq.Name, dreq.RunID = "web", "web-1", "run-8"
	dep, err := c.Launch(t.Context(), dreq)
	if err != nil {
		t.Fatal(err)
	}
	f.AddInstance(awsfake.InstanceSpec{Tags: map[string]string{"team": "x"}})
	gone := f.AddInstance(awsfake.InstanceSpec{State: "terminated", Tags: awsfake.RunTags("run-7")})
	if err := c.StopInstance(t.Context(), cfg, dep.ID); err != nil {
		t.Fatal(err)
	}
	return ours{f: f, c: c, cfg: cfg, image: image, gone: gone, test: inst, deployed: dep}
}

// list returns the IDs and states ListInstances finds with fl.
func (o ours) list(t *testing.T, fl cloud.InstanceFilter) map[string]string {
	t.Helper()
	got, err := o.c.ListInstances(t.Context(), o.cfg, fl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range got {
		out[i.ID] = i.State
		if i.ID == o.gone {
			t.Errorf("terminated instance listed")
		}
		if i.Region != "us-west-2" || i.ImageID != o.image || i.Port != 22 {
			t.Errorf("listed %+v", i)
		}
	}
	return out
}

// Only our instances that are not terminated are listed, by our tags.
func TestListInstances(t *testing.T) {
	o := launchOurs(t)
	inst, dep := o.test.ID, o.deployed.ID
	tests := []struct {
		name string
		f    cloud.InstanceFilter
		want map[string]string
	}{
		{"all ours", cloud.InstanceFilter{}, map[string]string{inst: "running", dep: "stopped"}},
		{"by run", cloud.InstanceFilter{RunID: "run-8"}, map[string]string{dep: "stopped"}},
		{"by deployment", cloud.InstanceFilter{Deployment: "web"}, map[string]string{dep: "stopped"}},
		{"temporary", cloud.InstanceFilter{Temporary: true}, map[string]string{inst: "running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := o.list(t, tt.f); !maps.Equal(got, tt.want) {
				t.Errorf("ListInstances = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStopStartInstance(t *testing.T) {
	o := launchOurs(t)
	ctx, c, cfg := t.Context(), o.c, o.cfg
	if got := o.list(t, cloud.InstanceFilter{Deployment: "web"}); got[o.deployed.ID] != "stopped" {
		t.Errorf("after stop: %v", got)
	}
	if err := c.StartInstance(ctx, cfg, o.deployed.ID); err != nil {
		t.Fatal(err)
	}
	if got := o.list(t, cloud.InstanceFilter{Deployment: "web"}); got[o.deployed.ID] != "running" {
		t.Errorf("after start: %v", got)
	}
	if err := c.StopInstance(ctx, cfg, "i-0123456789abcdef0"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("stop unknown: %v, want ErrNotFound", err)
	}
	if err := c.StartInstance(ctx, cfg, o.gone); err == nil || !strings.Contains(err.Error(), "IncorrectInstanceState") {
		t.Errorf("start terminated: %v", err)
	}
}

// TerminateInstance, and Terminate of a listed instance, find the group
// Launch made through the tags.
func TestTerminateFindsTheGroupsByTags(t *testing.T) {
	o := launchOurs(t)
	ctx, c, cfg := t.Context(), o.c, o.cfg
	if err := c.TerminateInstance(ctx, cfg, o.test.ID); err != nil {
		t.Fatal(err)
	}
	listed, err := c.ListInstances(ctx, cfg, cloud.InstanceFilter{Deployment: "web"})
	if err != nil || len(listed) != 1 {
		t.Fatalf("ListInstances = %+v, %v", listed, err)
	}
	if err := c.Terminate(ctx, &listed[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range cloudtest.Temporaries(o.f) {
		if !strings.HasPrefix(r, "instance:") && !strings.HasPrefix(r, "disk:") {
			t.Errorf("left %s", r)
		}
	}
}

func TestTerminateNeedsHandle(t *testing.T) {
	_, c, _ := setup(t, "")
	if err := c.Terminate(t.Context(), &cloud.Instance{ID: "i-1"}); err == nil {
		t.Error("Terminate without a handle succeeded")
	}
	if err := c.Terminate(t.Context(), nil); err == nil {
		t.Error("Terminate(nil) succeeded")
	}
}

// EC2 is eventually consistent: right after RunInstances the instance can
// answer InvalidInstanceID.NotFound. Launch waits it out (waitState takes
// NotFound for "not yet"); without that it would fail.
func TestLaunchWaitsOutAnUnseenInstance(t *testing.T) {
	f, c, cfg := setup(t, "")
	f.SetConsistencyWindows(3, 0)
	inst, err := c.Launch(t.Context(), launchReq(cfg, f.SeedImage("sindri-1", "h1", t0)))
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != "running" || f.Stale() != 3 {
		t.Errorf("state %s after %d NotFound answers, want running after 3", inst.State, f.Stale())
	}
}

// A launch that fails right after RunInstances must still end the
// instance though EC2 does not show it yet: a NotFound then means "not
// yet", not "gone" (it used to be taken for gone, leaving the instance
// running and its group undeletable).
func TestFailedLaunchEndsAnUnseenInstance(t *testing.T) {
	f, c, cfg := setup(t, "")
	f.SetConsistencyWindows(2, 0)
	f.Inject(cloudtest.Fault{Match: "Action=DescribeInstances", Status: http.StatusForbidden, Code: "UnauthorizedOperation"})
	_, err := c.Launch(t.Context(), launchReq(cfg, f.SeedImage("sindri-1", "h1", t0)))
	if err == nil || strings.Contains(err.Error(), "clean-up failed") {
		t.Fatalf("err = %v, want the launch's failure with a clean-up that worked", err)
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 || f.Stale() != 2 {
		t.Errorf("left %v after %d NotFound answers, want nothing after 2", left, f.Stale())
	}
}

// After an instance terminates, EC2 keeps its security group dependent
// for a while (DependencyViolation); Terminate retries the delete.
func TestTerminateWaitsOutTheGroupsDependency(t *testing.T) {
	f, c, _, inst, _ := launched(t, "")
	f.SetConsistencyWindows(0, 3)
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if left := cloudtest.Temporaries(f); len(left) != 0 || f.Stale() != 3 {
		t.Errorf("left %v after %d DependencyViolation answers, want nothing after 3", left, f.Stale())
	}
}

// The instance EC2 runs has the metadata options Launch asked for (the
// double answers what was requested, EC2's defaults otherwise: optional
// tokens would be IMDSv1).
func TestLaunchRunsWithIMDSv2Required(t *testing.T) {
	f, _, _, inst, _ := launched(t, "")
	if md := f.InstanceMetadata(inst.ID); md != (awsfake.Metadata{HTTPTokens: "required", HTTPEndpoint: "enabled", HopLimit: 1}) {
		t.Errorf("metadata options = %+v, want IMDSv2 required, hop limit 1", md)
	}
}

// EC2 may answer a filtered Describe in pages: ListInstances and the
// group lookup of TerminateInstance follow nextToken (the group lookup
// used to read the first page only, leaving an instance's second group).
func TestInstancesFollowNextToken(t *testing.T) {
	f, c, cfg := setup(t, "")
	tags := map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-7", cloud.TagDeployment: "web"}
	g1, g2 := f.AddSecurityGroup("one", tags), f.AddSecurityGroup("two", tags)
	grouped := f.AddInstance(awsfake.InstanceSpec{Tags: tags, Groups: []string{g1, g2}, Created: t0})
	for i := range 2 {
		f.AddInstance(awsfake.InstanceSpec{Tags: tags, Created: t0.Add(time.Duration(i+1) * time.Minute)})
	}
	f.SetPageSize(1)
	listed, err := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if err != nil || len(listed) != 3 {
		t.Fatalf("ListInstances = %d instances, %v; want 3", len(listed), err)
	}
	if err := c.TerminateInstance(t.Context(), cfg, grouped); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(cloudtest.Temporaries(f), func(r string) bool { return strings.HasPrefix(r, "security-group:") }) {
		t.Errorf("left %v, want both groups deleted", cloudtest.Temporaries(f))
	}
}

// With vpc_id, Launch picks a subnet that gives public addresses from
// every page of the VPC's subnets (it read the first page only, and took
// a private subnet when the public one came on a later page).
func TestLaunchReadsEveryPageOfSubnets(t *testing.T) {
	f, c, _ := setup(t, "")
	public := f.AddSubnet(true)
	f.SetPageSize(1)
	cfg := cloudtest.Load(t, "packer:\n  cloud: aws\n  vpc_id: "+awsfake.OtherVPC+"\n")
	if _, err := c.Launch(t.Context(), launchReq(cfg, f.SeedImage("sindri-1", "h1", t0))); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls("RunInstances")[0].Form.Get("NetworkInterface.1.SubnetId"); got != public {
		t.Errorf("launched in subnet %s, want the public %s from the second page", got, public)
	}
}
