package azure_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE sindri-packer-test-run-1"

func launchReq(cfgImage string) cloud.LaunchRequest {
	return cloud.LaunchRequest{ImageID: cfgImage, RunID: "run-1", User: "sindri", PublicKey: pubKey, AllowSSHFrom: "203.0.113.7/32"}
}

// onlyImages reports whether everything live is an image.
func onlyImages(t *testing.T, f *azurefake.Fake) {
	t.Helper()
	for _, r := range f.Live() {
		if r.Kind != "image" {
			t.Errorf("left behind: %s %s", r.Kind, r.ID)
		}
	}
}

// sent is a request with its JSON body.
type sent struct {
	Path string
	Body map[string]any
}

// bodies returns the JSON bodies f got with method on paths containing
// match, oldest first.
func bodies(t *testing.T, f *azurefake.Fake, method, match string) []sent {
	t.Helper()
	var out []sent
	for _, c := range f.Calls(method + " /") {
		if !strings.Contains(c.Path, match) {
			continue
		}
		var b map[string]any
		if err := json.Unmarshal(c.Body, &b); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, c.Path, c.Body, err)
		}
		out = append(out, sent{Path: c.Path, Body: b})
	}
	return out
}

// launched launches a temporary instance of a seeded image.
func launched(t *testing.T) (azure.Cloud, *azurefake.Fake, *config.Config, *cloud.Instance) {
	t.Helper()
	c, f, cfg := setup(t, fakeConfig)
	req := launchReq(f.SeedImage("sindri-a", "ha", t0))
	req.Config = cfg
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return c, f, cfg, inst
}

func TestLaunchAndTerminate(t *testing.T) {
	c, f, _, inst := launched(t)
	img := azurefake.ID("Microsoft.Compute/images", "sindri-a")
	if !strings.HasPrefix(inst.Host, "127.0.") || inst.Port != 22 || inst.User != "sindri" || inst.State != "running" ||
		inst.ImageID != img || inst.RunID != "run-1" || !inst.Temporary || inst.Region != azurefake.Location ||
		!strings.Contains(inst.ID, "/virtualMachines/sindri-test-run-1-") || inst.Handle == nil {
		t.Errorf("instance = %+v", inst)
	}
	// Nothing is shared: no gallery or sharing call was made.
	for _, r := range f.Requests() {
		if strings.Contains(r, "/galleries") || strings.Contains(strings.ToLower(r), "share") {
			t.Errorf("unexpected request %s", r)
		}
	}
	for i := range 2 { // the second finds everything gone
		if err := c.Terminate(t.Context(), inst); err != nil {
			t.Fatalf("terminate %d: %v", i, err)
		}
	}
	onlyImages(t, f)
}

// Every resource Launch makes carries our tags, the run's and the
// config's own, the OS disk too (Azure does not pass them on to it).
func TestLaunchTagsEveryResource(t *testing.T) {
	_, f, _, _ := launched(t)
	puts := bodies(t, f, "PUT", "/providers/")
	if len(puts) != 5 {
		t.Fatalf("PUTs = %d, want NSG, VNet, IP, NIC, VM", len(puts))
	}
	for _, p := range puts {
		tags, _ := p.Body["tags"].(map[string]any)
		if tags[cloud.TagManagedBy] != cloud.ManagedBy || tags[cloud.TagRunID] != "run-1" || tags[cloud.TagTemporary] != cloud.Temporary || tags["team"] != "platform" {
			t.Errorf("%s tags = %v", p.Path, tags)
		}
		if p.Body["location"] != azurefake.Location {
			t.Errorf("%s location = %v", p.Path, p.Body["location"])
		}
	}
	for _, r := range f.Live() {
		if r.Kind == cloud.KindDisk && r.Tags[cloud.TagTemporary] != cloud.Temporary {
			t.Errorf("OS disk %s not tagged: %v", r.ID, r.Tags)
		}
	}
}

// SSH is open to the given CIDR only, on a static Standard public IP.
func TestLaunchOpensSSHToTheCIDROnly(t *testing.T) {
	_, f, _, _ := launched(t)
	nsg := bodies(t, f, "PUT", "/networkSecurityGroups/")[0].Body
	rules := nsg["properties"].(map[string]any)["securityRules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("rules = %v", rules)
	}
	rule := rules[0].(map[string]any)["properties"].(map[string]any)
	if rule["sourceAddressPrefix"] != "203.0.113.7/32" || rule["destinationPortRange"] != "22" || rule["access"] != "Allow" || rule["direction"] != "Inbound" {
		t.Errorf("rule = %v", rule)
	}
	ip := bodies(t, f, "PUT", "/publicIPAddresses/")[0].Body
	if ip["sku"].(map[string]any)["name"] != "Standard" || ip["properties"].(map[string]any)["publicIPAllocationMethod"] != "Static" {
		t.Errorf("public IP = %v", ip)
	}
}

