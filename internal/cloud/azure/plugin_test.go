package azure_test

// The plugin-driven suite: the real, pinned packer-plugin-azure (v1.4.0)
// runs `packer build` of the template we render against the Azure double,
// so a misunderstanding shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only): the double serves
// HTTPS with httptest's certificate for 127.0.0.1 (SSL_CERT_FILE points at
// it) and describes a custom cloud environment at /metadata/endpoints;
// the template is post-processed with hclwrite to set
// cloud_environment_name and metadata_host to it, so every ARM and Entra
// ID call of the plugin goes to 127.0.0.1. No proxy is needed. Our own
// commands reach the same double state over plain HTTP (Fake.Env).
//
// SSH: azure-arm v1.4.0 always connects to a Linux VM over SSH (it
// ignores communicator "none"), so the test serves SSH on 127.0.0.1, the
// address the double gives the VM's public IP, and accepts only the
// public key the plugin put in the VM's osProfile through its
// deployment. What the post-processing skips: every provisioner block is
// removed, so no script runs and nothing is executed over SSH (the image
// is the source image as deployed), and the guest's deprovisioning
// (waagent) is not run. Everything else the plugin does is real.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/sshkey/sshtest"
)

// serveSSH answers SSH on 127.0.0.1 for the VMs of f (sshtest's double):
// a client gets in only with a public key that a VM in the double holds
// in its osProfile.linuxConfiguration.ssh.publicKeys, and every command
// exits 0 (the suite runs none; packer may probe). It returns the port and
// a flag that says whether anyone got in.
func serveSSH(t *testing.T, f *azurefake.Fake) (int, *atomic.Bool) {
	t.Helper()
	var in atomic.Bool
	onVM := func(_ string, key ssh.PublicKey) bool {
		for _, k := range vmKeys(f) {
			if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err == nil && bytes.Equal(pk.Marshal(), key.Marshal()) {
				in.Store(true)
				return true
			}
		}
		return false
	}
	srv := sshtest.Start(t, sshtest.Config{Authorize: onVM, Default: &sshtest.Reply{}})
	return srv.Port, &in
}

