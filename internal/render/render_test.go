package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/sindri-dev/sindri-packer/internal/config"
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

// TestGolden renders one rich configuration per cloud and compares the
// template byte for byte.
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
			compareGolden(t, filepath.Join("testdata", "golden", cloud+".pkr.hcl"), tpl.Data)
		})
	}
}

// TestCheckedInTemplates keeps packer/ (the templates of the init configs)
// in sync with the generator.
func TestCheckedInTemplates(t *testing.T) {
	root := filepath.Join("..", "..", "packer")
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			data, err := config.Template(cloud)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse("sindri.yaml", data, config.Options{Getenv: lookup(exampleEnv)})
			if err != nil {
				t.Fatal(err)
			}
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
