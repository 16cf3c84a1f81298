package oci_test

// The plugin-driven suite: the real, pinned packer-plugin-oracle
// (oracle-oci) runs `packer build` of the template we render against the
// OCI double, so a misunderstanding shared by our client and our double
// cannot pass.
//
// How the plugin reaches the double (test code only): the plugin has no
// endpoint setting and calls https://iaas.us-ashburn-1.oraclecloud.com.
// Its SDK honours HTTPS_PROXY and SSL_CERT_FILE, so packer runs with
// HTTPS_PROXY at plugintest's loopback HTTPS proxy (plugintest.StartProxy), which
// accepts CONNECT to *.oraclecloud.com only, ends TLS with a certificate
// of a CA made for this test (SSL_CERT_FILE) and serves the double's API.
// The plugin signs with the double's clearly fake key (its config file).
//
// What the post-processing skips: communicator = "none" (no SSH to a real
// machine is possible here), so ssh_username and ssh_timeout go and every
// provisioner block is removed: the plugin never connects over SSH, the
// scripts never run, and its temporary SSH key is generated but never
// used. Everything else the plugin does is real: the base image lookup
// (base_image_filter, newest first), LaunchInstance with our shape, shape
// config, subnet, boot volume size and instance tags, the wait for
// RUNNING, the VNIC attachment and public IP lookup, CreateImage with our
// image name and tags and the wait for AVAILABLE, the image capability
// schema update, TerminateInstance and the wait for TERMINATED, and the
// manifest. An OCI image lives in one region: no copies are made.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
)

const (
	pluginRun     = "plugin-run"
	pluginVersion = "3.0.1"
)

// pluginConfig is the double's placement with our defaults (Canonical
// Ubuntu 24.04 on VM.Standard.E4.Flex, 4 OCPUs, 64 GB, 80 GB boot volume).
const pluginConfig = ocifake.YAML + "  tags: {Team: platform}\n  build:\n    sindri_version: " + pluginVersion + "\n"

// pluginBuild runs `packer build` of tmpl with its OCI calls going
// through the double's proxy and returns the manifest path, packer's
// output and its error.
func pluginBuild(t *testing.T, f *ocifake.Fake, tmpl, dir, packer, plugins, hash string) (string, string, error) {
	t.Helper()
	proxy := plugintest.StartProxy(t, ".oraclecloud.com", f.URL, dir)
	return plugintest.Build{
		Packer: packer, Plugins: plugins, Template: tmpl, Dir: dir,
		Env:  proxy.Env(),
		Vars: map[string]string{"config_hash": hash, "run_id": pluginRun, "oci_access_cfg_file": f.ConfigFile()},
	}.Run(t)
}

// seedBases adds the platform images the base_image_filter chooses from:
// two Canonical Ubuntu 24.04 (the newer must win) and a newer Oracle
// Linux that the filter must leave out. It returns the expected base.
func seedBases(f *ocifake.Fake) string {
	now := time.Now()
	f.AddImage("Canonical-Ubuntu-24.04-2025.01.01-0", nil, now.Add(-72*time.Hour), "AVAILABLE")
	want := f.AddImage("Canonical-Ubuntu-24.04-2025.02.01-0", nil, now.Add(-48*time.Hour), "AVAILABLE")
	f.AddPlatformImage("Oracle-Linux-9.5-2025.03.01-0", "Oracle Linux", "9", now.Add(-24*time.Hour))
	return want
}

// TestPluginBuildsAgainstTheDouble: the real oracle-oci builder builds our
// rendered template on the double; then, on the same state, our side sees
// exactly what it made and nothing temporary is left.
func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	packer, plugins := plugintest.Tools(t, "oracle")
	f := ocifake.New(t)
	base := seedBases(f)
	dir := t.TempDir()
	cmds := plugintest.NewCommands(t, f, dir, packer, "oci", pluginConfig, pluginRun)
	hash := cmds.Hash(t)
	tmpl := plugintest.Template(t, pluginConfig, "oci", filepath.Join(dir, "out"), pluginVersion, nil)
	ours := len(f.Requests())
	manifest, out, runErr := pluginBuild(t, f, tmpl, dir, packer, plugins, hash)
	reqs := f.Requests()[ours:]
	stop := plugintest.Report(t, "oci plugin-driven: packer-plugin-oracle", reqs,
		"the build finished: base image lookup, instance, VNIC and IP, image, capability schema, tags, terminate, manifest", out, runErr)
	t.Logf("requests of the plugin:\n%s", strings.Join(reqs, "\n"))
	if runErr != nil {
		t.Fatal(stop)
	}
	checkPluginCalls(t, f, base, hash)
	id := checkArtifact(t, f, manifest, base, hash)
	checkNothingTemporary(t, f, id)
	checkCommands(t, f, cmds, id, hash)
	checkOurSide(t, f, id, hash)
}

