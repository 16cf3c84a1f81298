package config

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// templateEnv holds the ${...} variables the init templates reference.
var templateEnv = map[string]string{
	"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
	"GCP_PROJECT_ID":        "sindri-test-123",
	"OCI_COMPARTMENT_OCID":  "ocid1.compartment.oc1..aaaaaaaatest",
	"OCI_SUBNET_OCID":       "ocid1.subnet.oc1.iad.aaaaaaaatest",
}

var refURL = regexp.MustCompile(`#\s*Ref:\s*(https://\S+)`)

func TestTemplatesLoad(t *testing.T) {
	for _, cloud := range Clouds {
		t.Run(cloud, func(t *testing.T) {
			data, err := Template(cloud)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse("sindri.yaml", data, Options{Getenv: lookup(templateEnv)})
			if err != nil {
				t.Fatalf("template does not load:\n%v", err)
			}
			if got := cfg.Selected(); len(got) != 1 || got[0] != cloud {
				t.Errorf("template selects %v, want [%s]", got, cloud)
			}
			if !bytes.Contains(data, []byte("init --cloud "+cloud)) {
				t.Errorf("template does not say how it was generated")
			}
			if n := len(refURL.FindAll(data, -1)); n < 3 {
				t.Errorf("template has %d `# Ref: https://` citations, want at least 3", n)
			}
			if cfg.Packer.Build.Profile == "" || cfg.Packer.Build.SindriVersion != "latest" {
				t.Errorf("build settings missing: %+v", cfg.Packer.Build)
			}
		})
	}
}

// Without its variables a template fails and names each one.
func TestTemplatesNeedTheirVariables(t *testing.T) {
	for _, cloud := range Clouds {
		data, err := Template(cloud)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse("sindri.yaml", data, Options{Getenv: lookup(nil)})
		var want []string
		for name := range templateEnv {
			if bytes.Contains(data, []byte("${"+name+"}")) {
				want = append(want, "environment variable "+name+" is not set")
			}
		}
		if len(want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", cloud, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: loads without %v", cloud, want)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not say %q:\n%v", cloud, w, err)
			}
		}
	}
}

func TestTemplateUnknownCloud(t *testing.T) {
	data, err := Template("vsphere")
	want := `unknown cloud "vsphere" (known: aws, azure, gcp, oci, alibaba, qemu)`
	if err == nil || err.Error() != want || data != nil {
		t.Errorf("Template(vsphere) = %d bytes, %v; want error %s", len(data), err, want)
	}
	if _, err := Template("../templates/aws"); err == nil {
		t.Error("Template accepts a path")
	}
	// A typo or upstream's other name gets the cloud meant; a far-off
	// name gets the list.
	for name, want := range map[string]string{"gpc": "gcp", "azrue": "azure", "aws2": "aws", "google": "gcp", "Oracle": "oci", "alicloud": "alibaba", "gce": "gcp", "mars": "", "vsphere": ""} {
		if got := ClosestCloud(name); got != want {
			t.Errorf("ClosestCloud(%q) = %q, want %q", name, got, want)
		}
	}
	if _, err := Template("gpc"); err == nil || err.Error() != `unknown cloud "gpc"; did you mean "gcp"?` {
		t.Errorf("Template(gpc): %v", err)
	}
}

// seedTemplates returns the seed's generated templates by cloud, from
// testdata/seed-templates.md (the seed's "Generated YAML Templates" section).
func seedTemplates(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "seed-templates.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]string{"AWS": "aws", "Azure": "azure", "GCP": "gcp", "OCI": "oci", "Alibaba Cloud": "alibaba"}
	out := map[string]string{}
	section := regexp.MustCompile("(?s)### ([A-Za-z ]+) Template \\(Generated\\)\n+```yaml\n(.*?)```")
	for _, m := range section.FindAllStringSubmatch(string(data), -1) {
		cloud, ok := headings[m[1]]
		if !ok {
			t.Fatalf("unexpected seed section %q", m[1])
		}
		out[cloud] = m[2]
	}
	if len(out) != len(headings) {
		t.Fatalf("found %d seed templates, want %d", len(out), len(headings))
	}
	return out
}

// Every citation of the seed's template is kept in ours. The one deliberate
// change: the image is Ubuntu, so the CIS benchmark is Ubuntu's.
func TestTemplatesKeepSeedCitations(t *testing.T) {
	changed := strings.NewReplacer("https://www.cisecurity.org/benchmark/amazon_linux", "https://www.cisecurity.org/benchmark/ubuntu_linux")
	for cloud, seed := range seedTemplates(t) {
		t.Run(cloud, func(t *testing.T) {
			ours, err := Template(cloud)
			if err != nil {
				t.Fatal(err)
			}
			refs := refURL.FindAllStringSubmatch(seed, -1)
			if len(refs) < 3 {
				t.Fatalf("seed template has %d citations; extraction is broken", len(refs))
			}
			for _, m := range refs {
				url := changed.Replace(m[1])
				if !bytes.Contains(ours, []byte("# Ref: "+url+"\n")) {
					t.Errorf("citation %s (seed: %s) is missing", url, m[1])
				}
			}
		})
	}
}

// testdata/seed-templates.md must stay a faithful copy of the seed.
func TestSeedTemplatesCopy(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "seed", "packer-vm-provisioning-architecture.md"))
	if err != nil {
		t.Skipf("seed document not available: %v", err)
	}
	start := bytes.Index(seed, []byte("## Generated YAML Templates"))
	end := bytes.Index(seed, []byte("## Per-Cloud Documentation Structure"))
	if start < 0 || end < start {
		t.Fatal("seed sections not found")
	}
	copied, err := os.ReadFile(filepath.Join("testdata", "seed-templates.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(seed[start:end], copied) {
		t.Error("testdata/seed-templates.md differs from the seed's Generated YAML Templates section")
	}
}
