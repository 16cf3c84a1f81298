package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse checks that no input makes Parse panic, and that every
// refusal is a set of Diagnostics that say where and what.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"packer:\n  cloud: aws\n",
		"packer:\n  clouds:\n    qemu:\n    gcp: {project_id: p-123456}\n",
		"packer: {cloud: azure, subscription_id: ${AZURE_SUBSCRIPTION_ID}, resource_group: rg}\n",
		"a: &a [x]\nb: &b [*a, *a]\npacker: {cloud: qemu, build: {extensions: *b}}\n",
		"packer:\n  cloud: qemu\n  <<: {x: 1}\n  build:\n    environment: {PATH: x}\n",
		"packer:\n\tcloud: aws\n",
		"- [\n",
		"packer: {cloud: oci, shape: VM.Standard2.1, shape_config: {ocpus: 0x10}}\n",
		"name: \"$${x} ${Y:-z}\"\n---\n",
		"\xff\xfe",
		"packer: {cloud: qemu, base_image: \"file:///dev/null\", base_image_checksum: \"file:file://%zz/x\"}\n",
		"packer: {cloud: qemu, base_image_checksum: \"file:./${GITHUB_TOKEN:-x}\", output_dir: ../../..}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, dir := range []string{"ok", "err"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	opts := testOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		cfg, err := Parse("fuzz.yaml", data, opts)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("Parse took %v for %d bytes", d, len(data))
		}
		if err == nil {
			if cfg == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		if cfg != nil {
			t.Fatal("a config and an error")
		}
		var ds Diagnostics
		if !errors.As(err, &ds) {
			t.Fatalf("error is %T, want Diagnostics: %v", err, err)
		}
		if len(ds) == 0 {
			t.Fatal("empty Diagnostics")
		}
		for _, d := range ds {
			if d.File == "" || d.Message == "" {
				t.Fatalf("diagnostic without file or message: %#v", d)
			}
			if d.Line < 0 || d.Col < 0 {
				t.Fatalf("negative position: %#v", d)
			}
		}
	})
}
