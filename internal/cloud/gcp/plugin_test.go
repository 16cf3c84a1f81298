package gcp_test

// The plugin-driven suite: the real, pinned packer-plugin-googlecompute
// (google.golang.org/api v0.56 and golang.org/x/oauth2, clients we did not
// write) runs `packer build` of the template we render against gcpfake, so
// a misunderstanding shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only): googlecompute 1.1.0
// has no endpoint option, its client always calls
// https://compute.googleapis.com/compute/v1/. The test runs a loopback
// HTTPS proxy (HTTPS_PROXY): it accepts CONNECT only to *.googleapis.com:443
// and ends the tunnel in a TLS server whose certificate a CA made by this
// test signs (SSL_CERT_FILE holds that CA, nothing else), which passes the
// requests on to the double. Authentication is the template's own way,
// Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS is a
// service-account key made for this test (gcpfake.KeyFile) whose token_uri
// is the double's /token on 127.0.0.1, so the OAuth exchange is real and
// stays on this machine; GCE_METADATA_HOST points at the double too.
//
// What the post-processing skips: communicator = "none" (no SSH to a real
// machine is possible here), so ssh_username and ssh_timeout go and every
// provisioner block is removed: the plugin makes no SSH key, waits for no
// SSH, the scripts never run. Everything else is the plugin's: the source
// image by family, zone and machine type, the instance and its boot disk,
// waiting for RUNNING, the serial console, deleting the instance, the
// image from the disk with its labels, deleting the disk, the manifest.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	packerpkg "github.com/sindri-dev/sindri-packer/internal/packer"
)

const (
	pluginHash    = "plugin-hash"
	pluginRun     = "plugin-run"
	pluginVersion = "3.0.1"
	sourceProject = "ubuntu-os-cloud"
	sourceFamily  = "ubuntu-2404-lts-amd64"
)

func pluginConfig(f *gcpfake.Fake) string {
	return "packer:\n  cloud: gcp\n  project_id: " + f.Project + "\n  zone: " + f.Zone + "\n  labels:\n    team: platform\n"
}

// pluginBuild runs `packer build` of tmpl through the proxy, with -var
// name=value for each pair of vars, and returns the manifest path,
// packer's output and its error.
func pluginBuild(t *testing.T, f *gcpfake.Fake, tmpl, dir, packer, plugins string, vars ...string) (string, string, error) {
	t.Helper()
	proxy := plugintest.StartProxy(t, ".googleapis.com", f.URL, dir)
	host := strings.TrimPrefix(f.URL, "http://")
	set := map[string]string{"config_hash": pluginHash, "run_id": pluginRun}
	for i := 0; i+1 < len(vars); i += 2 {
		set[vars[i]] = vars[i+1]
	}
	return plugintest.Build{Packer: packer, Plugins: plugins, Template: tmpl, Dir: dir,
		Vars: set,
		Env: append(proxy.Env(),
			"GOOGLE_APPLICATION_CREDENTIALS="+f.KeyFile(t, dir),
			"GCE_METADATA_HOST="+host, "GCE_METADATA_IP="+host, "CLOUDSDK_CONFIG="+filepath.Join(dir, "gcloud"),
		)}.Run(t)
}

// seedSource puts the source family into the public project: the newest
// image, an older one and a newer deprecated one (getFromFamily skips it).
func seedSource(f *gcpfake.Fake) string {
	now := time.Now()
	f.AddPublicImage(sourceProject, "ubuntu-2404-noble-amd64-v20241101", sourceFamily, now.Add(-60*24*time.Hour))
	f.AddPublicImage(sourceProject, "ubuntu-2404-noble-amd64-v20250101", sourceFamily, now.Add(-30*24*time.Hour))
	f.AddPublicImage(sourceProject, "ubuntu-2204-jammy-v20250101", "ubuntu-2204-lts", now.Add(-time.Hour))
	return "ubuntu-2404-noble-amd64-v20250101"
}

func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	packer, plugins := plugintest.Tools(t, "googlecompute")
	f := gcpfake.New(t)
	source := seedSource(f)
	dir := t.TempDir()
	tmpl := plugintest.Template(t, pluginConfig(f), "gcp", filepath.Join(dir, "out"), pluginVersion, nil)
	manifest, out, runErr := pluginBuild(t, f, tmpl, dir, packer, plugins)
	stop := plugintest.Report(t, "gcp plugin-driven: packer-plugin-googlecompute", f.Requests(),
		"the build finished: token, source image by family, zone, machine type, instance and boot disk, RUNNING, serial console, instance deleted, image from the disk with labels, disk deleted, manifest", out, runErr)
	if runErr != nil {
		t.Fatal(stop)
	}
	checkPluginCalls(t, f, source)
	name := checkArtifact(t, f, manifest, out)
	checkNothingTemporary(t, f, name)
	checkOurSide(t, f, name)
}

