package targets

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/qemu"
)

// The qemu target calls no API: its harness is a temporary local image
// store, and no Fake (the fault tests skip). Launch runs the test doubles
// of qemu-img and qemu-system-x86_64 in internal/cloud/qemu/testdata
// through the target's Env, with the real xorriso; without xorriso the
// launch test skips.
func init() {
	harnesses["qemu"] = func(t *testing.T) cloudtest.Harness {
		store := filepath.Join(t.TempDir(), "store")
		h := cloudtest.Harness{
			Target:    qemu.Cloud{},
			Config:    cloudtest.Load(t, "packer:\n  cloud: qemu\n  accelerator: tcg\n  output_dir: "+store+"\n"),
			SeedImage: func(name, hash string, created time.Time) string { return seedQEMUImage(t, store, name, hash, created) },
		}
		if xorriso, err := exec.LookPath("xorriso"); err == nil {
			bin, _ := filepath.Abs(filepath.Join("..", "cloud", "qemu", "testdata", "fake-qemu"))
			path := bin + string(os.PathListSeparator) + filepath.Dir(xorriso)
			h.Target = qemu.Cloud{Env: cloud.EnvList([]string{"PATH=" + path})}
			h.Launch = &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaFAKE conformance", WorkDir: t.TempDir()}
		}
		return h
	}
}

// seedQEMUImage writes a stored image as Promote leaves it:
// STORE/<config-hash>/image.qcow2 and image.json.
func seedQEMUImage(t *testing.T, store, name, hash string, created time.Time) string {
	t.Helper()
	dir := filepath.Join(store, hash)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "image.qcow2")
	if err := os.WriteFile(file, []byte("qcow2 "+name), 0o644); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string]any{"config_hash": hash, "name": name, "run_id": "run-seed", "created": created.UTC()})
	if err := os.WriteFile(filepath.Join(dir, "image.json"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
