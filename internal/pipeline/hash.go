package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// HashInputs are everything that decides what an image contains.
type HashInputs struct {
	Template      []byte            // the cloud's rendered sindri.pkr.hcl
	Scripts       map[string][]byte // provisioning scripts by name
	SindriVersion string            // resolved, never "latest"
	PackerVersion string
	PluginVersion string
	Extra         []string // target-specific inputs, e.g. the base image digest
	// Uploads are the digests of the local files the build uploads into
	// the image or runs there (see Uploads).
	Uploads []string
	// Overrides are the --var values of variables the template declares
	// for what is built (render.Overridable: sindri_version, region, ...),
	// name to value: one changes the image as much as the config would.
	Overrides map[string]string
}

// ConfigHash is the content address of an image: a sha256 over the
// rendered template, the scripts and the resolved versions. Run-specific
// values (run id, the hash itself) are Packer variables, outside the
// template bytes, so they never change it.
func ConfigHash(in HashInputs) string {
	h := sha256.New()
	field := func(name string, b []byte) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	field("template", in.Template)
	for _, n := range slices.Sorted(maps.Keys(in.Scripts)) {
		field("script:"+n, in.Scripts[n])
	}
	field("sindri", []byte(in.SindriVersion))
	field("packer", []byte(in.PackerVersion))
	field("plugin", []byte(in.PluginVersion))
	for _, e := range in.Extra {
		field("extra", []byte(e))
	}
	// Absent when nothing is uploaded, so such configs keep their hash.
	for _, u := range in.Uploads {
		field("upload", []byte(u))
	}
	// Absent without overrides too.
	for _, k := range slices.Sorted(maps.Keys(in.Overrides)) {
		field("var:"+k, []byte(in.Overrides[k]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Uploads returns one entry per local file the build copies into the
// image or runs there (build.file_uploads sources, build.sindri_archive,
// build.ansible_playbook, build.scripts), each naming its field, its path as written and
// the sha256 of its bytes, so that changing one byte of any of them
// changes the config hash. Relative paths start at the config file's
// folder, as packer (run there) resolves them. A folder contributes every
// file under it in sorted order by relative name; a symbolic link inside
// it contributes its target's text and may not lead out of the folder.
// Anything but a regular file or folder is refused without being opened,
// so a FIFO cannot block the build. The qemu base image is hashed by its
// target (a HashContributor).
func Uploads(c *config.Config) ([]string, error) {
	b := &c.Packer.Build
	type named struct{ field, path string }
	var paths []named
	for i, u := range b.FileUploads {
		paths = append(paths, named{fmt.Sprintf("packer.build.file_uploads[%d].source", i), u.Source})
	}
	paths = append(paths,
		named{"packer.build.sindri_archive", b.SindriArchive},
		named{"packer.build.ansible_playbook", b.AnsiblePlaybook})
	for i, s := range b.Scripts {
		paths = append(paths, named{fmt.Sprintf("packer.build.scripts[%d]", i), s})
	}
	var out []string
	for _, p := range paths {
		if p.path == "" {
			continue
		}
		full := p.path
		if !filepath.IsAbs(full) {
			full = filepath.Join(filepath.Dir(c.File), full)
		}
		entries, err := digestTree(full)
		if err != nil {
			return nil, fmt.Errorf("config hash: %s: %w", p.field, err)
		}
		for _, e := range entries {
			out = append(out, p.field+"\x00"+p.path+"\x00"+e)
		}
	}
	return out, nil
}

// digestTree returns "NAME\x00file:SHA256" (or "NAME\x00link:TARGET") for
// root, a file, or for every entry under root, a folder, in sorted order;
// NAME is "." for a file, else relative to root.
func digestTree(root string) ([]string, error) {
	// The path as written may be a link (a checked-in alias); what it
	// names must be a regular file or a folder.
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		sum, err := fileSHA256(real)
		if err != nil {
			return nil, err
		}
		return []string{".\x00file:" + sum}, nil
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a regular file or folder (%s)", root, fi.Mode().Type())
	}
	var out []string
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		entries, err := os.ReadDir(dir) // sorted by name
		if err != nil {
			return err
		}
		for _, e := range entries {
			p, r := filepath.Join(dir, e.Name()), filepath.ToSlash(filepath.Join(rel, e.Name()))
			switch t := e.Type(); {
			case t.IsRegular():
				sum, err := fileSHA256(p)
				if err != nil {
					return err
				}
				out = append(out, r+"\x00file:"+sum)
			case t.IsDir():
				out = append(out, r+"\x00dir")
				if err := walk(p, r); err != nil {
					return err
				}
			case t&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				if !inside(real, p) {
					return fmt.Errorf("%s: symbolic link leads out of %s", filepath.Join(root, r), root)
				}
				out = append(out, r+"\x00link:"+target)
			default:
				return fmt.Errorf("%s is not a regular file, folder or link (%s)", filepath.Join(root, r), t)
			}
		}
		return nil
	}
	if err := walk(real, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// inside reports whether the link at p resolves to a path inside root
// (itself resolved); a dangling link is not inside.
func inside(root, p string) bool {
	t, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	r, err := filepath.Rel(root, t)
	return err == nil && r != ".." && !strings.HasPrefix(r, "../")
}

// fileSHA256 hashes a regular file. It opens without blocking and without
// following a link, then checks what it opened, so a file swapped for a
// FIFO or a link after the caller's Lstat is refused, not waited on.
func fileSHA256(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode().Type())
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Overrides returns the values of vars (build --var) that set one of the
// declared variables (render.Overridable), nil when none does.
func Overrides(vars map[string]string, declared []cloud.Variable) map[string]string {
	var out map[string]string
	for _, d := range declared {
		if v, ok := vars[d.Name]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[d.Name] = v
		}
	}
	return out
}

// RunHash combines the clouds' hashes into the run's config hash.
func RunHash(perCloud map[string]string) string {
	h := sha256.New()
	for _, n := range orderedNames(perCloud) {
		fmt.Fprintf(h, "%s=%s\n", n, perCloud[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// orderedNames sorts map keys in config.Clouds order, unknown names last.
func orderedNames[V any](m map[string]V) []string {
	rank := func(n string) int {
		if i := slices.Index(config.Clouds, n); i >= 0 {
			return i
		}
		return len(config.Clouds)
	}
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return names
}