// TestPluginTagsTheVersionPassedWithVar is the seed's workflow: packer
// build -var sindri_version=... of the template, which installs that
// release, must label the image with it, not with the config's (a literal
// label did, so the image claimed 3.0.1 while holding another release).
// Packer itself adapts the value to GCP's label rules.
func TestPluginTagsTheVersionPassedWithVar(t *testing.T) {
	packer, plugins := plugintest.Tools(t, "googlecompute")
	f := gcpfake.New(t)
	seedSource(f)
	dir := t.TempDir()
	tmpl := plugintest.Template(t, pluginConfig(f), "gcp", filepath.Join(dir, "out"), pluginVersion, nil)
	manifest, out, err := pluginBuild(t, f, tmpl, dir, packer, plugins, "sindri_version", "3.2.0-RC.1")
	if err != nil {
		t.Fatalf("packer build -var sindri_version=3.2.0-RC.1: %v\n%s", err, plugintest.LastError(out))
	}
	b := plugintest.Artifact(t, manifest, "gcp", pluginHash, pluginRun)
	if got := b.CustomData["sindri_version"]; got != "3.2.0-RC.1" {
		t.Errorf("manifest sindri_version %q, want the -var value", got)
	}
	im := f.Image(packerpkg.RegionIDs(b.ArtifactID)[""])
	if im == nil {
		t.Fatalf("no image for artifact %q", b.ArtifactID)
	}
	if got := im.GetLabels()[cloud.TagSindriVersion]; got != gcp.LabelValue("3.2.0-RC.1") {
		t.Errorf("image label sindri-version %q, want %q (the -var value as a label)", got, gcp.LabelValue("3.2.0-RC.1"))
	}
}

// checkPluginCalls: the plugin went through every step this suite
// claims, with what our template asked for.
func checkPluginCalls(t *testing.T, f *gcpfake.Fake, source string) {
	t.Helper()
	p := "/compute/v1/projects/" + f.Project
	for _, want := range []string{
		"POST /token",
		"GET /compute/v1/projects/" + sourceProject + "/global/images/family/" + sourceFamily,
		"GET " + p + "/zones/" + f.Zone, "GET " + p + "/zones/" + f.Zone + "/machineTypes/e2-standard-4",
		"POST " + p + "/zones/" + f.Zone + "/instances", "GET " + p + "/zones/" + f.Zone + "/operations/",
		"/serialPort", "DELETE " + p + "/zones/" + f.Zone + "/instances/", "POST " + p + "/global/images",
		"GET " + p + "/global/operations/", "DELETE " + p + "/zones/" + f.Zone + "/disks/",
	} {
		if len(f.Calls(want)) == 0 {
			t.Errorf("the plugin never called %s", want)
		}
	}
	for _, c := range f.Calls("/compute/v1/") {
		if got := c.Header.Get("Authorization"); got != "Bearer "+gcpfake.AccessToken {
			t.Errorf("%s: Authorization %q, want the token from the key file's exchange", c.Line, got)
			break
		}
	}
	inserts := f.Calls("POST " + p + "/zones/" + f.Zone + "/instances")
	if len(inserts) != 1 {
		t.Fatalf("instances.insert called %d times", len(inserts))
	}
	var in struct {
		Labels map[string]string `json:"labels"`
		Disks  []struct {
			InitializeParams struct {
				SourceImage string `json:"sourceImage"`
				DiskType    string `json:"diskType"`
				DiskSizeGb  string `json:"diskSizeGb"`
			} `json:"initializeParams"`
		} `json:"disks"`
	}
	if err := json.Unmarshal(inserts[0].Body, &in); err != nil || len(in.Disks) != 1 {
		t.Fatalf("instances.insert body: %v: %s", err, inserts[0].Body)
	}
	ip := in.Disks[0].InitializeParams
	if !strings.HasSuffix(ip.SourceImage, "/projects/"+sourceProject+"/global/images/"+source) || !strings.HasSuffix(ip.DiskType, "/pd-ssd") {
		t.Errorf("boot disk from %q type %q, want the family's newest image %s on pd-ssd", ip.SourceImage, ip.DiskType, source)
	}
	if in.Labels[cloud.TagRunID] != pluginRun || in.Labels[cloud.TagTemporary] != cloud.Temporary || in.Labels["team"] != "platform" {
		t.Errorf("the build instance's labels %v lack the run's", in.Labels)
	}
}