// checkPluginCalls: the plugin went through every step this suite claims,
// and launched what our template asks for.
func checkPluginCalls(t *testing.T, f *ocifake.Fake, base, hash string) {
	t.Helper()
	for _, line := range []string{
		"GET /20160918/images", "POST /20160918/instances", "GET /20160918/instances/", "GET /20160918/vnicAttachments",
		"GET /20160918/vnics/", "POST /20160918/images", "GET /20160918/images/", "GET /20160918/computeImageCapabilitySchemas",
		"PUT /20160918/computeImageCapabilitySchemas/", "DELETE /20160918/instances/",
	} {
		if len(f.Calls(line)) == 0 {
			t.Errorf("the plugin never called %s", line)
		}
	}
	var lookup bool // our own ListImages calls name no operating system
	for _, c := range f.Calls("GET /20160918/images") {
		q := c.Query
		lookup = lookup || q.Get("operatingSystem") == "Canonical Ubuntu" && q.Get("operatingSystemVersion") == "24.04" && q.Get("lifecycleState") == "AVAILABLE"
	}
	if !lookup {
		t.Error("the plugin never looked up the base image by our base_image_filter (Canonical Ubuntu 24.04, AVAILABLE)")
	}
	launches := f.Launches()
	if len(launches) != 1 {
		t.Fatalf("%d launches, want 1", len(launches))
	}
	l := launches[0]
	src, _ := l["sourceDetails"].(map[string]any)
	sc, _ := l["shapeConfig"].(map[string]any)
	tags, _ := l["freeformTags"].(map[string]any)
	if src["imageId"] != base || src["bootVolumeSizeInGBs"] != float64(80) || l["shape"] != "VM.Standard.E4.Flex" ||
		sc["ocpus"] != float64(4) || sc["memoryInGBs"] != float64(64) {
		t.Errorf("LaunchInstance = %v; want base %s, 80 GB, VM.Standard.E4.Flex 4/64", l, base)
	}
	if tags[cloud.TagRunID] != pluginRun || tags[cloud.TagTemporary] != cloud.Temporary || tags[cloud.TagConfigHash] != hash {
		t.Errorf("the instance's tags = %v, want the run's temporary tags", tags)
	}
}

// checkArtifact reads the plugin's manifest as the pipeline's artifact
// step does (the last build, RegionIDs: an OCI artifact is a bare OCID)
// and checks the image it names, its tags and its base. It returns the
// image's OCID.
func checkArtifact(t *testing.T, f *ocifake.Fake, manifest, base, hash string) string {
	t.Helper()
	b := plugintest.Artifact(t, manifest, "oci", hash, pluginRun)
	ids := packerpkg.RegionIDs(b.ArtifactID)
	id := ids[""]
	if len(ids) != 1 || id != b.ArtifactID {
		t.Fatalf("artifact %q: want one bare image OCID, got %v", b.ArtifactID, ids)
	}
	if err := (oci.Cloud{}).ValidImageID(id); err != nil {
		t.Errorf("the plugin's image ID: %v", err)
	}
	want := map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: hash,
		cloud.TagSindriVersion: pluginVersion, "Team": "platform"}
	if got := f.ImageTags(id); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("image tags = %v, want %v", got, want)
	}
	var found bool
	for _, r := range f.Live() {
		if r.Kind == "image" && r.ID == id {
			found = true
			if r.Name != b.CustomData["image_name"] || r.State != "AVAILABLE" {
				t.Errorf("image %s: name %q state %s, manifest image_name %q", id, r.Name, r.State, b.CustomData["image_name"])
			}
		}
	}
	if !found {
		t.Fatalf("the artifact's image %s is not in the double", id)
	}
	if got := f.BaseImage(id); got != base {
		t.Errorf("image %s was taken from an instance of %s, want %s", id, got, base)
	}
	return id
}

