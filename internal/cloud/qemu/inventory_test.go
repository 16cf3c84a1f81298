package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

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
