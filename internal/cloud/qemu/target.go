// Package qemu is the local target: a qcow2 image built with QEMU on this
// machine, no cloud account needed.
package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Cloud is the qemu target. It calls no API: images live in the local
// store (images.go), test instances are local QEMU processes
// (instances.go). What it cannot do (stop, start or list instances, sweep,
// check credentials, pin a region) answers cloud.ErrNotSupported, from
// cloud.Base.
type Cloud struct {
	cloud.Base
	// Tuning is unused by qemu (no API calls, no remote state to poll);
	// it exists so that every target has the same shape.
	Tuning cloud.Tuning
	// Env is the target's environment seam: the PATH qemu-img,
	// qemu-system-x86_64 and xorriso are found on (nil: the process's,
	// which the programs also inherit).
	Env cloud.Env
}

// The target's whole surface, checked by the compiler.
var _ cloud.Target = Cloud{}

func (Cloud) Name() string { return "qemu" }

// Regions: a local image has no region; "local" stands for this machine.
func (Cloud) Regions(c *config.Config) (string, []string) {
	if c == nil || c.Packer.Clouds.QEMU == nil {
		return "", nil
	}
	return "", []string{"local"}
}

// Prerequisites: QEMU runs the build and the test instance, qemu-img makes
// the test's overlay, xorriso its cloud-init seed.
func (Cloud) Prerequisites() []cloud.Prerequisite {
	const hint = "apt-get install qemu-system-x86 qemu-utils xorriso"
	return []cloud.Prerequisite{
		{Tool: "qemu-system-x86_64", Hint: hint},
		{Tool: "qemu-img", Hint: hint},
		{Tool: "xorriso", Hint: hint},
	}
}

// Local: packer's artifact is a qcow2 file that Promote moves into the
// store once the image passed its test.
func (Cloud) Local() bool { return true }

// imagePath is a local image's ID: the path of its qcow2 file (the store's
// absolute path, or the path image_id gives). Paths come from output_dir
// and image_id in sindri.yaml, so no quotes, $, ` or control characters.
var imagePath = regexp.MustCompile(`^[A-Za-z0-9._/+@:~, =-]+$`)

// ValidImageID checks a local image path.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, imagePath, "a local image path (letters, digits, space and . _ / + @ : ~ , = -)")
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

// program is the path of a host program on Env's PATH (directories that
// are not absolute are skipped, as exec does with "."); with a nil Env, or
// when it is not found there, the name, which exec looks up on the
// process's PATH as before.
func (c Cloud) program(name string) string {
	if c.Env == nil {
		return name
	}
	path, _ := c.Env.Lookup("PATH")
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return name
}
