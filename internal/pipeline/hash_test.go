package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// uploadConfig is a config in dir whose build uploads a playbook, an
// archive and two file_uploads sources, all present with some content.
func uploadConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	for name, data := range map[string]string{
		"site.yml":          "- hosts: all\n",
		"sindri.tar.gz":     "archive bytes",
		"files/motd":        "hello\n",
		"files/limits.conf": "* soft nofile 4096\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t)
	cfg.File = filepath.Join(dir, "sindri.yaml")
	b := &cfg.Packer.Build
	b.AnsiblePlaybook = "site.yml"
	b.SindriArchive = "sindri.tar.gz"
	b.FileUploads = []config.FileUpload{{Source: "files/motd", Destination: "/etc/motd"}, {Source: "files/limits.conf", Destination: "/etc/security/limits.conf"}}
	return cfg
}

func hashOf(t *testing.T, cfg *config.Config) string {
	t.Helper()
	up, err := Uploads(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ConfigHash(HashInputs{Template: []byte("tpl"), SindriVersion: "3.0.1", Uploads: up})
}

// TestConfigHashCoversUploadedFileBytes: one byte changed in any file the
// build uploads or runs changes the config hash (the old hash covered only
// the template, which names these files but not their bytes).
func TestConfigHashCoversUploadedFileBytes(t *testing.T) {
	for _, name := range []string{"site.yml", "sindri.tar.gz", "files/motd", "files/limits.conf"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := uploadConfig(t, dir)
			before := hashOf(t, cfg)
			p := filepath.Join(dir, name)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[0] ^= 1
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if after := hashOf(t, cfg); after == before {
				t.Fatalf("changing one byte of %s left the hash at %s", name, before)
			}
		})
	}
}

// TestConfigHashWithoutUploadsIsUnchanged: a config that uploads nothing
// keeps the hash it had, so no image is rebuilt for nothing.
func TestConfigHashWithoutUploadsIsUnchanged(t *testing.T) {
	in := HashInputs{Template: []byte("tpl"), SindriVersion: "3.0.1"}
	up, err := Uploads(testConfig(t))
	if err != nil || len(up) != 0 {
		t.Fatalf("uploads of a config without any: %q, %v", up, err)
	}
	with := in
	with.Uploads = up
	if ConfigHash(in) != ConfigHash(with) {
		t.Fatal("an empty upload list changed the hash")
	}
}

// TestUploadFolderIsWalkedInOrder: a folder contributes each file by its
// relative name, so a change deep inside, a rename or a new file changes
// the hash, while the same tree made in another order does not.
func TestUploadFolderIsWalkedInOrder(t *testing.T) {
	mk := func(order []string) (string, *config.Config) {
		dir := t.TempDir()
		for _, n := range order {
			p := filepath.Join(dir, "tree", n)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("content of "+filepath.Base(n)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg := testConfig(t)
		cfg.File = filepath.Join(dir, "sindri.yaml")
		cfg.Packer.Build.FileUploads = []config.FileUpload{{Source: "tree", Destination: "/opt/tree"}}
		return dir, cfg
	}
	dirA, a := mk([]string{"b/two", "a/one", "c"})
	_, b := mk([]string{"c", "a/one", "b/two"})
	ha := hashOf(t, a)
	if hb := hashOf(t, b); ha != hb {
		t.Fatal("the same tree hashed differently")
	}
	if err := os.WriteFile(filepath.Join(dirA, "tree", "b", "two"), []byte("content of twO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if hashOf(t, a) == ha {
		t.Fatal("a changed file deep in an uploaded folder left the hash unchanged")
	}
	if err := os.Rename(filepath.Join(dirA, "tree", "c"), filepath.Join(dirA, "tree", "d")); err != nil {
		t.Fatal(err)
	}
	if hashOf(t, a) == ha {
		t.Fatal("a renamed file left the hash unchanged")
	}
}

// TestUploadsRefuseWhatCannotBeHashed: a FIFO is refused at once (never
// opened, so never waited on), and a link out of an uploaded folder is
// refused instead of followed; both errors name the field.
func TestUploadsRefuseWhatCannotBeHashed(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	cfg := testConfig(t)
	cfg.File = filepath.Join(dir, "sindri.yaml")
	cfg.Packer.Build.AnsiblePlaybook = "fifo.yml"
	done := make(chan error, 1)
	go func() { _, err := Uploads(cfg); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "packer.build.ansible_playbook") || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("want a refusal naming the field, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hashing blocked on a FIFO")
	}

	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tree"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "tree", "link")); err != nil {
		t.Fatal(err)
	}
	cfg.Packer.Build.AnsiblePlaybook = ""
	cfg.Packer.Build.FileUploads = []config.FileUpload{{Source: "tree", Destination: "/opt/tree"}}
	if _, err := Uploads(cfg); err == nil || !strings.Contains(err.Error(), "file_uploads[0].source") || !strings.Contains(err.Error(), "leads out of") {
		t.Fatalf("want a refused link naming the field, got %v", err)
	}
}

// hashCache is a target whose cache holds exactly the hashes it was given:
// a lookup hits only when the config hash matches.
type hashCache struct {
	nullTarget
	hashes map[string]bool
}

func (h hashCache) FindImage(_ context.Context, _ *config.Config, hash string) (*cloud.Image, error) {
	if !h.hashes[hash] {
		return nil, nil
	}
	return &cloud.Image{ID: "img-old", ConfigHash: hash}, nil
}

// TestChangedPlaybookIsNoCacheHit: the image built before a playbook edit
// is not reused after it (before the fix the old image was "cached").
func TestChangedPlaybookIsNoCacheHit(t *testing.T) {
	dir := t.TempDir()
	cache := hashCache{nullTarget: nullTarget{name: "a"}, hashes: map[string]bool{}}
	o := Options{
		Config:        uploadConfig(t, dir),
		Clouds:        []string{"a"},
		Targets:       map[string]cloud.Target{"a": cache},
		Render:        renderOwn,
		RunID:         "test-run",
		SindriVersion: "3.0.1",
		PackerVersion: "1.9.4",
		WorkDir:       t.TempDir(),
		DryRun:        true, // stops after the cache lookup: no packer needed
	}
	m, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	built := m.Clouds["a"].ConfigHash
	cache.hashes[built] = true // the image this config built
	if m, _ = Run(t.Context(), o); m.Clouds["a"].Status != StatusCached {
		t.Fatalf("unchanged config must hit the cache: %+v", m.Clouds["a"])
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yml"), []byte("- hosts: all\n  tasks: [{shell: id}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Clouds["a"]; r.Status == StatusCached || r.ConfigHash == built {
		t.Fatalf("changed playbook reused the old image: %+v", r)
	}
}