// The VM boots the image with the user data holding the one-off key.
func TestLaunchBootsTheImageWithTheKey(t *testing.T) {
	_, f, _, _ := launched(t)
	img := azurefake.ID("Microsoft.Compute/images", "sindri-a")
	vm := bodies(t, f, "PUT", "/virtualMachines/")[0].Body["properties"].(map[string]any)
	sp := vm["storageProfile"].(map[string]any)
	if sp["imageReference"].(map[string]any)["id"] != img || sp["osDisk"].(map[string]any)["deleteOption"] != "Delete" {
		t.Errorf("storageProfile = %v", sp)
	}
	if vm["hardwareProfile"].(map[string]any)["vmSize"] != "Standard_B2s" {
		t.Errorf("hardwareProfile = %v", vm["hardwareProfile"])
	}
	os := vm["osProfile"].(map[string]any)
	ud, err := base64.StdEncoding.DecodeString(os["customData"].(string))
	if err != nil || !strings.Contains(string(ud), pubKey) || !strings.HasPrefix(string(ud), "#cloud-config") {
		t.Errorf("customData = %q, %v", ud, err)
	}
	lc := os["linuxConfiguration"].(map[string]any)
	if lc["disablePasswordAuthentication"] != true || os["adminUsername"] != "sindri" {
		t.Errorf("osProfile = %v", os)
	}
}

// Terminate returns only once every resource of the instance is gone,
// however long Azure's deletions stay InProgress; a second finds them
// gone and succeeds.
func TestTerminateWaitsUntilGone(t *testing.T) {
	c, f, _, inst := launched(t)
	f.LROPolls = 3
	before := statusPolls(f)
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	// The VM (its OS disk and NIC go with it), the IP, NSG and VNet.
	if n := statusPolls(f) - before; n < 4*4 {
		t.Errorf("%d status reads for 4 deletions, want at least 3 InProgress and 1 Succeeded each", n)
	}
	onlyImages(t, f)
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Errorf("terminating again: %v", err)
	}
}

func TestLaunchDefaultsToAnyAddress(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	req := launchReq(f.SeedImage("sindri-a", "ha", t0))
	req.Config, req.AllowSSHFrom = cfg, ""
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Terminate(t.Context(), inst)
	nsg := bodies(t, f, "PUT", "/networkSecurityGroups/")[0].Body
	rule := nsg["properties"].(map[string]any)["securityRules"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	if rule["sourceAddressPrefix"] != "0.0.0.0/0" {
		t.Errorf("source = %v", rule["sourceAddressPrefix"])
	}
}

func TestLaunchFailsHalfWay(t *testing.T) {
	tests := []struct{ name, fail string }{
		{name: "vm refused", fail: "Microsoft.Compute/virtualMachines/"},
		{name: "nic refused", fail: "Microsoft.Network/networkInterfaces/"},
		{name: "nsg refused", fail: "Microsoft.Network/networkSecurityGroups/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f, cfg := setup(t, fakeConfig)
			req := launchReq(f.SeedImage("sindri-a", "ha", t0))
			req.Config = cfg
			f.Inject(cloudtest.Fault{Match: "PUT /subscriptions/" + azurefake.Subscription + "/resourceGroups/" + azurefake.ResourceGroup + "/providers/" + tc.fail,
				Status: 409, Code: "OperationNotAllowed", Message: "Operation could not be completed as it results in exceeding approved standardDSv4Family Cores quota."})
			_, err := c.Launch(t.Context(), req)
			if err == nil {
				t.Fatal("Launch succeeded")
			}
			if !strings.Contains(err.Error(), "exceeding approved standardDSv4Family Cores quota") || !strings.Contains(err.Error(), "request id fa4e") {
				t.Errorf("error lacks Azure's message or request id: %v", err)
			}
			onlyImages(t, f)
		})
	}
}

func TestLaunchMissingImage(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	req := launchReq(azurefake.ID("Microsoft.Compute/images", "nope"))
	req.Config = cfg
	_, err := c.Launch(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "InvalidResourceReference") {
		t.Fatalf("err = %v", err)
	}
	onlyImages(t, f)
}

