package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NotRegularError is a path that names something other than a regular
// file: a folder, a named pipe, a device or a socket. Opening a named pipe
// blocks until a writer comes, and reading a device may never end, so
// paths are checked with Stat before anything opens them.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, kindOfMode(e.Mode))
}

func kindOfMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a file"
}

// CheckRegular reports an error unless path (after symlinks) is a regular
// file. It never opens the path.
func CheckRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return nil
}

// OpenRegular opens a regular file for reading, refusing anything else
// without blocking: the path is checked with Stat first, and opened
// non-blocking (where the system has it) so a named pipe swapped in after
// the check cannot hang the open either; the open file is checked again.
// Callers that read user-named paths (hashing an upload, say) should use
// it instead of os.Open.
func OpenRegular(path string) (*os.File, error) {
	if err := CheckRegular(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OutsideError is a path that leads out of the folder it is confined to.
type OutsideError struct {
	Path string // as given
	Real string // after symlinks
	Root string
}

func (e *OutsideError) Error() string {
	if e.Real != "" && e.Real != e.Path {
		return fmt.Sprintf("%s leads to %s, outside the workspace %s", e.Path, e.Real, e.Root)
	}
	return fmt.Sprintf("%s is outside the workspace %s", e.Path, e.Root)
}

// Confine resolves path (relative to the current folder) with every
// symlink followed and returns it, or an *OutsideError when it is not root
// or inside root. A path that does not exist is resolved as far as it
// exists, so a missing file is judged by the folder it would be in.
func Confine(root, path string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("workspace %s: %w", root, err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := resolveExisting(abs)
	if err != nil {
		return "", err
	}
	if !within(realRoot, real) {
		return "", &OutsideError{Path: path, Real: real, Root: root}
	}
	return real, nil
}

// resolveExisting follows the symlinks of the longest existing prefix of
// an absolute path and appends the rest as written (cleaned).
func resolveExisting(abs string) (string, error) {
	var rest []string
	p := abs
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscallENOTDIR) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// pathErrText is an open or stat error without Go's "open PATH:" prefix
// doubling the file name a diagnostic already carries.
func pathErrText(err error) string {
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return "this is " + kindOfMode(nr.Mode) + ", not a regular file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