// checkArtifact reads the plugin's manifest and machine-readable artifact
// the way the pipeline does and returns the image name (GCP's image ID).
func checkArtifact(t *testing.T, f *gcpfake.Fake, manifest, out string) string {
	t.Helper()
	b := plugintest.Artifact(t, manifest, "gcp", pluginHash, pluginRun)
	ids := packerpkg.RegionIDs(b.ArtifactID)
	name := ids[""]
	if len(ids) != 1 || name != b.CustomData["image_name"] {
		t.Fatalf("artifact %q: want one image named %q", b.ArtifactID, b.CustomData["image_name"])
	}
	var printed []string
	for _, l := range strings.Split(out, "\n") {
		if pl, ok := packerpkg.ParseLine(l); ok && pl.Type == "artifact" && len(pl.Data) >= 3 && pl.Data[1] == "id" {
			printed = append(printed, pl.Data[2])
		}
	}
	// the builder's artifact and the manifest post-processor's, both the image
	if len(printed) == 0 || slices.ContainsFunc(printed, func(id string) bool { return id != name }) {
		t.Errorf("packer printed artifact ids %v, the manifest says %s", printed, name)
	}
	if err := (gcp.Cloud{}).ValidImageID(name); err != nil {
		t.Errorf("the plugin's image: %v", err)
	}
	im := f.Image(name)
	if im == nil || im.GetStatus() != "READY" || !strings.Contains(im.GetSourceDisk(), "/zones/"+f.Zone+"/disks/packer-") {
		t.Fatalf("image %s of the artifact: %v", name, im)
	}
	want := map[string]string{"managed-by": "sindri-packer", "config-hash": pluginHash, "sindri-version": "3-0-1", "team": "platform"}
	if fmt.Sprint(im.GetLabels()) != fmt.Sprint(want) {
		t.Errorf("image labels %v, want %v", im.GetLabels(), want)
	}
	return name
}

// checkNothingTemporary: the plugin leaves its image and nothing else:
// no instance, no disk, no firewall rule.
func checkNothingTemporary(t *testing.T, f *gcpfake.Fake, name string) {
	t.Helper()
	for _, r := range f.Live() {
		if r.Kind != "image" || r.ID != name {
			t.Errorf("left behind by the plugin: %s %s (%v)", r.Kind, r.ID, r.Tags)
		}
	}
}

// checkOurSide runs our client on the state the plugin left: the build
// cache, the image list, the sweep, deprecate and delete.
func checkOurSide(t *testing.T, f *gcpfake.Fake, name string) {
	t.Helper()
	plugintest.OurSide{
		Target: gcp.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloud.Tuning{Retry: tiny, PollInterval: time.Millisecond, PollMax: time.Millisecond, WaitTimeout: 5 * time.Second}},
		Config: cloudtest.Load(t, pluginConfig(f)),
		ID:     name, Hash: pluginHash, Runs: []string{pluginRun},
		Listed: func(img cloud.Image) bool { return img.SindriVersion != "" },
	}.Check(t)
	if im := f.Image(name); im != nil {
		t.Errorf("the image is still there after DeleteImage: %v", im)
	}
}

// The googlecompute plugin makes the build's boot disk with autoDelete
// false and without labels (it deletes the disk itself after the image),
// so when a build is killed, Leftovers finds the labelled instance but
// can never find that disk. Deleting the leftover instance must take the
// disk along.
func TestSweepTakesThePluginsBootDiskAlong(t *testing.T) {
	f, c, cfg := newFake(t)
	source := seedSource(f)
	in, err := json.Marshal(map[string]any{
		"name": "packer-6750e1b2-0000-4000-8000-000000000001", "machineType": "zones/" + f.Zone + "/machineTypes/e2-standard-4",
		"labels": map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: pluginRun, cloud.TagTemporary: cloud.Temporary},
		"disks": []map[string]any{{"boot": true, "autoDelete": false, "type": "PERSISTENT", "mode": "READ_WRITE",
			"initializeParams": map[string]any{"sourceImage": "projects/" + sourceProject + "/global/images/" + source,
				"diskName": "packer-6750e1b2-0000-4000-8000-000000000001", "diskType": "zones/" + f.Zone + "/diskTypes/pd-ssd"}}},
		"networkInterfaces": []map[string]any{{"network": "global/networks/default"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(f.URL+"/compute/v1/projects/"+f.Project+"/zones/"+f.Zone+"/instances", "application/json", bytes.NewReader(in))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the plugin's instance: %v %v", resp, err)
	}
	resp.Body.Close()

	left, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{RunID: pluginRun})
	if err != nil || len(left) != 1 || left[0].Kind != cloud.KindInstance {
		t.Fatalf("Leftovers = %+v, %v; want the plugin's instance", left, err)
	}
	if err := c.DeleteResource(t.Context(), cfg, left[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Live() {
		t.Errorf("left behind after the sweep: %s %s (%v)", r.Kind, r.ID, r.Tags)
	}
}