// vmKeys are the SSH public keys the double's VMs hold.
func vmKeys(f *azurefake.Fake) []string {
	var out []string
	for _, r := range f.Live() {
		if r.Kind != cloud.KindInstance {
			continue
		}
		vm := f.Get(r.ID)
		p, _ := vm["properties"].(map[string]any)
		op, _ := p["osProfile"].(map[string]any)
		lc, _ := op["linuxConfiguration"].(map[string]any)
		sshc, _ := lc["ssh"].(map[string]any)
		keys, _ := sshc["publicKeys"].([]any)
		for _, k := range keys {
			km, _ := k.(map[string]any)
			if s, _ := km["keyData"].(string); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// pluginRun is one run of the real plugin on a fresh double.
type pluginRun struct {
	f              *azurefake.Fake
	cmds           plugintest.Commands
	hash           string
	yaml, manifest string
	out            string
	err            error
	sshIn          *atomic.Bool
}

// runPlugin writes yaml, computes its config hash with our build
// --dry-run, renders the template, points it at the double and runs
// packer build; it prints one line saying how far the plugin went.
func runPlugin(t *testing.T, yaml string, before func(*azurefake.Fake)) *pluginRun {
	t.Helper()
	packer, plugins := plugintest.Tools(t, "azure")
	dir := t.TempDir()
	r := &pluginRun{f: azurefake.NewTLS(t), yaml: yaml}
	if before != nil {
		before(r.f)
	}
	r.f.PublicIPAddress = "127.0.0.1"
	// Every long-running operation answers InProgress twice first, so
	// the plugin's own pollers (autorest) walk the double's status
	// documents and Location URLs.
	r.f.LROPolls = 2
	port, in := serveSSH(t, r.f)
	r.sshIn = in
	r.cmds = plugintest.NewCommands(t, r.f, dir, packer, "azure", yaml, "plugin-run")
	r.hash = r.cmds.Hash(t)
	// The custom environment, and SSH back on (plugintest.Template turns
	// the communicator off; azure-arm v1.4.0 connects to a Linux VM
	// anyway) with the rendered user, at the test's SSH server.
	tmpl := plugintest.Template(t, yaml, "azure", filepath.Join(dir, "out"), "3.0.1", map[string]cty.Value{
		"cloud_environment_name": cty.StringVal(azurefake.EnvironmentName),
		"metadata_host":          cty.StringVal(strings.TrimPrefix(r.f.URL(), "https://")),
		"communicator":           cty.StringVal("ssh"),
		"ssh_username":           cty.StringVal((azure.Cloud{}).SSHUser(cloudtest.Load(t, yaml))),
		"ssh_port":               cty.NumberIntVal(int64(port)),
		"ssh_timeout":            cty.StringVal("1m"),
	})
	cert := filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(cert, r.f.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := r.f.Env()
	ours := len(r.f.Requests())
	r.manifest, r.out, r.err = plugintest.Build{
		Packer: packer, Plugins: plugins, Template: tmpl, Dir: dir,
		Env: []string{"SSL_CERT_FILE=" + cert, "NO_PROXY=*", "no_proxy=*"},
		Vars: map[string]string{"config_hash": r.hash, "run_id": "plugin-run", "azure_client_id": env["AZURE_CLIENT_ID"],
			"azure_tenant_id": env["AZURE_TENANT_ID"], "azure_client_secret": env["AZURE_CLIENT_SECRET"]},
	}.Run(t)
	plugintest.Report(t, "azure plugin-driven ("+t.Name()+"): packer-plugin-azure v1.4.0", r.f.Requests()[ours:],
		"the build finished: deployment, SSH, deallocate, generalize, image, tags, manifest, clean-up", r.out, r.err)
	return r
}

// TestPluginBuildsAgainstTheDouble: the real azure-arm builder builds the
// managed image of our rendered template on the double (its own
// temporary resource group, a template deployment of public IP, vnet,
// NIC and VM, SSH with the key it deployed, deallocate, generalize, the
// image, clean-up); then, on the same state, our side sees exactly what
// it made.
func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	r := runPlugin(t, pluginConfig, nil)
	if r.err != nil {
		t.Fatal(plugintest.LastError(r.out))
	}
	if !r.sshIn.Load() {
		t.Error("the plugin never got in over SSH with the key it deployed")
	}
	checkPluginCalls(t, r.f)
	id := checkArtifact(t, r.f, r.yaml, r.manifest, r.hash)
	checkNothingTemporary(t, r.f, id)
	checkOurSide(t, r.f, r.cmds, id, r.hash, nil, nil)
}

// pluginConfig is the azure config the suite builds: the double's
// subscription, group and location, a pinned sindri version.
const pluginConfig = fakeConfig + "  build:\n    sindri_version: 3.0.1\n"

// checkPluginCalls: the plugin went through every step this suite claims.
func checkPluginCalls(t *testing.T, f *azurefake.Fake) {
	t.Helper()
	reqs := strings.ToLower(strings.Join(f.Requests(), "\n"))
	for _, want := range []string{
		"put /subscriptions/" + azurefake.Subscription + "/resourcegroups/pkr-resource-group-",
		"/providers/microsoft.resources/deployments/pkrdp", "/validate",
		"/deployments/pkrdp", // CreateOrUpdate, Get, the operations list, Delete
		"/operations",
		"get /subscriptions/" + azurefake.Subscription + "/resourcegroups/pkr-resource-group-",
		"/providers/microsoft.network/publicipaddresses/pkrip",
		"/providers/microsoft.compute/virtualmachines/pkrvm",
		"/deallocate", "/generalize",
		"put /subscriptions/" + azurefake.Subscription + "/resourcegroups/" + azurefake.ResourceGroup + "/providers/microsoft.compute/images/sindri-",
		"delete /subscriptions/" + azurefake.Subscription + "/resourcegroups/pkr-resource-group-",
	} {
		if !strings.Contains(reqs, want) {
			t.Errorf("the plugin never sent %q", want)
		}
	}
	// Its own clean-up, resource by resource, before the group goes.
	for _, typ := range []string{"compute/virtualmachines", "network/networkinterfaces", "network/publicipaddresses",
		"network/virtualnetworks", "compute/disks", "resources/deployments"} {
		if !containsLine(reqs, "delete ", "/providers/microsoft."+typ+"/pk") {
			t.Errorf("the plugin never deleted its %s", typ)
		}
	}
}

func containsLine(text, prefix, part string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, part) {
			return true
		}
	}
	return false
}

// checkArtifact reads the plugin's manifest the way the pipeline's
// artifact step does (packer.ReadManifest, RegionIDs, the build region's
// ID, ValidImageID) and returns the image ID.
func checkArtifact(t *testing.T, f *azurefake.Fake, yaml, manifest, hash string) string {
	t.Helper()
	b := plugintest.Artifact(t, manifest, "azure", hash, "plugin-run")
	// azure-arm's artifact ID is the managed image's resource ID, with no
	// region prefix: the pipeline's image is the whole artifact ID.
	ids := packerpkg.RegionIDs(b.ArtifactID)
	id := b.ArtifactID
	if len(ids) != 1 || ids[""] != id {
		t.Fatalf("artifact %q: want one image ID without a region, got %v", id, ids)
	}
	if _, regions := (azure.Cloud{}).Regions(cloudtest.Load(t, yaml)); fmt.Sprint(f.Get(id)["location"]) != regions[0] {
		t.Errorf("image location %v, want the config's %s", f.Get(id)["location"], regions[0])
	}
	if err := (azure.Cloud{}).ValidImageID(id); err != nil {
		t.Errorf("the plugin's image ID: %v", err)
	}
	img := f.Get(id)
	if img == nil {
		t.Fatalf("the artifact's image %s is not in the double", id)
	}
	tags, _ := img["tags"].(map[string]any)
	for k, want := range map[string]string{"config-hash": hash, "managed-by": "sindri-packer", "sindri-version": "3.0.1", "team": "platform"} {
		if tags[k] != want {
			t.Errorf("image tag %s = %v, want %s (tags %v)", k, tags[k], want, tags)
		}
	}
	// Issue 13 item 1: the creation time is the tag the template writes,
	// and the plugin carries it to the image.
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(tags[azurefake.CreatedTag])); err != nil {
		t.Errorf("image tag %s = %v: %v", azurefake.CreatedTag, tags[azurefake.CreatedTag], err)
	}
	p, _ := img["properties"].(map[string]any)
	sp, _ := p["storageProfile"].(map[string]any)
	od, _ := sp["osDisk"].(map[string]any)
	if od["osState"] != "Generalized" || od["osType"] != "Linux" {
		t.Errorf("image OS disk = %v, want a generalized Linux disk", od)
	}
	return id
}

