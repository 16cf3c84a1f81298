package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// TestBuildHelpVarsAreDeclared: every --var NAME=... in build --help's
// examples is a variable that the template of each cloud the example
// builds declares (the help showed --var region=eu-west-1 for aws and gcp,
// which packer refused: no template declared region, gcp's has zone).
func TestBuildHelpVarsAreDeclared(t *testing.T) {
	r := run(t, nil, "build", "--help")
	r.check(t, ExitOK, nil, nil)
	example := regexp.MustCompile(`(?m)^\s*sindri-packer build .*--var .*$`)
	lines := example.FindAllString(r.stdout, -1)
	if len(lines) == 0 {
		t.Fatalf("build --help has no --var example:\n%s", r.stdout)
	}
	for _, line := range lines {
		clouds := regexp.MustCompile(`--clouds (\S+)`).FindStringSubmatch(line)
		if clouds == nil {
			t.Errorf("example %q does not name its clouds", line)
			continue
		}
		for _, name := range strings.Split(clouds[1], ",") {
			data, err := config.Template(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(filepath.Join(t.TempDir(), "sindri.yaml"), data, config.Options{Getenv: func(string) (string, bool) { return "x", true }})
			if err != nil {
				t.Fatal(err)
			}
			tg, err := targets.Builder(name)
			if err != nil {
				t.Fatal(err)
			}
			declared := map[string]bool{}
			for _, v := range render.Variables(cfg, tg, render.Options{SindriVersion: "3.0.0"}) {
				declared[v.Name] = true
			}
			for _, m := range regexp.MustCompile(`--var (\w+)=`).FindAllStringSubmatch(line, -1) {
				if !declared[m[1]] {
					t.Errorf("%q: the %s template declares no variable %s", line, name, m[1])
				}
			}
		}
	}
}
