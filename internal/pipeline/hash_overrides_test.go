package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// TestConfigHashCoversUserScriptBytes: the bytes of a build.scripts file
// are in the config hash like an uploaded file's (the template names the
// script, not its content), and each script is hashed, not only the first.
func TestConfigHashCoversUserScriptBytes(t *testing.T) {
	for _, name := range []string{"scripts/a.sh", "scripts/b.sh"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{"scripts/a.sh", "scripts/b.sh"} {
				p := filepath.Join(dir, n)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+n+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(t)
			cfg.File = filepath.Join(dir, "sindri.yaml")
			cfg.Packer.Build.Scripts = []string{"scripts/a.sh", "scripts/b.sh"}
			before := hashOf(t, cfg)
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho changed\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if after := hashOf(t, cfg); after == before {
				t.Fatalf("changing %s left the hash at %s", name, before)
			}
		})
	}
}

// TestConfigHashCoversOverridingVars: a --var that sets a variable the
// template declares for what is built (region, sindri_version) changes the
// hash, so the cache never takes an image built with other values; a --var
// the template does not declare for that (a credential) does not.
func TestConfigHashCoversOverridingVars(t *testing.T) {
	cfg, err := config.Parse("sindri.yaml", []byte("provider: packer\npacker:\n  cloud: aws\n"), config.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := targets.Builder("aws")
	if err != nil {
		t.Fatal(err)
	}
	field, _ := tg.Regions(cfg)
	declared := render.Overridable(cfg, tg, render.Options{SindriVersion: "3.0.1"})
	base := HashInputs{Template: []byte("tpl"), SindriVersion: "3.0.1"}
	plain := ConfigHash(base)
	for _, vars := range []map[string]string{{field: "eu-west-1"}, {"sindri_version": "3.9.9"}} {
		in := base
		in.Overrides = Overrides(vars, declared)
		if len(in.Overrides) != 1 {
			t.Fatalf("%s: %v is not an override (declared: %v)", tg.Name(), vars, declared)
		}
		if ConfigHash(in) == plain {
			t.Errorf("%s: --var %v left the hash unchanged", tg.Name(), vars)
		}
	}
	if o := Overrides(map[string]string{"some_secret": "x", "run_id": "r"}, declared); o != nil {
		t.Errorf("variables that do not decide the image were hashed: %v", o)
	}
}