// checkNothingTemporary: the image is all that is left: no VM, disk,
// NIC, IP, vnet, temporary resource group or deployment.
func checkNothingTemporary(t *testing.T, f *azurefake.Fake, keep ...string) {
	t.Helper()
	for _, r := range f.Live() {
		if !slices.Contains(keep, r.ID) {
			t.Errorf("left behind by the plugin: %s %s (%v)", r.Kind, r.ID, r.Tags)
		}
	}
	for _, d := range f.Deployments() {
		t.Errorf("deployment left behind by the plugin: %s", d)
	}
}

// checkOurSide runs our commands on the state the plugin left: the cache,
// images list, repave --dry-run, cleanup, deprecate and delete.
// versions are gallery versions made from id (listed, deleted with it);
// seeded is what the test made and stays.
func checkOurSide(t *testing.T, f *azurefake.Fake, cmds plugintest.Commands, id, hash string, versions, seeded []string) {
	t.Helper()
	cmds.Writes = func() int { return len(f.Calls("PUT ")) + len(f.Calls("PATCH ")) + len(f.Calls("DELETE ")) }
	cmds.CheckReadOnly(t, id, hash, "", versions...)
	// One delete: the image as images list shows it, its gallery
	// versions with it (Azure refuses the managed image first).
	cmds.CheckDeprecateThenDelete(t, f, id, seeded...)
}

// TestPluginPublishesToTheGallery: with a gallery configured, the plugin
// also publishes the image to the gallery image definition (made by the
// user beforehand, as the gallery is), as the version our template
// derives from the build time; our side finds that version.
func TestPluginPublishesToTheGallery(t *testing.T) {
	r := runPlugin(t, galleryConfig+"    replication_regions: [eastus]\n  build:\n    sindri_version: 3.0.1\n", seedGallery)
	if r.err != nil {
		t.Fatal(plugintest.LastError(r.out))
	}
	checkPluginCalls(t, r.f)
	id := checkArtifact(t, r.f, r.yaml, r.manifest, r.hash)
	version := checkGalleryVersion(t, r.f, id, r.hash)
	gallery := []string{azurefake.ID("Microsoft.Compute/galleries", "sindri_gallery"), azurefake.ID("Microsoft.Compute/galleries/sindri_gallery/images", "sindri-dev")}
	checkNothingTemporary(t, r.f, append([]string{id, version}, gallery...)...)
	checkOurSide(t, r.f, r.cmds, id, r.hash, []string{version}, gallery)
}

