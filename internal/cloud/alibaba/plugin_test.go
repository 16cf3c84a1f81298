package alibaba_test

// The plugin-driven suite: the real, pinned packer-plugin-alicloud
// (alicloud-ecs, built by tools/install.sh with the HTTPS patch) runs
// `packer build` of the template we render against the ECS double, so a
// misunderstanding shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only, no proxy): the
// double also serves HTTPS (alibabafake.StartTLS, httptest's certificate
// for 127.0.0.1 in SSL_CERT_FILE) and the rendered template is
// post-processed with hclwrite to set custom_endpoint_ecs to it.
//
// What the post-processing skips: communicator = "none" (no SSH to a real
// machine is possible here), so ssh_username and ssh_timeout go and every
// provisioner block is removed: the plugin never connects over SSH, the
// scripts never run and its temporary SSH key is never used (it is still
// created, attached, detached and deleted). Everything else the plugin
// does is real: region and image-name pre-validation, the source image
// from its family, the temporary key pair, VPC, VSwitch (zone lookup),
// security group and EIP, instance create/start/stop, the image and its
// tags, sharing, the manifest, and the clean-up of what it made. The
// config asks for no copies to other regions (Cloud.Regions: an ECS image
// is built in one region), so CopyImage is not exercised.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
)

// pluginBuild runs `packer build` of tmpl against f and returns the
// manifest path, packer's output and its error.
func pluginBuild(t *testing.T, f *alibabafake.Fake, tmpl, dir, packer, plugins, hash string) (string, string, error) {
	t.Helper()
	cert := filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(cert, f.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return plugintest.Build{
		Packer: packer, Plugins: plugins, Template: tmpl, Dir: dir, Timeout: 6 * time.Minute,
		Vars: map[string]string{"config_hash": hash, "run_id": "plugin-run"},
		Env: []string{
			"SSL_CERT_FILE=" + cert, "NO_PROXY=*", "no_proxy=*",
			"ALICLOUD_ACCESS_KEY=" + alibabafake.AccessKeyID, "ALICLOUD_SECRET_KEY=" + alibabafake.AccessKeySecret,
		},
	}.Run(t)
}

// pluginConfig builds in the double's region with no vswitch_id: the
// plugin makes its own VPC, VSwitch, security group, key pair and EIP.
const pluginConfig = minimal + "  build:\n    sindri_version: " + alibabafake.SindriVersion + "\n"

// pluginRun is one run of the real plugin on a fresh double: config
// written, the config hash our build --dry-run computes, the template
// rendered and pointed at the double, before (if any) called just before
// packer starts. It prints how far the plugin went.
type pluginRun struct {
	f                *alibabafake.Fake
	cmds             plugintest.Commands
	hash             string
	source, manifest string
	out              string
	err              error
}

func runPlugin(t *testing.T, before func(*alibabafake.Fake)) *pluginRun {
	t.Helper()
	packer, plugins := plugintest.Tools(t, "alicloud")
	dir := t.TempDir()
	r := &pluginRun{f: alibabafake.New(t)}
	endpoint := r.f.StartTLS()
	r.source = r.f.AddPublicImage("ubuntu_24_04_x64_20G_alibase_20250101.vhd", "acs:ubuntu_24_04_x64", time.Now().Add(-48*time.Hour))
	r.cmds = plugintest.NewCommands(t, r.f, dir, packer, "alibaba", pluginConfig, "plugin-run")
	r.hash = r.cmds.Hash(t)
	tmpl := plugintest.Template(t, pluginConfig, "alibaba", filepath.Join(dir, "out"), alibabafake.SindriVersion, map[string]cty.Value{"custom_endpoint_ecs": cty.StringVal(endpoint)})
	if before != nil {
		before(r.f)
	}
	ours := len(r.f.Requests())
	r.manifest, r.out, r.err = pluginBuild(t, r.f, tmpl, dir, packer, plugins, r.hash)
	plugintest.Report(t, "alibaba plugin-driven ("+t.Name()+"): packer-plugin-alicloud", r.f.Requests()[ours:],
		"the build finished: image, tags, manifest, clean-up", r.out, r.err)
	return r
}

// TestPluginBuildsAgainstTheDouble: the real alicloud-ecs builder builds
// the image of our rendered template (the config hash our build --dry-run
// computes, no vswitch_id: the plugin makes its own network) on the
// double; then, on the same state, our side sees exactly what it made.
func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	r := runPlugin(t, nil)
	if r.err != nil {
		t.Fatal(plugintest.LastError(r.out))
	}
	checkPluginCalls(t, r.f, r.source)
	id := checkArtifact(t, r.f, r.manifest, r.hash)
	checkNothingTemporary(t, r.f, id)
	checkOurSide(t, r.f, r.cmds, id, r.hash)
}

// TestPluginCleansUpAfterAFailedStep: a step that fails half-way (ECS
// refuses AttachKeyPair with a code the plugin does not retry) ends the
// build; the plugin reads the double's error body (its code reaches
// packer's output) and removes everything it made: no image, nothing
// temporary, and our cleanup has nothing to find.
func TestPluginCleansUpAfterAFailedStep(t *testing.T) {
	r := runPlugin(t, func(f *alibabafake.Fake) {
		f.Inject(cloudtest.Fault{Match: "Action=AttachKeyPair", Status: 404, Code: "InvalidKeyPairName.NotFound", Message: "The specified KeyPairName does not exist in our records."})
	})
	if r.err == nil {
		t.Fatal("the build succeeded though AttachKeyPair failed")
	}
	if !strings.Contains(r.out, "InvalidKeyPairName.NotFound") {
		t.Errorf("the plugin did not report the double's error code: %s", plugintest.LastError(r.out))
	}
	if len(r.f.Params("CreateInstance")) == 0 || len(r.f.Params("AllocateEipAddress")) == 0 {
		t.Fatal("the build failed before it made the instance and the EIP: nothing to clean up")
	}
	for _, res := range r.f.Live() {
		t.Errorf("left behind by the failed build: %s %s", res.Kind, res.ID)
	}
	n := len(r.f.Requests())
	plugintest.Run(t, r.cmds.Env, "cleanup", "-c", r.cmds.Config, "--run-id", "plugin-run")
	for _, req := range r.f.Requests()[n:] {
		if strings.Contains(req, "Action=Delete") {
			t.Errorf("cleanup found something to delete after the plugin's own clean-up: %s", req)
		}
	}
}

