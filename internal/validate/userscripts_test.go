package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// TestUserScriptsAreShellchecked: validate lints the config's own
// build.scripts (the .sh ones) at severity warning, each finding at the
// script as sindri.yaml names it; a clean script and a non-shell one
// give none, and the rendered template with them passes packer validate.
func TestUserScriptsAreShellchecked(t *testing.T) {
	packerBin, sc, env := tools(t)
	dir := t.TempDir()
	files := map[string]string{
		"scripts/setup.sh": "#!/bin/bash\nunused=1\n",
		"scripts/clean.sh": "#!/bin/bash\nset -euo pipefail\necho \"clean $HOME\"\n",
		"scripts/tool.py":  "#!/usr/bin/env python3\nprint('not a shell script')\n",
		"sindri.yaml":      "provider: packer\npacker:\n  cloud: qemu\n  build:\n    scripts: [scripts/clean.sh, scripts/setup.sh, scripts/tool.py]\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := loadConfig(t, filepath.Join(dir, "sindri.yaml"))
	findings, err := Run(t.Context(), Options{Targets: targets.Builders(), Config: cfg, Clouds: []string{"qemu"}, Packer: packerBin, Shellcheck: sc, HostEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	var user []Finding
	for _, f := range findings {
		if strings.Contains(f.File, "scripts/setup.sh") || strings.Contains(f.File, "clean.sh") || strings.Contains(f.File, "tool.py") {
			user = append(user, f)
			continue
		}
		t.Errorf("unexpected finding: %s", f)
	}
	if len(user) != 1 || user[0].File != "scripts/setup.sh" || user[0].Line != 2 || user[0].Tool != "shellcheck" || !strings.Contains(user[0].Message, "SC2034") {
		t.Fatalf("want one SC2034 at scripts/setup.sh:2, got %+v", user)
	}
}