// checkGalleryVersion: the plugin published the managed image id as a
// version of the seeded definition, numbered by our template from the
// build time, tagged as the image; it returns the version's ID.
func checkGalleryVersion(t *testing.T, f *azurefake.Fake, id, hash string) string {
	t.Helper()
	var version string
	for _, r := range f.Live() {
		if strings.Contains(r.ID, "/galleries/sindri_gallery/images/sindri-dev/versions/") {
			if version != "" {
				t.Errorf("two gallery versions: %s and %s", version, r.ID)
			}
			version = r.ID
			if r.Tags["config-hash"] != hash || r.Tags[azurefake.CreatedTag] == "" {
				t.Errorf("gallery version tags = %v", r.Tags)
			}
		}
	}
	if version == "" {
		t.Fatal("the plugin published no gallery version")
	}
	if err := (azure.Cloud{}).ValidImageID(version); err != nil {
		t.Errorf("gallery version ID: %v", err)
	}
	v := f.Get(version)
	p, _ := v["properties"].(map[string]any)
	sp, _ := p["storageProfile"].(map[string]any)
	src, _ := sp["source"].(map[string]any)
	pp, _ := p["publishingProfile"].(map[string]any)
	if !strings.EqualFold(fmt.Sprint(src["id"]), id) && !strings.Contains(fmt.Sprint(pp["source"]), id) {
		t.Errorf("gallery version's source = %v / %v, want the managed image %s", src, pp["source"], id)
	}
	// replication_regions reaches Azure as the version's target regions.
	var regions []string
	targets, _ := pp["targetRegions"].([]any)
	for _, tr := range targets {
		if m, ok := tr.(map[string]any); ok {
			regions = append(regions, strings.ToLower(strings.ReplaceAll(fmt.Sprint(m["name"]), " ", "")))
		}
	}
	slices.Sort(regions)
	if want := []string{"eastus", strings.ToLower(azurefake.Location)}; !slices.Equal(regions, want) {
		t.Errorf("gallery version's target regions = %q (%v), want %q", regions, pp["targetRegions"], want)
	}
	return version
}

// seedGallery makes the gallery and image definition galleryConfig names.
func seedGallery(f *azurefake.Fake) {
	now := time.Now()
	f.Put(azurefake.ID("Microsoft.Compute/galleries", "sindri_gallery"), map[string]any{"location": azurefake.Location}, now)
	f.Put(azurefake.ID("Microsoft.Compute/galleries/sindri_gallery/images", "sindri-dev"), map[string]any{"location": azurefake.Location,
		"properties": map[string]any{"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V1",
			"identifier": map[string]any{"publisher": "sindri", "offer": "sindri", "sku": "dev"}}}, now)
}

// TestPluginCleansUpAfterAFailedStep: the image capture's operation ends
// Failed (as ARM reports an image it could not make); the plugin reports
// the double's error code, removes everything temporary it made (VM,
// disk, NIC, IP, vnet, deployment, group), and our cleanup finds nothing.
func TestPluginCleansUpAfterAFailedStep(t *testing.T) {
	r := runPlugin(t, pluginConfig, func(f *azurefake.Fake) {
		f.FailOperation("PUT", "/providers/Microsoft.Compute/images/sindri-", "InternalOperationError", "The image could not be captured.", 1)
	})
	if r.err == nil {
		t.Fatal("the build succeeded though the image capture failed")
	}
	if !strings.Contains(r.out, "InternalOperationError") {
		t.Errorf("the plugin did not report the double's error code: %s", plugintest.LastError(r.out))
	}
	if !r.sshIn.Load() {
		t.Fatal("the build failed before the VM ran: nothing much to clean up")
	}
	for _, res := range r.f.Live() {
		if res.Kind != "image" {
			t.Errorf("left behind by the failed build: %s %s", res.Kind, res.ID)
		}
	}
	for _, d := range r.f.Deployments() {
		t.Errorf("deployment left behind by the failed build: %s", d)
	}
	n := len(r.f.Calls("DELETE "))
	plugintest.Run(t, r.cmds.Env, "cleanup", "-c", r.cmds.Config, "--run-id", "plugin-run")
	if d := len(r.f.Calls("DELETE ")) - n; d != 0 {
		t.Errorf("cleanup deleted %d resources after the plugin's own clean-up", d)
	}
}
