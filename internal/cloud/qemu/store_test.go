package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

func loadQEMU(t *testing.T, dir, extra string) *config.Config {
	t.Helper()
	file := filepath.Join(dir, "sindri.yaml")
	body := "provider: packer\npacker:\n  cloud: qemu\n  base_image: base.qcow2\n  output_dir: store\n" + extra
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, config.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestPromoteThenFind: a built qcow2 moves into the store under its hash,
// and only then is it found by the build cache.
func TestPromoteThenFind(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	c := Cloud{}
	if img, err := c.FindImage(t.Context(), cfg, hash); err != nil || img != nil {
		t.Fatalf("empty store: %v %v", img, err)
	}
	built := filepath.Join(dir, "work", "output", "sindri-20260101000000.qcow2")
	os.MkdirAll(filepath.Dir(built), 0o755)
	os.WriteFile(built, []byte("qcow2 bytes"), 0o644)
	run := &cloud.BuildRun{Config: cfg, RunID: "run-1", Hash: hash, SindriVersion: "3.0.1"}
	img, err := c.Promote(t.Context(), run, cloud.Artifact{Files: []string{built}})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "store", hash, "image.qcow2")
	if img.ID != want || img.Name != "sindri-20260101000000" || img.ConfigHash != hash {
		t.Errorf("promoted %+v", img)
	}
	if _, err := os.Stat(built); !os.IsNotExist(err) {
		t.Errorf("the build output should have moved: %v", err)
	}
	found, err := c.FindImage(t.Context(), cfg, hash)
	if err != nil || found == nil || found.ID != want || found.Name != img.Name {
		t.Fatalf("find after promote: %+v %v", found, err)
	}
	meta, _ := os.ReadFile(filepath.Join(dir, "store", hash, "image.json"))
	if !strings.Contains(string(meta), `"sindri_version": "3.0.1"`) || !strings.Contains(string(meta), `"run_id": "run-1"`) {
		t.Errorf("image.json: %s", meta)
	}
	// Promoting again (a --rebuild) replaces the image in place.
	os.WriteFile(built, []byte("newer"), 0o644)
	run.RunID = "run-2"
	if _, err := c.Promote(t.Context(), run, cloud.Artifact{Files: []string{built}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(want); string(b) != "newer" {
		t.Errorf("rebuild did not replace the image: %q", b)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "store"))
	if len(entries) != 1 {
		t.Errorf("store should hold only the hash folder, has %v", entries)
	}
}

func TestPromoteErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	run := &cloud.BuildRun{Config: cfg, RunID: "r", Hash: hash}
	if _, err := (Cloud{}).Promote(t.Context(), run, cloud.Artifact{Files: []string{"x.txt"}}); err == nil {
		t.Error("an artifact without a qcow2 must fail")
	}
	if _, err := (Cloud{}).Promote(t.Context(), run, cloud.Artifact{Files: []string{"missing.qcow2"}}); err == nil {
		t.Error("a missing qcow2 must fail")
	}
	if _, err := os.Stat(filepath.Join(dir, "store", hash)); !os.IsNotExist(err) {
		t.Error("a failed promotion must not register an image")
	}
}

func TestFindImageDamagedStore(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	os.MkdirAll(filepath.Join(dir, "store", hash), 0o755)
	os.WriteFile(filepath.Join(dir, "store", hash, "image.json"), []byte("{"), 0o644)
	if _, err := (Cloud{}).FindImage(t.Context(), cfg, hash); err == nil {
		t.Error("unreadable image.json must be an error")
	}
	os.WriteFile(filepath.Join(dir, "store", hash, "image.json"), []byte(`{"config_hash":"x"}`), 0o644)
	if _, err := (Cloud{}).FindImage(t.Context(), cfg, hash); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("image.json without its qcow2: %v", err)
	}
}

