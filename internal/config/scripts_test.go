package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildScriptsConfinedToTheWorkspace: with Options.Root (the Action's
// workspace) a build.scripts path that leads out of it is refused at its
// line, like every other file the build uploads.
func TestBuildScriptsConfinedToTheWorkspace(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "steal.sh")
	writeFile(t, secret, "#!/bin/sh\necho canary-secret\n")
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "ok.sh"), "#!/bin/sh\n")
	cfgPath := filepath.Join(ws, "sindri.yaml")
	data := "packer:\n  cloud: qemu\n  build:\n    scripts:\n      - ok.sh\n      - " + secret + "\n"
	writeFile(t, cfgPath, data)
	_, err := Load(cfgPath, Options{Getenv: lookup(testEnv), Root: ws})
	got := diagnostics(t, err).Error()
	want := cfgPath + ":6:9: packer.build.scripts[1]: " + secret + " is outside the workspace"
	if !strings.Contains(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Contains(got, "scripts[0]") || strings.Contains(got, "canary-secret") {
		t.Errorf("wrong script refused, or its content echoed: %s", got)
	}
}

// TestBuildScriptsAndChecksumTypesAsOneString: both lists may be written
// "a,b" like the other list fields; order is kept (scripts run in it).
func TestBuildScriptsAndChecksumTypesAsOneString(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.sh", "a.sh"} {
		writeFile(t, filepath.Join(dir, n), "#!/bin/sh\n")
	}
	cfgPath := filepath.Join(dir, "sindri.yaml")
	data := "packer:\n  cloud: qemu\n  build:\n    scripts: b.sh,a.sh\n    checksum_types: sha256,md5\n"
	writeFile(t, cfgPath, data)
	cfg, err := Load(cfgPath, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Packer.Build
	if !slices.Equal(b.Scripts, []string{"b.sh", "a.sh"}) || !slices.Equal(b.ChecksumTypes, []string{"sha256", "md5"}) {
		t.Errorf("scripts %q, checksum_types %q", b.Scripts, b.ChecksumTypes)
	}
}

// TestPackerVariablesAreTheVarTaggedFields: each cloud block offers its
// build region and machine size as Packer variables, with the configured
// values; unset fields (OCI's region by default) are not offered.
func TestPackerVariablesAreTheVarTaggedFields(t *testing.T) {
	cfg, err := Parse("sindri.yaml", []byte("packer:\n  clouds:\n    aws: {region: eu-west-1}\n    gcp: {project_id: my-project}\n    qemu: {}\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	names := func(cloud string) (out []string) {
		for _, v := range cfg.Packer.Clouds.PackerVariables(cloud) {
			out = append(out, v.Name+"="+v.Value)
		}
		return out
	}
	if got, want := names("aws"), []string{"region=eu-west-1", "instance_type=t3.large"}; !slices.Equal(got, want) {
		t.Errorf("aws: %q, want %q", got, want)
	}
	if got, want := names("gcp"), []string{"project_id=my-project", "zone=us-west1-a", "machine_type=e2-standard-4"}; !slices.Equal(got, want) {
		t.Errorf("gcp: %q, want %q", got, want)
	}
	if got := names("qemu"); got != nil {
		t.Errorf("qemu: %q, want none", got)
	}
	if got := names("azure"); got != nil {
		t.Errorf("a cloud without a block: %q", got)
	}
}
