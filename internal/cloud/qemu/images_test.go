package qemu

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// promote puts a fake qcow2 into the store under hash, as a build does.
func promote(t *testing.T, dir, hash string) string {
	t.Helper()
	cfg := loadQEMU(t, dir, "")
	built := filepath.Join(t.TempDir(), "sindri-"+hash[:6]+".qcow2")
	if err := os.WriteFile(built, []byte("qcow2 "+hash), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Cloud{}.Promote(t.Context(), &cloud.BuildRun{Config: cfg, RunID: "r", Hash: hash, SindriVersion: "3.0.1"}, cloud.Artifact{Files: []string{built}})
	if err != nil {
		t.Fatal(err)
	}
	return img.ID
}

func TestInventory(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	c := Cloud{}
	if imgs, err := c.ListImages(t.Context(), cfg); err != nil || len(imgs) != 0 {
		t.Fatalf("empty store: %v %v", imgs, err)
	}
	h1, h2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	first := promote(t, dir, h1)
	time.Sleep(10 * time.Millisecond)
	second := promote(t, dir, h2)
	// Not images: a staging folder, failed/, a folder without image.json.
	for _, d := range []string{".staging-x", "failed", "half"} {
		os.MkdirAll(filepath.Join(dir, "store", d), 0o755)
	}
	imgs, err := c.ListImages(t.Context(), cfg)
	if err != nil || len(imgs) != 2 || imgs[0].ID != second || imgs[1].ID != first {
		t.Fatalf("list = %+v, %v; want newest first", imgs, err)
	}
	if imgs[0].ConfigHash != h2 || imgs[0].SindriVersion != "3.0.1" || imgs[0].State != "available" {
		t.Errorf("image %+v", imgs[0])
	}
	for _, id := range []string{first, h1} { // by path or by hash
		if img, err := c.GetImage(t.Context(), cfg, id); err != nil || img.ID != first {
			t.Errorf("GetImage(%s) = %+v, %v", id, img, err)
		}
	}
	for _, id := range []string{"/etc/passwd", "../../etc", ".staging-x", "half", strings.Repeat("9", 64)} {
		if _, err := c.GetImage(t.Context(), cfg, id); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("GetImage(%s): %v, want not found", id, err)
		}
	}

	// Deprecated: listed with its time, and no longer the cache hit.
	if err := c.DeprecateImage(t.Context(), cfg, first, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if img, _ := c.GetImage(t.Context(), cfg, first); img.Deprecated.IsZero() {
		t.Error("deprecation not recorded")
	}
	if img, err := c.FindImage(t.Context(), cfg, h1); err != nil || img != nil {
		t.Errorf("a deprecated image is a cache hit: %+v %v", img, err)
	}
	if img, err := c.FindImage(t.Context(), cfg, h2); err != nil || img == nil {
		t.Errorf("the other image is no longer found: %v", err)
	}
	if err := c.DeprecateImage(t.Context(), cfg, "/elsewhere/x.qcow2", cloud.Deprecation{}); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("deprecate outside the store: %v", err)
	}

	// Deleted: gone, twice is fine, and nothing outside the store is touched.
	if err := c.DeleteImage(t.Context(), cfg, first); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(first)); !os.IsNotExist(err) {
		t.Errorf("image folder still there: %v", err)
	}
	if err := c.DeleteImage(t.Context(), cfg, first); err != nil {
		t.Errorf("second delete: %v", err)
	}
	outside := filepath.Join(dir, "keep.qcow2")
	os.WriteFile(outside, []byte("x"), 0o644)
	if err := c.DeleteImage(t.Context(), cfg, outside); err != nil {
		t.Errorf("delete outside the store: %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a file outside the store was deleted: %v", err)
	}
	if imgs, _ := c.ListImages(t.Context(), cfg); len(imgs) != 1 || imgs[0].ID != second {
		t.Errorf("after delete: %+v", imgs)
	}
}

