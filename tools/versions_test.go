package tools_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/tools"
)

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func TestVersions(t *testing.T) {
	v := tools.Versions()
	want := map[string]string{
		"PACKER_VERSION":                     "1.9.4", // the last MPL-2.0 release
		"PACKER_MODULE":                      "github.com/hashicorp/packer",
		"PACKER_PLUGIN_AMAZON_MODULE":        "github.com/hashicorp/packer-plugin-amazon",
		"PACKER_PLUGIN_AZURE_MODULE":         "github.com/hashicorp/packer-plugin-azure",
		"PACKER_PLUGIN_GOOGLECOMPUTE_MODULE": "github.com/hashicorp/packer-plugin-googlecompute",
		"PACKER_PLUGIN_ORACLE_MODULE":        "github.com/hashicorp/packer-plugin-oracle",
		"PACKER_PLUGIN_ALICLOUD_MODULE":      "github.com/hashicorp/packer-plugin-alicloud",
		"PACKER_PLUGIN_QEMU_MODULE":          "github.com/hashicorp/packer-plugin-qemu",
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || got != w {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, w)
		}
	}
	for _, plugin := range []string{"AMAZON", "AZURE", "GOOGLECOMPUTE", "ORACLE", "ALICLOUD", "QEMU"} {
		key := "PACKER_PLUGIN_" + plugin + "_VERSION"
		if !semver.MatchString(v[key]) {
			t.Errorf("%s = %q, want X.Y.Z", key, v[key])
		}
	}
	for k, val := range v {
		if strings.HasPrefix(k, "#") || strings.ContainsAny(k, " \t") || k == "" {
			t.Errorf("bad key %q parsed", k)
		}
		if strings.ContainsAny(val, " \t\"'") {
			t.Errorf("%s = %q: values have no quotes or spaces", k, val)
		}
	}
}

// TestVersionsMatchesFile reads versions.env independently and checks the
// embedded copy says the same: every KEY=value line, comments ignored.
func TestVersionsMatchesFile(t *testing.T) {
	f, err := os.Open("versions.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("versions.env: %q is not KEY=value", line)
			continue
		}
		want[k] = val
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	got := tools.Versions()
	if len(got) != len(want) {
		t.Errorf("Versions has %d keys, versions.env %d", len(got), len(want))
	}
	for k, val := range want {
		if got[k] != val {
			t.Errorf("Versions()[%s] = %q, versions.env says %q", k, got[k], val)
		}
	}
}

func TestVersionsReturnsFreshMap(t *testing.T) {
	v := tools.Versions()
	v["PACKER_VERSION"] = "0.0.0"
	if got := tools.PackerVersion(); got != "1.9.4" {
		t.Errorf("PackerVersion = %q after a caller changed its map", got)
	}
}

func TestPackerVersion(t *testing.T) {
	if got := tools.PackerVersion(); got != "1.9.4" {
		t.Errorf("PackerVersion = %q, want 1.9.4", got)
	}
}

func TestPluginVersion(t *testing.T) {
	v := tools.Versions()
	for _, plugin := range []string{"amazon", "azure", "googlecompute", "oracle", "alicloud", "qemu"} {
		want := v["PACKER_PLUGIN_"+strings.ToUpper(plugin)+"_VERSION"]
		if got := tools.PluginVersion(plugin); got != want || want == "" {
			t.Errorf("PluginVersion(%q) = %q, want %q", plugin, got, want)
		}
	}
	if got := tools.PluginVersion("Amazon"); got != v["PACKER_PLUGIN_AMAZON_VERSION"] {
		t.Errorf("PluginVersion is case-sensitive: %q", got)
	}
}

func TestPluginVersionPanicsForUnknownPlugin(t *testing.T) {
	for _, plugin := range []string{"", "vsphere", "amazon_version", "AMAZON_MODULE"} {
		t.Run(plugin, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("PluginVersion(%q) did not panic", plugin)
				}
				if msg, _ := r.(string); !strings.Contains(msg, "no pinned version") {
					t.Errorf("panic %v", r)
				}
			}()
			tools.PluginVersion(plugin)
		})
	}
}

// TestEveryTargetPluginIsPinned: tools/install.sh builds exactly the plugins
// versions.env lists, so a target whose plugin is missing there could not
// run. (This external test package may import internal packages; package
// tools itself must not, see TestToolsImportsNoInternalPackage.)
func TestEveryTargetPluginIsPinned(t *testing.T) {
	v := tools.Versions()
	for _, b := range targets.Builders() {
		p := b.Plugin()
		t.Run(b.Name(), func(t *testing.T) {
			upper := strings.ToUpper(p.Name)
			ver, ok := v["PACKER_PLUGIN_"+upper+"_VERSION"]
			if !ok {
				t.Fatalf("versions.env has no PACKER_PLUGIN_%s_VERSION", upper)
			}
			if p.Version != ver {
				t.Errorf("Plugin().Version = %q, versions.env pins %q", p.Version, ver)
			}
			mod, ok := v["PACKER_PLUGIN_"+upper+"_MODULE"]
			if !ok {
				t.Fatalf("versions.env has no PACKER_PLUGIN_%s_MODULE", upper)
			}
			if !strings.HasSuffix(mod, "/packer-plugin-"+p.Name) {
				t.Errorf("PACKER_PLUGIN_%s_MODULE = %q does not build packer-plugin-%s", upper, mod, p.Name)
			}
			if p.Source != "github.com/hashicorp/"+p.Name {
				t.Errorf("Plugin().Source = %q, want github.com/hashicorp/%s", p.Source, p.Name)
			}
		})
	}
}

// TestToolsImportsNoInternalPackage keeps package tools at the bottom of the
// import graph: every cloud package imports it.
func TestToolsImportsNoInternalPackage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/sindri-dev/sindri-packer/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
