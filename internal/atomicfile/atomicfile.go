// Package atomicfile replaces a file in one step: readers see the old
// bytes or the new ones, never a half-written file. The new bytes go to a
// temporary file created exclusively, under a random name, in the target's
// folder (so the rename stays on one file system), are synced, then
// renamed over the target. A fixed "<file>.tmp" name would let two writers
// truncate each other's file and would follow a symlink planted there.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions perm.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// O_EXCL under a random name: never an existing file or link.
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
