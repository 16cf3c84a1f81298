package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// The local store as an image inventory, so images list|delete|deprecate
// and repave work on the local target as on a cloud. An image's ID is the
// absolute path of its qcow2; its folder is its config hash.

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
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("qemu image store: %s: %w", filepath.Join(dir, metaFile), err)
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
	path := filepath.Join(dir, metaFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("qemu image store: %s: %w", path, err)
	}
	m.Deprecated = d.At
	if m.Deprecated.IsZero() {
		m.Deprecated = time.Now().UTC()
	}
	out, _ := json.MarshalIndent(m, "", "  ")
	return atomicfile.Write(path, append(out, '\n'), 0o644)
}