// checkPluginCalls: the plugin went through every step this suite claims.
func checkPluginCalls(t *testing.T, f *alibabafake.Fake, source string) {
	t.Helper()
	for _, a := range []string{"DescribeRegions", "DescribeImages", "DescribeImageFromFamily", "CreateKeyPair", "CreateVpc",
		"DescribeZones", "CreateVSwitch", "CreateSecurityGroup", "AuthorizeSecurityGroup", "CreateInstance", "AllocateEipAddress",
		"AssociateEipAddress", "AttachKeyPair", "StartInstance", "StopInstance", "CreateImage", "AddTags",
		"ModifyImageSharePermission", "DetachKeyPair", "UnassociateEipAddress", "ReleaseEipAddress", "DeleteInstance",
		"DeleteSecurityGroup", "DeleteVSwitch", "DeleteVpc", "DeleteKeyPairs"} {
		if len(f.Params(a)) == 0 {
			t.Errorf("the plugin never called %s", a)
		}
	}
	// The name pre-validation asked for the image name (ImageName, the
	// filter the double ignored before: issue 13 item 6).
	var named bool
	for _, p := range f.Params("DescribeImages") {
		named = named || strings.HasPrefix(p.Get("ImageName"), "sindri-")
	}
	if !named {
		t.Error("the plugin never checked the image name with DescribeImages ImageName")
	}
	if ps := f.Params("CreateInstance"); len(ps) > 0 && ps[0].Get("ImageFamily") != "acs:ubuntu_24_04_x64" {
		t.Errorf("CreateInstance ImageFamily = %q (source %s)", ps[0].Get("ImageFamily"), source)
	}
}

// checkArtifact reads the plugin's manifest the way the pipeline's
// artifact step does (packer.ReadManifest, RegionIDs, the build region's
// ID, ValidImageID) and returns the image ID.
func checkArtifact(t *testing.T, f *alibabafake.Fake, manifest, hash string) string {
	t.Helper()
	b := plugintest.Artifact(t, manifest, "alibaba", hash, "plugin-run")
	_, regions := alibaba.Cloud{}.Regions(cloudtest.Load(t, pluginConfig))
	ids := packerpkg.RegionIDs(b.ArtifactID)
	id := ids[regions[0]]
	if len(ids) != 1 || id == "" {
		t.Fatalf("artifact %q: want one image in %s, got %v", b.ArtifactID, regions[0], ids)
	}
	if err := (alibaba.Cloud{}).ValidImageID(id); err != nil {
		t.Errorf("the plugin's image ID: %v", err)
	}
	var found bool
	for _, r := range f.Live() {
		if r.Kind == alibabafake.KindImage && r.ID == id {
			found = true
			if r.Name != b.CustomData["image_name"] || r.State != "Available" {
				t.Errorf("image %s: name %q state %s, manifest image_name %q", id, r.Name, r.State, b.CustomData["image_name"])
			}
			want := map[string]string{"config-hash": hash, "managed-by": "sindri-packer", "sindri-version": alibabafake.SindriVersion}
			if fmt.Sprint(r.Tags) != fmt.Sprint(want) {
				t.Errorf("image tags = %v, want %v", r.Tags, want)
			}
		}
	}
	if !found {
		t.Fatalf("the artifact's image %s is not in the double", id)
	}
	return id
}

// checkNothingTemporary: what the plugin leaves is the image and its
// snapshot (tagged as the image); no instance, disk, security group, key
// pair, VPC, VSwitch or EIP.
func checkNothingTemporary(t *testing.T, f *alibabafake.Fake, id string) {
	t.Helper()
	for _, r := range f.Live() {
		switch r.Kind {
		case alibabafake.KindImage:
			if r.ID != id {
				t.Errorf("an image besides the build's: %s", r.ID)
			}
		case alibabafake.KindSnapshot:
			if r.Tags["config-hash"] == "" {
				t.Errorf("snapshot %s is not tagged as its image: %v", r.ID, r.Tags)
			}
		default:
			t.Errorf("left behind by the plugin: %s %s (%v)", r.Kind, r.ID, r.Tags)
		}
	}
}

// checkOurSide runs our commands on the state the plugin left: the cache,
// images list, repave --dry-run, cleanup, deprecate and delete.
func checkOurSide(t *testing.T, f *alibabafake.Fake, cmds plugintest.Commands, id, hash string) {
	t.Helper()
	cmds.Writes = func() int {
		n := 0
		for _, a := range []string{"ModifyImageAttribute", "DeleteImage", "DeleteSnapshot", "TagResources",
			"DeleteInstance", "DeleteSecurityGroup", "DeleteKeyPairs", "DeleteDisk"} {
			n += len(f.Params(a))
		}
		return n
	}
	cmds.CheckReadOnly(t, id, hash, "ubuntu_24_04")
	cmds.CheckDeprecateThenDelete(t, f, id)
}
