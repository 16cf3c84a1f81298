// Package plugintest runs the real, pinned HashiCorp Packer plugins
// against the cloud test doubles: the second, independent client that
// proves our doubles (and so our clients) right. It holds what every
// cloud's plugin suite shares: finding the tools, rendering our template
// with no communicator, running `packer build`, reading its last error.
// Only tests import it; it is its own package because it renders (render
// imports every cloud, whose own tests import cloudtest).
package plugintest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cli"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// Tools returns packer and the plugin folder tools/install.sh made
// (SINDRI_TOOLS_DIR, else .tools at the repository root). Without them the
// test skips, saying so; in CI (CI=true) it fails, because CI must run the
// plugin-driven suites.
func Tools(t *testing.T, plugin string) (packer, plugins string) {
	t.Helper()
	dir := os.Getenv("SINDRI_TOOLS_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", ".tools")
	}
	packer, plugins = filepath.Join(dir, "bin", "packer"), filepath.Join(dir, "packer-plugins")
	matches, _ := filepath.Glob(filepath.Join(plugins, "github.com", "hashicorp", plugin, "packer-plugin-"+plugin+"_v*"))
	if _, err := os.Stat(packer); err != nil || len(matches) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("packer or packer-plugin-%s missing under %s: CI must run the plugin-driven suite (tools/install.sh)", plugin, dir)
		}
		t.Skipf("packer or packer-plugin-%s not installed under %s (run tools/install.sh): the plugin-driven suite did not run", plugin, dir)
	}
	return packer, plugins
}

// Template renders yaml's template for the target name into dir and
// returns its path. The source gets communicator "none" (no SSH to a real
// machine is possible here) and the attributes in set; the provisioners
// go, since they need a communicator. Nothing else changes: the plugin
// reads the template a real build runs.
func Template(t *testing.T, yaml, name, dir, sindriVersion string, set map[string]cty.Value) string {
	t.Helper()
	files, err := render.Render(cloudtest.Load(t, yaml), []string{name}, render.Options{SindriVersion: sindriVersion})
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
			data = withoutCommunicator(t, data, set)
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

func withoutCommunicator(t *testing.T, src []byte, set map[string]cty.Value) []byte {
	t.Helper()
	f, diags := hclwrite.ParseConfig(src, "sindri.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body().Blocks() {
		switch b.Type() {
		case "source":
			b.Body().SetAttributeValue("communicator", cty.StringVal("none"))
			b.Body().RemoveAttribute("ssh_username")
			b.Body().RemoveAttribute("ssh_timeout")
			for k, v := range set {
				b.Body().SetAttributeValue(k, v)
			}
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

// Build is one `packer build -machine-readable` of a template.
type Build struct {
	Packer, Plugins string
	Template        string
	// Dir is the run's home and temporary folder; the manifest lands in it.
	Dir string
	// Env is added to the minimal environment every run gets (PATH, HOME,
	// TMPDIR, PACKER_PLUGIN_PATH, no checkpoint calls): the double's
	// endpoint or proxy, test credentials.
	Env []string
	// Vars are -var values; manifest_path is set to Dir/manifest.json.
	Vars map[string]string
	// Timeout bounds the run (default 4 minutes).
	Timeout time.Duration
}

// Run runs the build and returns the manifest path, packer's combined
// output and its error.
func (b Build) Run(t *testing.T) (manifest, out string, err error) {
	t.Helper()
	manifest = filepath.Join(b.Dir, "manifest.json")
	timeout := b.Timeout
	if timeout == 0 {
		timeout = 4 * time.Minute
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	args := []string{"build", "-machine-readable", "-var", "manifest_path=" + manifest}
	for k, v := range b.Vars {
		args = append(args, "-var", k+"="+v)
	}
	cmd := exec.CommandContext(ctx, b.Packer, append(args, b.Template)...)
	cmd.Dir = filepath.Dir(b.Template)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + b.Dir, "TMPDIR=" + b.Dir,
		"PACKER_PLUGIN_PATH=" + b.Plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
	}, b.Env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	return manifest, buf.String(), err
}

// LastError is the last line of packer's output that speaks of an error,
// cut to 300 bytes: where the plugin stopped.
func LastError(out string) string {
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

// Run runs sindri-packer in-process with env, fails the test on a non-zero
// exit and returns what it printed (stdout then stderr).
func Run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli.Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Environ: env, Context: t.Context()}
	if code := c.Main(append([]string{"sindri-packer"}, args...)); code != 0 {
		t.Fatalf("sindri-packer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

// CommandEnv is Run's environment on the state the plugin changed: the
// double's own environment (our client talks to it directly), a home and
// packer on PATH.
func CommandEnv(f cloudtest.Fake, dir, packer string) []string {
	env := []string{"HOME=" + dir, "TMPDIR=" + dir, "PATH=" + filepath.Dir(packer) + ":" + os.Getenv("PATH"),
		"CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1"}
	for k, v := range f.Env() {
		env = append(env, k+"="+v)
	}
	return env
}

// DryRun runs `build --dry-run` with the manifest at dir/name and returns
// the result of the target called cloud: its config hash, and the cached
// image when there is one.
func DryRun(t *testing.T, env []string, cfg, dir, name, cloud string) *pipeline.CloudResult {
	t.Helper()
	m := filepath.Join(dir, name)
	Run(t, env, "build", "-c", cfg, "--dry-run", "--manifest", m)
	man, err := pipeline.ReadManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	r := man.Clouds[cloud]
	if r == nil || r.ConfigHash == "" {
		t.Fatalf("build --dry-run: no %s result with a config hash in %+v", cloud, man.Clouds)
	}
	return r
}
