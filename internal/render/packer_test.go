package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/internal/toolstest"
)

// realPacker finds the packer and plugins tools/install.sh installs (what
// `source tools/env.sh` puts on PATH). It skips where they are missing,
// except on CI, which installs them.
func realPacker(t *testing.T) (bin string, env []string) {
	t.Helper()
	bin = toolstest.Path(t, "bin", "packer")
	home := t.TempDir()
	return bin, []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "PACKER_PLUGIN_PATH=" + filepath.Join(toolstest.Dir(), "packer-plugins"),
		"CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1", "AWS_EC2_METADATA_DISABLED=true"}
}

// runPacker runs packer in dir with the target's offline placeholders and
// the given -var values; it returns stdout and fails on a non-zero exit.
func runPacker(t *testing.T, tg cloud.Target, dir string, vars map[string]string, args ...string) string {
	t.Helper()
	bin, env := realPacker(t)
	penv, pvars, err := tg.Placeholders(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{}
	for k, v := range pvars {
		all[k] = v
	}
	for k, v := range vars {
		all[k] = v
	}
	var vargs []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	}) {
		vargs = append(vargs, "-var", k+"="+all[k])
	}
	cmd := exec.CommandContext(t.Context(), bin, append(append([]string{args[0]}, vargs...), args[1:]...)...)
	cmd.Dir = dir
	cmd.Env = append(env, penv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("packer %s %s: %v\n%s%s", args[0], strings.Join(vargs, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// sourceRefs returns, per attribute of the template's source block, the
// variable it reads when it is exactly var.NAME.
func sourceRefs(t *testing.T, data []byte) map[string]string {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(data, "t.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	refs := map[string]string{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "source" {
			continue
		}
		for name, a := range b.Body.Attributes {
			if st, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 2 && st.Traversal.RootName() == "var" {
				refs[name] = st.Traversal[1].(hcl.TraverseAttr).Name
			}
		}
	}
	return refs
}

// TestCheckedInTemplatesTakeSeedVariables: the checked-in packer/
// templates take what the seed's workflow and `build --help` pass with
// -var (sindri_version, profile, extensions, and each cloud's region and
// machine size by the sindri.yaml field's name): the real packer accepts
// them (it refused with "Undefined -var variable"), inspect shows the
// override, and the source block reads exactly that variable.
func TestCheckedInTemplatesTakeSeedVariables(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", "packer"))
	for _, name := range config.Clouds {
		t.Run(name, func(t *testing.T) {
			cfg := exampleConfig(t, name)
			tg, err := targets.Builder(name)
			if err != nil {
				t.Fatal(err)
			}
			tpl := filepath.Join(root, name)
			vars := map[string]string{"sindri_version": "3.9.9", "profile": "minimal", "extensions": "python,rust"}
			fields := cfg.Packer.Clouds.PackerVariables(name)
			for _, v := range fields {
				vars[v.Name] = "override-" + strings.ReplaceAll(v.Name, "_", "-")
			}
			// The build region, where the config names one, is among them.
			if field, regions := tg.Regions(cfg); field != "" && len(regions) > 0 && regions[0] != "" && !slices.ContainsFunc(fields, func(v config.PackerVariable) bool { return v.Name == field }) {
				t.Errorf("the build region field %s is not a Packer variable", field)
			}
			runPacker(t, tg, t.TempDir(), vars, "validate", tpl)
			out := runPacker(t, tg, t.TempDir(), vars, "inspect", tpl)
			for k, v := range vars {
				if !strings.Contains(out, "var."+k+": \""+v+"\"") {
					t.Errorf("packer inspect does not show var.%s = %q:\n%s", k, v, out)
				}
			}
			hcl, err := os.ReadFile(filepath.Join(tpl, TemplateName))
			if err != nil {
				t.Fatal(err)
			}
			refs := sourceRefs(t, hcl)
			for _, v := range fields {
				if refs[v.Name] != v.Name {
					t.Errorf("source attribute %s does not read var.%s (reads %q)", v.Name, v.Name, refs[v.Name])
				}
			}
			for _, want := range []string{`"SINDRI_VERSION=${var.sindri_version}"`, `"SINDRI_PROFILE=${var.profile}"`, `"SINDRI_EXTENSIONS=${var.extensions}"`} {
				if !bytes.Contains(hcl, []byte(want)) {
					t.Errorf("the scripts are not given %s", want)
				}
			}
		})
	}
}

// TestUserScriptsAndChecksumValidate: a template with build.scripts and
// build.checksum_types passes the real packer validate, run where the
// build runs it (the config's folder, which the script paths start at).
func TestUserScriptsAndChecksumValidate(t *testing.T) {
	cfg := load(t, filepath.Join("testdata", "configs", "qemu.yaml"))
	if len(cfg.Packer.Build.Scripts) == 0 || len(cfg.Packer.Build.ChecksumTypes) == 0 {
		t.Fatal("the qemu golden config must set build.scripts and build.checksum_types")
	}
	files, err := Render(cfg, []string{"qemu"}, Options{SindriVersion: "3.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := Write(out, files); err != nil {
		t.Fatal(err)
	}
	tg, err := targets.Builder("qemu")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs(filepath.Dir(cfg.File))
	runPacker(t, tg, dir, nil, "validate", filepath.Join(out, "qemu"))
}
