package qemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
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

// FindImage returns the stored image carrying hash, if any.
func (Cloud) FindImage(_ context.Context, c *config.Config, hash string) (*cloud.Image, error) {
	dir := filepath.Join(storeDir(c), hash)
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("qemu image store: %s: %w", filepath.Join(dir, metaFile), err)
	}
	img := filepath.Join(dir, imageFile)
	if _, err := os.Stat(img); err != nil {
		return nil, fmt.Errorf("qemu image store: %s lists an image that is missing: %w", dir, err)
	}
	if !m.Deprecated.IsZero() && !m.Deprecated.After(time.Now()) {
		return nil, nil // retired: no cache hit
	}
	abs, _ := filepath.Abs(img)
	return &cloud.Image{ID: abs, Name: m.Name, ConfigHash: m.ConfigHash, Created: m.Created}, nil
}

// HashInputs adds the base image's content to the config hash: a new base
// image means a new image even when the template is unchanged.
func (Cloud) HashInputs(c *config.Config) ([]string, error) {
	q := c.Packer.Clouds.QEMU
	if q.BaseImageChecksum != "none" || strings.Contains(q.BaseImage, "://") {
		return []string{"base:" + q.BaseImage + "@" + q.BaseImageChecksum}, nil
	}
	sum, err := fileDigest(baseImagePath(c))
	if err != nil {
		return nil, fmt.Errorf("base image: %w (build one with tools/qemu-base-image.sh %s)", err, q.BaseImage)
	}
	return []string{"base:sha256:" + sum}, nil
}

func baseImagePath(c *config.Config) string {
	p := c.Packer.Clouds.QEMU.BaseImage
	if filepath.IsAbs(p) || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// fileDigest returns a file's sha256, using a "<file>.sha256" beside it
// (as tools/qemu-base-image.sh writes) when it is newer than the file.
func fileDigest(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	// The side file is only trusted as what it looks like: a small regular
	// file, not a link (a pull request could commit one to /dev/zero, or to
	// a file outside the workspace), read no further than a line.
	if side, err := os.Lstat(path + ".sha256"); err == nil && side.Mode().IsRegular() && !side.ModTime().Before(fi.ModTime()) {
		if sf, err := config.OpenRegular(path + ".sha256"); err == nil {
			data, _ := io.ReadAll(io.LimitReader(sf, 4096))
			sf.Close()
			if f := strings.Fields(string(data)); len(f) > 0 && len(f[0]) == 64 {
				return f[0], nil
			}
		}
	}
	// Never blocks on a named pipe or reads a device without end.
	f, err := config.OpenRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Prepare checks the base image, picks the accelerator, makes a one-off SSH
// key pair and a fresh output folder inside the build's work folder.
func (Cloud) Prepare(ctx context.Context, run *cloud.BuildRun) (map[string]string, func(), error) {
	c := run.Config
	q := c.Packer.Clouds.QEMU
	base := baseImagePath(c)
	if !strings.Contains(base, "://") {
		if _, err := os.Stat(base); err != nil {
			return nil, nil, fmt.Errorf("base image %s: %w (build one with tools/qemu-base-image.sh %s)", q.BaseImage, err, q.BaseImage)
		}
	}
	accel := q.Accelerator
	if accel == "auto" {
		accel = Probe(ctx, base)
	}
	key, err := sshkey.Generate(run.WorkDir, "sindri-packer-build")
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{
		"qemu_accelerator":     accel,
		"qemu_output_dir":      filepath.Join(run.WorkDir, "output"),
		"ssh_public_key":       key.Authorized,
		"ssh_private_key_file": key.PrivateFile,
	}
	// Everything lives in run.WorkDir, which the pipeline removes.
	return vars, func() {}, nil
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
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(staging, metaFile), append(data, '\n'), 0o644); err != nil {
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
