package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile"
	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// The local image store: OUTPUT_DIR/<config-hash>/image.qcow2 plus
// image.json. A folder only counts once image.json exists, and Promote
// writes it last, so a half-copied image is never found.
const (
	imageFile = "image.qcow2"
	metaFile  = "image.json"
)

// meta is image.json.
type meta struct {
	ConfigHash    string    `json:"config_hash"`
	Name          string    `json:"name"`
	SindriVersion string    `json:"sindri_version,omitempty"`
	RunID         string    `json:"run_id"`
	Created       time.Time `json:"created"`
	Deprecated    time.Time `json:"deprecated,omitzero"`
}

// storeDir resolves output_dir relative to the config file.
func storeDir(c *config.Config) string {
	d := c.Packer.Clouds.QEMU.OutputDir
	if filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(filepath.Dir(c.File), d)
}

// readMeta reads the image.json of a store folder.
func readMeta(dir string) (meta, error) {
	path := filepath.Join(dir, metaFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return meta{}, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return meta{}, fmt.Errorf("qemu image store: %s: %w", path, err)
	}
	return m, nil
}

// writeMeta writes a store folder's image.json in one rename.
func writeMeta(dir string, m meta) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return atomicfile.Write(filepath.Join(dir, metaFile), append(data, '\n'), 0o644)
}

// FindImage returns the stored image carrying hash, if any.
func (Cloud) FindImage(_ context.Context, c *config.Config, hash string) (*cloud.Image, error) {
	dir := filepath.Join(storeDir(c), hash)
	m, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	img := filepath.Join(dir, imageFile)
	if _, err := os.Stat(img); err != nil {
		return nil, fmt.Errorf("qemu image store: %s lists an image that is missing: %w", dir, err)
	}
	if cloud.Retired(m.Deprecated, time.Now()) {
		return nil, nil // retired: no cache hit
	}
	abs, _ := filepath.Abs(img)
	return &cloud.Image{ID: abs, Name: m.Name, ConfigHash: m.ConfigHash, Created: m.Created}, nil
}

// Promote moves the built qcow2 into the store under its config hash.
func (Cloud) Promote(_ context.Context, run *cloud.BuildRun, art cloud.Artifact) (*cloud.Image, error) {
	src, err := qcow2File(run, art)
	if err != nil {
		return nil, err
	}
	store := storeDir(run.Config)
	final := filepath.Join(store, run.Hash)
	staging := filepath.Join(store, ".staging-"+run.RunID+"-"+run.Hash[:12])
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	if err := moveFile(src, filepath.Join(staging, imageFile)); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(src), ".qcow2")
	m := meta{ConfigHash: run.Hash, Name: name, SindriVersion: run.SindriVersion, RunID: run.RunID, Created: time.Now().UTC()}
	if err := writeMeta(staging, m); err != nil {
		return nil, err
	}
	// Replace an older image of the same hash (a --rebuild) in one rename.
	old := final + ".old-" + run.RunID
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return nil, err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(staging, final); err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(filepath.Join(final, imageFile))
	return &cloud.Image{ID: abs, Name: name, ConfigHash: run.Hash, Created: m.Created}, nil
}

// moveFile renames, or copies and removes across file systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(src)
}

// KeepFailed moves an image that failed its test to OUTPUT_DIR/failed/,
// outside the cache: it is never found as the image of its config hash.
func (Cloud) KeepFailed(run *cloud.BuildRun, art cloud.Artifact) (string, error) {
	src, err := qcow2File(run, art)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(storeDir(run.Config), "failed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, run.RunID+"-"+run.Hash[:12]+".qcow2")
	if err := moveFile(src, dst); err != nil {
		return "", err
	}
	abs, _ := filepath.Abs(dst)
	return abs, nil
}

// qcow2File is the image file among a qemu artifact's files; packer names
// files relative to its working folder, the config's.
func qcow2File(run *cloud.BuildRun, art cloud.Artifact) (string, error) {
	for _, f := range art.Files {
		if strings.HasSuffix(f, ".qcow2") {
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(run.Config.File), f)
			}
			return f, nil
		}
	}
	return "", fmt.Errorf("the qemu artifact has no .qcow2 file (files: %v)", art.Files)
}

// The store is also the target's image inventory, so images
// list|delete|deprecate and repave work on the local target as on a
// cloud. An image's ID is the absolute path of its qcow2; its folder is
// its config hash.

// ListImages returns the stored images, newest first. Folders without
// image.json (a promotion in progress, failed/) are not images.
func (Cloud) ListImages(_ context.Context, c *config.Config) ([]cloud.Image, error) {
	store := storeDir(c)
	entries, err := os.ReadDir(store)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("qemu image store: %w", err)
	}
	var out []cloud.Image
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		img, err := readImage(filepath.Join(store, e.Name()))
		if err != nil || img == nil {
			continue // not an image folder
		}
		out = append(out, *img)
	}
	slices.SortStableFunc(out, func(a, b cloud.Image) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// readImage reads one store folder; nil when it holds no image.
func readImage(dir string) (*cloud.Image, error) {
	m, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, imageFile)
	if _, err := os.Stat(file); err != nil {
		return nil, nil
	}
	abs, _ := filepath.Abs(file)
	return &cloud.Image{
		ID: abs, Name: m.Name, ConfigHash: m.ConfigHash, Created: m.Created, SindriVersion: m.SindriVersion,
		Region: "local", State: "available", Deprecated: m.Deprecated,
	}, nil
}

// imageDir finds the store folder of an image ID (its qcow2 path, or its
// config hash); ErrNotFound for anything outside the store.
func imageDir(c *config.Config, id string) (string, error) {
	store, _ := filepath.Abs(storeDir(c))
	dir := filepath.Join(store, id)
	if filepath.IsAbs(id) {
		dir = filepath.Dir(id)
	}
	if filepath.Dir(dir) != store || strings.HasPrefix(filepath.Base(dir), ".") {
		return "", fmt.Errorf("qemu image %s: %w in the store %s", id, cloud.ErrNotFound, store)
	}
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err != nil {
		return "", fmt.Errorf("qemu image %s: %w", id, cloud.ErrNotFound)
	}
	return dir, nil
}

// GetImage returns one stored image.
func (Cloud) GetImage(_ context.Context, c *config.Config, id string) (*cloud.Image, error) {
	dir, err := imageDir(c, id)
	if err != nil {
		return nil, err
	}
	img, err := readImage(dir)
	if err == nil && img == nil {
		err = fmt.Errorf("qemu image %s: %w", id, cloud.ErrNotFound)
	}
	return img, err
}

// DeleteImage removes an image's folder; one that is gone already is fine.
func (Cloud) DeleteImage(_ context.Context, c *config.Config, id string) error {
	dir, err := imageDir(c, id)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// image.json first: from then on the folder is no image, even if the
	// removal of the rest is interrupted.
	if err := os.Remove(filepath.Join(dir, metaFile)); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// DeprecateImage records the deprecation time in image.json; a deprecated
// image is no cache hit.
func (Cloud) DeprecateImage(_ context.Context, c *config.Config, id string, d cloud.Deprecation) error {
	dir, err := imageDir(c, id)
	if err != nil {
		return err
	}
	m, err := readMeta(dir)
	if err != nil {
		return err
	}
	m.Deprecated = d.At
	if m.Deprecated.IsZero() {
		m.Deprecated = time.Now().UTC()
	}
	return writeMeta(dir, m)
}
