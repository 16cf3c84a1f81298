package aws_test

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE sindri-packer-test-run-7"

func launchReq(cfg *config.Config, image string) cloud.LaunchRequest {
	return cloud.LaunchRequest{Config: cfg, ImageID: image, RunID: "run-7", User: "sindri", PublicKey: pubKey, AllowSSHFrom: "203.0.113.7/32"}
}

// temporaries are the live resources other than images and snapshots.
func temporaries(f *awsfake.Fake) []string {
	var out []string
	for _, r := range f.Live() {
		if r.Kind != "image" && r.Kind != "snapshot" {
			out = append(out, r.Kind+":"+r.ID)
		}
	}
	return out
}

func TestLaunchAndTerminate(t *testing.T) {
	f, c, cfg := setup(t, "packer:\n  cloud: aws\n  region: eu-central-1\n  instance_type: t3.small\n  subnet_id: "+awsfake.OtherSubnet+"\n  tags:\n    team: platform\n")
	f.SetPublicIP("127.0.0.9")
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

	wantTags := map[string]string{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "run-7", cloud.TagTemporary: cloud.Temporary,
		"team": "platform", "Name": "sindri-packer-test-run-7",
	}
	live := f.Live()
	kinds := map[string]int{}
	for _, r := range live {
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
			// SSH only, only from the given CIDR.
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
	// Nothing is shared, publicly or otherwise.
	for _, r := range f.Requests() {
		if strings.Contains(r, "ModifyImageAttribute") || strings.Contains(r, "LaunchPermission") || strings.Contains(r, "ModifySnapshotAttribute") {
			t.Errorf("sharing request %s", r)
		}
	}

	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if left := temporaries(f); len(left) != 0 {
		t.Errorf("after Terminate, live = %v", left)
	}
	// Gone already: success.
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
			if left := temporaries(f); len(left) != 0 {
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
				f.FailAction("AuthorizeSecurityGroupIngress", 400, "RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
			},
			wantErr: "The maximum number of rules per security group has been reached.",
		},
		{
			name: "run refused",
			inject: func(f *awsfake.Fake) {
				f.FailAction("RunInstances", 400, "InstanceLimitExceeded", "You have requested more instances (1) than your current instance limit of 0 allows.")
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
				f.FailAction("DeleteSecurityGroup", 400, "DependencyViolation", "resource has a dependent object")
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
			inst, err := c.Launch(t.Context(), launchReq(cfg, image))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Launch = %+v, %v; want error with %q", inst, err, tt.wantErr)
			}
			if left := temporaries(f); len(left) != 0 {
				t.Errorf("a failed launch left %v", left)
			}
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
	if left := temporaries(f); len(left) != 0 {
		t.Errorf("a cancelled launch left %v", left)
	}
}

func TestStopStartList(t *testing.T) {
	f, c, cfg := setup(t, "")
	image := f.SeedImage("sindri-1", "h1", t0)
	inst, err := c.Launch(t.Context(), launchReq(cfg, image))
	if err != nil {
		t.Fatal(err)
	}
	dreq := launchReq(cfg, image)
	dreq.Deployment, dreq.Name, dreq.RunID = "web", "web-1", "run-8"
	dep, err := c.Launch(t.Context(), dreq)
	if err != nil {
		t.Fatal(err)
	}
	// Not ours, and one that is terminated: never listed.
	f.AddInstance(awsfake.InstanceSpec{Tags: map[string]string{"team": "x"}})
	gone := f.AddInstance(awsfake.InstanceSpec{State: "terminated", Tags: awsfake.RunTags("run-7")})

	if err := c.StopInstance(t.Context(), cfg, dep.ID); err != nil {
		t.Fatal(err)
	}
	list := func(fl cloud.InstanceFilter) map[string]string {
		t.Helper()
		got, err := c.ListInstances(t.Context(), cfg, fl)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, i := range got {
			out[i.ID] = i.State
			if i.ID == gone {
				t.Errorf("terminated instance listed")
			}
			if i.Region != "us-west-2" || i.ImageID != image || i.Port != 22 {
				t.Errorf("listed %+v", i)
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    cloud.InstanceFilter
		want map[string]string
	}{
		{"all ours", cloud.InstanceFilter{}, map[string]string{inst.ID: "running", dep.ID: "stopped"}},
		{"by run", cloud.InstanceFilter{RunID: "run-8"}, map[string]string{dep.ID: "stopped"}},
		{"by deployment", cloud.InstanceFilter{Deployment: "web"}, map[string]string{dep.ID: "stopped"}},
		{"temporary", cloud.InstanceFilter{Temporary: true}, map[string]string{inst.ID: "running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.f); !maps.Equal(got, tt.want) {
				t.Errorf("ListInstances = %v, want %v", got, tt.want)
			}
		})
	}
	if err := c.StartInstance(t.Context(), cfg, dep.ID); err != nil {
		t.Fatal(err)
	}
	if got := list(cloud.InstanceFilter{Deployment: "web"}); got[dep.ID] != "running" {
		t.Errorf("after start: %v", got)
	}
	if err := c.StopInstance(t.Context(), cfg, "i-0123456789abcdef0"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("stop unknown: %v, want ErrNotFound", err)
	}
	if err := c.StartInstance(t.Context(), cfg, gone); err == nil || !strings.Contains(err.Error(), "IncorrectInstanceState") {
		t.Errorf("start terminated: %v", err)
	}
	// TerminateInstance, and Terminate of a listed instance, find the
	// group Launch made through the tags.
	if err := c.TerminateInstance(t.Context(), cfg, inst.ID); err != nil {
		t.Fatal(err)
	}
	listed, err := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if err != nil || len(listed) != 1 {
		t.Fatalf("ListInstances = %+v, %v", listed, err)
	}
	if err := c.Terminate(t.Context(), &listed[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range temporaries(f) {
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
