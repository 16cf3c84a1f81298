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

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// pluginTemplate renders yaml's alibaba template into dir, pointed at the
// double's HTTPS endpoint, and returns its path.
func pluginTemplate(t *testing.T, yaml, dir, endpoint string) string {
	t.Helper()
	files, err := render.Render(cloudtest.Load(t, yaml), []string{"alibaba"}, render.Options{SindriVersion: alibabafake.SindriVersion})
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
			data = pointAtDouble(t, data, endpoint)
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

// pointAtDouble sets custom_endpoint_ecs and communicator "none" in the
// source and drops the provisioners (they need a communicator).
func pointAtDouble(t *testing.T, src []byte, endpoint string) []byte {
	t.Helper()
	f, diags := hclwrite.ParseConfig(src, "sindri.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body().Blocks() {
		switch b.Type() {
		case "source":
			b.Body().SetAttributeValue("custom_endpoint_ecs", cty.StringVal(endpoint))
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
	return f.Bytes()
}

// pluginBuild runs `packer build` of tmpl against f and returns the
// manifest path, packer's output and its error.
func pluginBuild(t *testing.T, f *alibabafake.Fake, tmpl, dir, packer, plugins string) (string, string, error) {
	t.Helper()
	cert := filepath.Join(dir, "fake-ca.pem")
	if err := os.WriteFile(cert, f.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.json")
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, packer, "build", "-machine-readable",
		"-var", "config_hash=plugin-hash", "-var", "run_id=plugin-run", "-var", "manifest_path="+manifest, tmpl)
	cmd.Dir = filepath.Dir(tmpl)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"PACKER_PLUGIN_PATH=" + plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
		"SSL_CERT_FILE=" + cert, "NO_PROXY=*", "no_proxy=*",
		"ALICLOUD_ACCESS_KEY=" + alibabafake.AccessKeyID, "ALICLOUD_SECRET_KEY=" + alibabafake.AccessKeySecret,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return manifest, out.String(), err
}

// lastError is the last error line of packer's machine-readable output.
func lastError(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(lines[i]), "error") {
			l := lines[i]
			if len(l) > 300 {
				l = l[:300]
			}
			return "stopped at: " + strings.ReplaceAll(l, `\n`, " ")
		}
	}
	return "stopped (no error line)"
}

func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	packer, plugins := alicloudTools(t)
	f := alibabafake.New(t)
	endpoint := f.StartTLS()
	f.AddPublicImage("ubuntu_24_04_x64_20G_alibase_20250101.vhd", "acs:ubuntu_24_04_x64", time.Now().Add(-48*time.Hour))
	dir := t.TempDir()
	tmpl := pluginTemplate(t, minimal, filepath.Join(dir, "out"), endpoint)
	_, out, runErr := pluginBuild(t, f, tmpl, dir, packer, plugins)
	reqs := f.Requests()
	stop := "the build finished"
	if runErr != nil {
		stop = lastError(out)
	}
	fmt.Printf("alibaba plugin-driven: packer-plugin-alicloud made %d requests to the double; %s\n", len(reqs), stop)
	t.Logf("packer output:\n%s", out)
	for _, r := range reqs {
		t.Log(r)
	}
	if runErr != nil {
		t.Fatal(stop)
	}
}
