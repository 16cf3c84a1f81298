package aws_test

// The plugin-driven suite: the real, pinned packer-plugin-amazon
// (amazon-ebs, aws-sdk-go v1, a client we did not write) runs `packer
// build` of the template we render against awsfake, so a misunderstanding
// shared by our client and our double cannot pass.
//
// How the plugin reaches the double (test code only, no proxy): the
// rendered template is post-processed with hclwrite to set
// custom_endpoint_ec2 to the double's plain-HTTP URL; the plugin's copies
// to ami_regions use the same endpoint, and the double reads the region
// from each request's SigV4 scope.
//
// What the post-processing skips: communicator = "none" (no SSH to a real
// machine is possible here), so ssh_username and ssh_timeout go and every
// provisioner block is removed: the plugin never waits for SSH, the
// scripts never run and its temporary key pair is never used (it is still
// created, passed to RunInstances and deleted).
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

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// amazonTools is where tools/install.sh put packer and the pinned
// amazon plugin; the test skips, saying so, when they are absent.
func amazonTools(t *testing.T) (packer, plugins string) {
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
	matches, _ := filepath.Glob(filepath.Join(plugins, "github.com", "hashicorp", "amazon", "packer-plugin-amazon_v*"))
	if _, err := os.Stat(packer); err != nil || len(matches) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("packer or packer-plugin-amazon missing under %s: CI must run the plugin-driven suite (tools/install.sh)", dir)
		}
		t.Skipf("packer or packer-plugin-amazon not installed under %s (run tools/install.sh): the plugin-driven suite did not run", dir)
	}
	return packer, plugins
}

// pluginTemplate renders yaml's aws template into dir, pointed at the
// double, and returns its path.
func pluginTemplate(t *testing.T, yaml, dir, endpoint string) string {
	t.Helper()
	files, err := render.Render(cloudtest.Load(t, yaml), []string{"aws"}, render.Options{SindriVersion: awsfake.SindriVersion})
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

// pointAtDouble sets custom_endpoint_ec2 and communicator "none" in the
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
			b.Body().SetAttributeValue("custom_endpoint_ec2", cty.StringVal(endpoint))
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
func pluginBuild(t *testing.T, f *awsfake.Fake, tmpl, dir, packer, plugins, runID string) (string, string, error) {
	t.Helper()
	manifest := filepath.Join(dir, "manifest.json")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, packer, "build", "-machine-readable",
		"-var", "config_hash=plugin-hash", "-var", "run_id="+runID, "-var", "manifest_path="+manifest, tmpl)
	cmd.Dir = filepath.Dir(tmpl)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"PACKER_PLUGIN_PATH=" + plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
		"NO_PROXY=*", "no_proxy=*", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + awsfake.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + awsfake.SecretAccessKey,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_POLL_DELAY_SECONDS=1", "AWS_MAX_ATTEMPTS=120",
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

const pluginConfig = "packer:\n  cloud: aws\n  ami_regions: [us-east-1]\n"

func TestPluginBuildsAgainstTheDouble(t *testing.T) {
	packer, plugins := amazonTools(t)
	f := awsfake.New(t)
	f.AddImage(awsfake.ImageSpec{Name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101", Owner: "099720109477", Public: true, Created: time.Now().Add(-48 * time.Hour)})
	dir := t.TempDir()
	tmpl := pluginTemplate(t, pluginConfig, filepath.Join(dir, "out"), f.URL())
	_, out, runErr := pluginBuild(t, f, tmpl, dir, packer, plugins, "plugin-run")
	reqs := f.Requests()
	stop := "the build finished"
	if runErr != nil {
		stop = lastError(out)
	}
	fmt.Printf("aws plugin-driven: packer-plugin-amazon made %d requests to the double; %s\n", len(reqs), stop)
	t.Logf("packer output:\n%s", out)
	for _, c := range f.Calls("") {
		t.Log(c.Region, c.Action)
	}
	if runErr != nil {
		t.Fatal(stop)
	}
}