// TestKeepFailed: a failed image leaves the build for OUTPUT_DIR/failed/,
// named after the run and hash, where the cache never looks.
func TestKeepFailed(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	run := &cloud.BuildRun{Config: cfg, RunID: "run-3", Hash: hash}
	// Packer names files relative to the config's folder.
	built := filepath.Join("work", "output", "sindri-1.qcow2")
	if err := os.MkdirAll(filepath.Join(dir, "work", "output"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, built), []byte("bad image"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Cloud{}.KeepFailed(run, cloud.Artifact{Files: []string{"work/output/sindri-1.qcow2.sha256", built}})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "store", "failed", "run-3-"+hash[:12]+".qcow2")
	if got != want {
		t.Errorf("kept at %s, want %s", got, want)
	}
	if b, err := os.ReadFile(want); err != nil || string(b) != "bad image" {
		t.Errorf("kept image: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, built)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the build output should have moved: %v", err)
	}
	if img, err := (Cloud{}).FindImage(t.Context(), cfg, hash); err != nil || img != nil {
		t.Errorf("a kept failed image is found by the cache: %+v %v", img, err)
	}
}

func TestKeepFailedErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	run := &cloud.BuildRun{Config: cfg, RunID: "run-3", Hash: hash}
	if _, err := (Cloud{}).KeepFailed(run, cloud.Artifact{Files: []string{"a.raw", "b.txt"}}); err == nil || !strings.Contains(err.Error(), "no .qcow2") {
		t.Errorf("artifact without a qcow2: %v", err)
	}
	if _, err := (Cloud{}).KeepFailed(run, cloud.Artifact{}); err == nil {
		t.Error("artifact without files: no error")
	}
	if _, err := (Cloud{}).KeepFailed(run, cloud.Artifact{Files: []string{filepath.Join(dir, "missing.qcow2")}}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing qcow2: %v, want fs.ErrNotExist", err)
	}
	// The store's folder cannot be made: a file is in the way.
	blocked := loadQEMU(t, t.TempDir(), "")
	if err := os.WriteFile(storeDir(blocked), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "x.qcow2")
	os.WriteFile(src, []byte("x"), 0o644)
	if _, err := (Cloud{}).KeepFailed(&cloud.BuildRun{Config: blocked, RunID: "r", Hash: hash}, cloud.Artifact{Files: []string{src}}); err == nil {
		t.Error("store path is a file: no error")
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("a failed keep lost the image: %v", err)
	}
}

// moveFile copies when rename cannot cross file systems: /dev/shm is
// usually a tmpfs apart from the temporary folder.
func TestMoveFileAcrossFileSystems(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "sindri-move-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	dst := filepath.Join(t.TempDir(), "image.qcow2")
	var a, b syscall.Stat_t
	if syscall.Stat(other, &a) != nil || syscall.Stat(filepath.Dir(dst), &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the same file system as the temporary folder")
	}
	src := filepath.Join(other, "image.qcow2")
	content := strings.Repeat("qcow2 bytes ", 10000)
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src, dst); err == nil {
		t.Fatal("rename crossed file systems; the copy path is not exercised")
	}
	if err := moveFile(src, dst); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(dst); err != nil || string(got) != content {
		t.Errorf("destination has %d bytes, %v; want %d", len(got), err, len(content))
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source still there after the move: %v", err)
	}
}

func TestMoveFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := moveFile(filepath.Join(dir, "missing"), filepath.Join(dir, "dst")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing source: %v", err)
	}
	// Neither rename nor copy can write the destination: the source stays.
	src := filepath.Join(dir, "src.qcow2")
	if err := os.WriteFile(src, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := moveFile(src, filepath.Join(dir, "no such folder", "dst")); err == nil {
		t.Error("destination folder missing: no error")
	}
	if b, err := os.ReadFile(src); err != nil || string(b) != "keep me" {
		t.Errorf("a failed move lost the source: %q, %v", b, err)
	}
}
