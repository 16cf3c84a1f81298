package azure_test

// The plugin-driven suite: the real, pinned packer-plugin-azure runs
// `packer build` of the template we render against the Azure double, so a
// misunderstanding shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only): the double serves
// HTTPS with httptest's certificate for 127.0.0.1 (SSL_CERT_FILE points at
// it) and describes a custom cloud environment at /metadata/endpoints;
// the template is post-processed with hclwrite to set
// cloud_environment_name and metadata_host to it, so every ARM and Entra
// ID call of the plugin goes to 127.0.0.1. No proxy is needed.
//
// What the post-processing skips: communicator = "none" (no SSH to a real
// machine is possible here), so every provisioner block is removed: the
// scripts never run, and the plugin's deprovision step (waagent) is not
// reached over SSH. Everything else the plugin does is real.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// toolsDir is where tools/install.sh put packer and the pinned plugins.
func toolsDir(t *testing.T) (packer, plugins string) {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("SINDRI_TOOLS_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".tools")
	}
	packer, plugins = filepath.Join(dir, "bin", "packer"), filepath.Join(dir, "packer-plugins")
	matches, _ := filepath.Glob(filepath.Join(plugins, "github.com", "hashicorp", "azure", "packer-plugin-azure_v*"))
	if _, err := os.Stat(packer); err != nil || len(matches) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("packer or packer-plugin-azure missing under %s: CI must run the plugin-driven suite (tools/install.sh)", dir)
		}
		t.Skipf("packer or packer-plugin-azure not installed under %s (run tools/install.sh)", dir)
	}
	return packer, plugins
}

// pluginTemplate renders cfg's azure template and points it at the double.
func pluginTemplate(t *testing.T, yaml, dir string) string {
	t.Helper()
	files, err := render.Render(cloudtest.Load(t, yaml), []string{"azure"}, render.Options{SindriVersion: "3.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl string
	for _, f := range files {
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := f.Data
		if strings.HasSuffix(f.Path, ".pkr.hcl") {
			data = pointAtDouble(t, data)
			tmpl = p
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tmpl == "" {
		t.Fatal("no template rendered")
	}
	return tmpl
}

// pointAtDouble sets the custom environment and communicator "none" in
// the source, and drops the provisioners (they need a communicator).
func pointAtDouble(t *testing.T, src []byte) []byte {
	t.Helper()
	f, diags := hclwrite.ParseConfig(src, "sindri.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body().Blocks() {
		switch b.Type() {
		case "source":
			b.Body().SetAttributeValue("cloud_environment_name", cty.StringVal(azurefake.EnvironmentName))
			b.Body().SetAttributeTraversal("metadata_host", hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "fake_metadata_host"}})
			b.Body().SetAttributeValue("communicator", cty.StringVal("none"))
			b.Body().RemoveAttribute("ssh_username")
			b.Body().RemoveAttribute("ssh_timeout")
		case "build":
			for _, p := range b.Body().Blocks() {
				if p.Type() == "provisioner" {
					b.Body().RemoveBlock(p)
				}
			}
		}
	}
	v := f.Body().AppendNewBlock("variable", []string{"fake_metadata_host"}).Body()
	v.SetAttributeTraversal("type", hcl.Traversal{hcl.TraverseRoot{Name: "string"}})
	return f.Bytes()
}

// TestPluginBuildsAgainstTheDouble runs the real azure-arm builder. It
// prints one line saying how far the plugin got; the floor it asserts is
// what the double supports today, so a regression in either fails.
func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	packer, plugins := toolsDir(t)
	f := azurefake.NewTLS(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(cert, f.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := pluginTemplate(t, fakeConfig, filepath.Join(dir, "out"))
	host := strings.TrimPrefix(f.URL(), "https://")
	vars := filepath.Join(dir, "fake.pkrvars.hcl")
	env := f.Env()
	varText := fmt.Sprintf("fake_metadata_host = %q\nazure_client_id = %q\nazure_tenant_id = %q\nazure_client_secret = %q\nconfig_hash = \"plugin-hash\"\nrun_id = \"plugin-run\"\nmanifest_path = %q\n",
		host, env["AZURE_CLIENT_ID"], env["AZURE_TENANT_ID"], env["AZURE_CLIENT_SECRET"], filepath.Join(dir, "manifest.json"))
	if err := os.WriteFile(vars, []byte(varText), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, packer, "build", "-machine-readable", "-var-file="+vars, tmpl)
	cmd.Dir = filepath.Dir(tmpl)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"PACKER_PLUGIN_PATH=" + plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
		"SSL_CERT_FILE=" + cert, "NO_PROXY=*",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()

	reqs := f.Requests()
	last := "no request"
	if len(reqs) > 0 {
		last = reqs[len(reqs)-1]
	}
	stop := "the build finished"
	if runErr != nil {
		stop = lastError(out.String())
	}
	fmt.Printf("azure plugin-driven: packer-plugin-azure made %d requests to the double; last %s; %s\n", len(reqs), last, stop)
	t.Logf("packer output:\n%s", out.String())

	// The floor, what the double supports today: the plugin found the
	// double's environment, logged in, checked the managed image's
	// resource group, made its temporary resource group and reached
	// Microsoft.Resources deployments.
	var madeGroup, reachedDeployments bool
	for _, r := range reqs {
		l := strings.ToLower(r)
		madeGroup = madeGroup || (strings.HasPrefix(l, "put ") && strings.Contains(l, "/resourcegroups/pkr-resource-group-"))
		reachedDeployments = reachedDeployments || strings.Contains(l, "/providers/microsoft.resources/deployments/")
	}
	if !madeGroup || !reachedDeployments {
		t.Fatalf("the plugin did not get as far as before (temporary resource group %v, deployments %v): %s", madeGroup, reachedDeployments, stop)
	}
	// Whatever it stopped at, it cleaned up: no temporary resource is left.
	for _, r := range f.Live() {
		if r.Tags["sindri-packer"] == "temporary" && r.Kind != "image" {
			t.Errorf("left behind by the plugin: %s %s", r.Kind, r.ID)
		}
	}
	if runErr == nil {
		t.Log("the plugin finished: extend this test with the artifact, cache, images and cleanup checks")
	}
}

// lastError is the last error line of packer's machine-readable output.
func lastError(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], ",error,") || strings.Contains(strings.ToLower(lines[i]), "error") {
			l := lines[i]
			if len(l) > 300 {
				l = l[:300]
			}
			return "stopped at: " + strings.ReplaceAll(l, `\n`, " ")
		}
	}
	return "stopped (no error line)"
}