// TestHashInputs: the base image's content is part of the config hash; a
// fresh .sha256 beside it is trusted, a stale one is not.
func TestHashInputs(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	if _, err := (Cloud{}).HashInputs(cfg); err == nil || !strings.Contains(err.Error(), "qemu-base-image.sh") {
		t.Fatalf("missing base image: %v", err)
	}
	base := filepath.Join(dir, "base.qcow2")
	os.WriteFile(base, []byte("base v1"), 0o644)
	sum := sha256.Sum256([]byte("base v1"))
	got, err := (Cloud{}).HashInputs(cfg)
	if err != nil || len(got) != 1 || got[0] != "base:sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("computed digest: %v %v", got, err)
	}
	os.WriteFile(base+".sha256", []byte(strings.Repeat("a", 64)+"  base.qcow2\n"), 0o644)
	if got, _ := (Cloud{}).HashInputs(cfg); got[0] != "base:sha256:"+strings.Repeat("a", 64) {
		t.Errorf("fresh sidecar not used: %v", got)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(base+".sha256", old, old)
	if got, _ := (Cloud{}).HashInputs(cfg); got[0] != "base:sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("stale sidecar used: %v", got)
	}
	// A checksum or URL in the config is its own identity.
	cfg2 := loadQEMU(t, t.TempDir(), "  base_image_checksum: sha256:"+strings.Repeat("b", 64)+"\n")
	if got, _ := (Cloud{}).HashInputs(cfg2); !strings.Contains(got[0], "@sha256:bbbb") {
		t.Errorf("configured checksum: %v", got)
	}
}

// TestPrepare: a one-off ed25519 key pair, the output folder inside the
// build's work folder, and the configured accelerator.
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "  accelerator: tcg\n")
	work := t.TempDir()
	run := &cloud.BuildRun{Config: cfg, RunID: "r", Hash: hash, WorkDir: work}
	if _, _, err := (Cloud{}).Prepare(t.Context(), run); err == nil {
		t.Fatal("a missing base image must fail before packer starts")
	}
	os.WriteFile(filepath.Join(dir, "base.qcow2"), []byte("x"), 0o644)
	vars, cleanup, err := (Cloud{}).Prepare(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if vars["qemu_accelerator"] != "tcg" || vars["qemu_output_dir"] != filepath.Join(work, "output") {
		t.Errorf("vars %v", vars)
	}
	keyFile := vars["ssh_private_key_file"]
	if !strings.HasPrefix(keyFile, work) {
		t.Errorf("the key must live in the work folder (removed after the build): %s", keyFile)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	pemBytes, _ := os.ReadFile(keyFile)
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(vars["ssh_public_key"]))
	if err != nil || pub.Type() != "ssh-ed25519" || string(pub.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Errorf("public key does not match the private key: %v", err)
	}
	// A second run gets a different key.
	work2 := t.TempDir()
	run.WorkDir = work2
	vars2, _, _ := (Cloud{}).Prepare(t.Context(), run)
	if vars2["ssh_public_key"] == vars["ssh_public_key"] {
		t.Error("keys must be one-off")
	}
}

// TestProbeRemembersItsAnswer: the probe's answer is kept per host boot.
func TestProbeRemembersItsAnswer(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		if got := Probe(t.Context(), "whatever.qcow2"); got != "tcg" {
			t.Fatalf("without /dev/kvm: %s", got)
		}
		return
	} else {
		f.Close()
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if got := Probe(t.Context(), "https://example.invalid/base.qcow2"); got != "kvm" {
		t.Errorf("remote base image with /dev/kvm: %s", got)
	}
	os.WriteFile(probeCacheFile(), []byte("kvm\n"), 0o644)
	if got := Probe(t.Context(), "/nonexistent.qcow2"); got != "kvm" {
		t.Errorf("cached answer ignored: %s", got)
	}
	os.Remove(probeCacheFile())
	// No bootable image: the probe answers tcg and remembers it.
	if got := Probe(t.Context(), filepath.Join(t.TempDir(), "missing.qcow2")); got != "tcg" {
		t.Errorf("unbootable image: %s", got)
	}
	if b, _ := os.ReadFile(probeCacheFile()); strings.TrimSpace(string(b)) != "tcg" {
		t.Errorf("answer not remembered: %q", b)
	}
}