// checkNothingTemporary: what the plugin leaves is its image and the base
// images; the instance is terminated and its VNIC and boot volume gone.
func checkNothingTemporary(t *testing.T, f *ocifake.Fake, id string) {
	t.Helper()
	for _, r := range f.Live() {
		if r.Kind != "image" || (r.ID != id && r.Tags[cloud.TagManagedBy] != "") {
			t.Errorf("left behind by the plugin: %s %s (%s, %v)", r.Kind, r.ID, r.State, r.Tags)
		}
	}
	if v := f.VNICs(); len(v) != 0 {
		t.Errorf("VNICs left: %v", v)
	}
}

// checkOurSide runs our client on the state the plugin left: the build
// cache, the image list, the sweep, deprecate and delete.
func checkOurSide(t *testing.T, f *ocifake.Fake, id, hash string) {
	t.Helper()
	c := oci.Cloud{Env: cloudtest.EnvOf(f), Tuning: pluginTuning}
	cfg := cloudtest.Load(t, pluginConfig)
	plugintest.OurSide{
		Target: c, Config: cfg, ID: id, Hash: hash, Runs: []string{pluginRun, ""},
		Found: func(img cloud.Image) bool {
			return img.Regions[ocifake.Region] == id && img.SindriVersion == pluginVersion
		},
		Deprecated: func(t *testing.T) {
			if img, err := c.FindImage(t.Context(), cfg, hash); err != nil || img != nil {
				t.Errorf("FindImage after deprecate: %+v, %v; want no cache hit", img, err)
			}
		},
	}.Check(t)
	for _, r := range f.Live() {
		if r.Tags[cloud.TagManagedBy] != "" {
			t.Errorf("after DeleteImage: %s %s is left", r.Kind, r.ID)
		}
	}
}

// checkCommands runs our commands on the state the plugin left: the
// build cache, images list, repave --dry-run and cleanup; none of them
// writes.
func checkCommands(t *testing.T, f *ocifake.Fake, cmds plugintest.Commands, id, hash string) {
	t.Helper()
	cmds.Writes = func() int {
		n := 0
		for _, r := range f.Requests() {
			if !strings.HasPrefix(r, "GET ") {
				n++
			}
		}
		return n
	}
	cmds.CheckReadOnly(t, id, hash, "Canonical-Ubuntu")
}

// pluginTuning keeps our side's waits short.
var pluginTuning = cloud.Tuning{CallTimeout: 5 * time.Second, PollInterval: time.Millisecond, Retry: cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}}

// TestPluginLeftoversAreWhatItMade: a build the plugin cannot finish nor
// clean up (CreateImage refused, then its terminate refused) leaves its
// instance; Leftovers of its run finds exactly that instance, and our
// sweep deletes it and nothing else.
func TestPluginLeftoversAreWhatItMade(t *testing.T) {
	packer, plugins := plugintest.Tools(t, "oracle")
	f := ocifake.New(t)
	seedBases(f)
	f.Inject(cloudtest.Fault{Match: "POST /20160918/images", Status: 403, Code: "NotAuthorizedOrNotFound"},
		cloudtest.Fault{Match: "DELETE /20160918/instances/", Status: 403, Code: "NotAuthorizedOrNotFound"})
	dir := t.TempDir()
	tmpl := plugintest.Template(t, pluginConfig, "oci", filepath.Join(dir, "out"), pluginVersion, nil)
	_, out, runErr := pluginBuild(t, f, tmpl, dir, packer, plugins, "failing-hash")
	if runErr == nil || f.Pending() != 0 {
		t.Fatalf("the build should have failed at CreateImage and its terminate (faults left %d):\n%s", f.Pending(), out)
	}
	var want []string
	for _, r := range f.Live() {
		if r.Kind == cloud.KindInstance {
			want = append(want, r.Kind+" "+r.ID)
		}
	}
	plugintest.CheckLeftovers(t, oci.Cloud{Env: cloudtest.EnvOf(f), Tuning: pluginTuning}, cloudtest.Load(t, pluginConfig), pluginRun, want, 1)
	for _, r := range f.Live() {
		if r.Kind != "image" {
			t.Errorf("after the sweep: %s %s (%s) is left", r.Kind, r.ID, r.State)
		}
	}
}