// launchedTwo launches a temporary instance and the deployment web.
func launchedTwo(t *testing.T) (c azure.Cloud, f *azurefake.Fake, cfg *config.Config, tmp, web *cloud.Instance) {
	t.Helper()
	c, f, cfg = setup(t, fakeConfig)
	img := f.SeedImage("sindri-a", "ha", t0)
	req := launchReq(img)
	req.Config = cfg
	tmp, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	dep := req
	dep.Deployment, dep.Name, dep.RunID = "web", "web-1", "deploy-run"
	web, err = c.Launch(t.Context(), dep)
	if err != nil {
		t.Fatal(err)
	}
	if web.Temporary || web.Deployment != "web" || !strings.Contains(web.Name, "web-1-") {
		t.Errorf("deployment = %+v", web)
	}
	return c, f, cfg, tmp, web
}

func TestListInstances(t *testing.T) {
	c, _, cfg, tmp, web := launchedTwo(t)
	img := azurefake.ID("Microsoft.Compute/images", "sindri-a")

	tests := []struct {
		name string
		f    cloud.InstanceFilter
		want []string
	}{
		{name: "all", want: []string{tmp.ID, web.ID}},
		{name: "temporary", f: cloud.InstanceFilter{Temporary: true}, want: []string{tmp.ID}},
		{name: "deployment", f: cloud.InstanceFilter{Deployment: "web"}, want: []string{web.ID}},
		{name: "run", f: cloud.InstanceFilter{RunID: "run-1"}, want: []string{tmp.ID}},
		{name: "no match", f: cloud.InstanceFilter{RunID: "other"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ListInstances(t.Context(), cfg, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, i := range got {
				ids[i.ID] = true
				if i.Host == "" || i.State != "running" || i.ImageID != img {
					t.Errorf("listed %+v", i)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d instances, want %v", len(got), tc.want)
			}
			for _, w := range tc.want {
				if !ids[w] {
					t.Errorf("missing %s", w)
				}
			}
		})
	}
}

func TestStopStartInstance(t *testing.T) {
	c, f, cfg, tmp, web := launchedTwo(t)
	if err := c.StopInstance(t.Context(), cfg, web.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "deallocated" {
		t.Fatalf("after stop: %+v", got)
	}
	if err := c.StartInstance(t.Context(), cfg, web.Name); err != nil { // a bare name works too
		t.Fatal(err)
	}
	got, _ = c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{Deployment: "web"})
	if len(got) != 1 || got[0].State != "running" {
		t.Fatalf("after start: %+v", got)
	}
	for _, id := range []string{web.ID, web.ID, tmp.ID} {
		if err := c.TerminateInstance(t.Context(), cfg, id); err != nil {
			t.Fatalf("TerminateInstance(%s): %v", id, err)
		}
	}
	onlyImages(t, f)
	if err := c.StopInstance(t.Context(), cfg, web.ID); err == nil {
		t.Error("StopInstance of a gone VM succeeded")
	}
}

func TestTerminateRefusesForeignVM(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	id := azurefake.ID("Microsoft.Compute/virtualMachines", "someone-elses")
	f.Put(id, map[string]any{"location": azurefake.Location}, t0)
	if err := c.TerminateInstance(t.Context(), cfg, id); err == nil || !strings.Contains(err.Error(), "not tagged") {
		t.Fatalf("err = %v", err)
	}
	if f.Get(id) == nil {
		t.Error("deleted a VM that is not ours")
	}
	if err := c.TerminateInstance(t.Context(), cfg, "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/disks/d"); err == nil {
		t.Error("accepted a disk ID as a VM")
	}
	if err := c.Terminate(t.Context(), &cloud.Instance{ID: id}); err == nil {
		t.Error("Terminate without a handle succeeded")
	}
}

func TestLaunchWaitsUntilRunning(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.BootPolls = 3
	req := launchReq(f.SeedImage("sindri-a", "ha", t0))
	req.Config = cfg
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != "running" {
		t.Errorf("state = %s", inst.State)
	}
	views := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, "/virtualMachines/") {
			views++
		}
	}
	if views < 4 {
		t.Errorf("VM read %d times, want the three starting answers and the running one", views)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
}

func TestLaunchWaitBoundedByContext(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.BootPolls = 1 << 30 // never boots
	req := launchReq(f.SeedImage("sindri-a", "ha", t0))
	req.Config = cfg
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Launch(ctx, req)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("err = %v", err)
	}
	onlyImages(t, f) // cleaned up with a fresh context
}
