package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/scripts"
)

var update = flag.Bool("update", false, "rewrite golden files and the checked-in packer/ templates")

// exampleEnv fills the ${...} placeholders of the init templates with the
// example values the checked-in packer/ templates are rendered with.
var exampleEnv = map[string]string{
	"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
	"GCP_PROJECT_ID":        "my-gcp-project",
	"OCI_COMPARTMENT_OCID":  "ocid1.compartment.oc1..exampleexample",
	"OCI_SUBNET_OCID":       "ocid1.subnet.oc1.iad.exampleexample",
}

// ExampleSindriVersion is the release the checked-in templates pin.
const exampleSindriVersion = "3.0.0"

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, config.Options{Getenv: lookup(exampleEnv)})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return cfg
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the renderer's output; if the change is intended run go test ./internal/render -update\n--- got:\n%s", path, got)
	}
}

// wholeGoldens are the configurations whose whole template is a golden
// file: qemu's has every build option that can go together, azure's the
// ones that cannot (no hardening, SSH keys kept). The build block does not
// depend on the cloud but for the parts ownBlocks keeps, so the other
// clouds' goldens hold those parts only.
var wholeGoldens = map[string]bool{"qemu": true, "azure": true}

// TestGolden renders one rich configuration per cloud and compares the
// template (or, see wholeGoldens, the cloud's own blocks) byte for byte.
func TestGolden(t *testing.T) {
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			cfg := load(t, filepath.Join("testdata", "configs", cloud+".yaml"))
			files, err := Render(cfg, []string{cloud}, Options{SindriVersion: cfg.Packer.Build.SindriVersion})
			if err != nil {
				t.Fatal(err)
			}
			tpl := files[0]
			if tpl.Path != filepath.Join(cloud, TemplateName) {
				t.Fatalf("first file is %s", tpl.Path)
			}
			if _, diags := hclparse.NewParser().ParseHCL(tpl.Data, tpl.Path); diags.HasErrors() {
				t.Fatalf("rendered HCL does not parse: %s", diags)
			}
			if wholeGoldens[cloud] {
				compareGolden(t, filepath.Join("testdata", "golden", cloud+".pkr.hcl"), tpl.Data)
				return
			}
			tg, err := targets.Builder(cloud)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "golden", cloud+".own.hcl"), ownBlocks(t, tpl.Data, tg, cfg))
		})
	}
}

// ownBlocks keeps what of a template depends on its target: the plugin,
// the target's variables, the source block, and from the build block the
// source it builds, the manifest's record and every SINDRI_USER (the
// target's SSH user).
func ownBlocks(t *testing.T, data []byte, tg cloud.Target, cfg *config.Config) []byte {
	t.Helper()
	f, diags := hclwrite.ParseConfig(data, "t.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	own := map[string]bool{}
	for _, v := range tg.Variables(cfg) {
		own[v.Name] = true
	}
	for _, v := range cfg.Packer.Clouds.PackerVariables(tg.Name()) {
		own[v.Name] = true
	}
	out := hclwrite.NewEmptyFile()
	add := func(b *hclwrite.Block) {
		if len(out.Body().Blocks()) > 0 {
			out.Body().AppendNewline()
		}
		out.Body().AppendBlock(b)
	}
	for _, b := range f.Body().Blocks() {
		switch {
		case b.Type() == "packer":
			for _, rp := range b.Body().Blocks() {
				add(rp)
			}
		case b.Type() == "variable" && own[b.Labels()[0]], b.Type() == "source":
			add(b)
		case b.Type() == "build":
			// The build's own lines: its source, the manifest's cloud and
			// the SSH user the scripts are given.
			kept := hclwrite.NewBlock("build", nil)
			kept.Body().SetAttributeRaw("sources", b.Body().GetAttribute("sources").Expr().BuildTokens(nil))
			text := b.BuildTokens(nil).Bytes()
			manifestCloud := regexp.MustCompile(`"cloud" += "([^"]*)"`).FindSubmatch(text)
			users := regexp.MustCompile(`SINDRI_USER=[^"]*`).FindAll(text, -1)
			kept.Body().SetAttributeValue("manifest_cloud", cty.StringVal(string(manifestCloud[1])))
			kept.Body().SetAttributeValue("sindri_users", cty.StringVal(string(bytes.Join(users, []byte(" ")))))
			add(kept)
		}
	}
	return hclwrite.Format(out.Bytes())
}

// exampleConfig is the init template of cloud with exampleEnv: the
// configuration the checked-in packer/ templates are rendered from.
func exampleConfig(t *testing.T, cloud string) *config.Config {
	t.Helper()
	data, err := config.Template(cloud)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("sindri.yaml", data, config.Options{Getenv: lookup(exampleEnv)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCheckedInTemplates keeps packer/ (the templates of the init configs)
// in sync with the generator.
func TestCheckedInTemplates(t *testing.T) {
	root := filepath.Join("..", "..", "packer")
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			cfg := exampleConfig(t, cloud)
			files, err := Render(cfg, []string{cloud}, Options{SindriVersion: exampleSindriVersion})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				compareGolden(t, filepath.Join(root, f.Path), f.Data)
			}
		})
	}
	// No stale script may linger in packer/scripts.
	entries, err := os.ReadDir(filepath.Join(root, "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := scripts.Files()[e.Name()]; !ok {
			t.Errorf("packer/scripts/%s is not a provisioning script any more; delete it", e.Name())
		}
	}
}

// TestDeterministic renders twice and across map orders: same bytes.
func TestDeterministic(t *testing.T) {
	for _, cloud := range config.Clouds {
		cfg := load(t, filepath.Join("testdata", "configs", cloud+".yaml"))
		a, _ := Render(cfg, []string{cloud}, Options{SindriVersion: "3.1.0"})
		for i := 0; i < 20; i++ {
			cfg2 := load(t, filepath.Join("testdata", "configs", cloud+".yaml"))
			b, _ := Render(cfg2, []string{cloud}, Options{SindriVersion: "3.1.0"})
			if len(a) != len(b) {
				t.Fatalf("%s: file count differs", cloud)
			}
			for j := range a {
				if a[j].Path != b[j].Path || !bytes.Equal(a[j].Data, b[j].Data) {
					t.Fatalf("%s: %s differs between two renders", cloud, a[j].Path)
				}
			}
		}
	}
}

func TestRenderUnconfiguredCloud(t *testing.T) {
	cfg := load(t, filepath.Join("testdata", "configs", "aws.yaml"))
	if _, err := Render(cfg, []string{"gcp"}, Options{SindriVersion: "1.0.0"}); err == nil {
		t.Fatal("rendering a cloud that is not configured must fail")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	cfg := load(t, filepath.Join("testdata", "configs", "qemu.yaml"))
	files, err := Render(cfg, []string{"qemu"}, Options{SindriVersion: "3.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "scripts", "install-sindri.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("scripts must be executable, got %v", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "qemu", TemplateName)); err != nil {
		t.Fatal(err)
	}
}
