package validate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile"
	"github.com/sindri-dev/sindri-packer/internal/render"
)

// resultCache remembers the findings of checks whose result depends only
// on the bytes checked and the tool binary (packer fmt, shellcheck), so a
// repeated validate of unchanged files does not run them again. packer
// validate is never cached: its result depends on installed plugins too.
type resultCache struct {
	dir string // "" disables the cache
}

func newResultCache(dir string) resultCache {
	if dir == "" {
		return resultCache{}
	}
	return resultCache{dir: filepath.Join(dir, "sindri-packer", "validate")}
}

// key hashes a tool's identity (path, size, modification time) and the
// files it checks.
func (c resultCache) key(tool string, files []render.File, filter func(string) bool) string {
	h := sha256.New()
	if fi, err := os.Stat(tool); err == nil {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", tool, fi.Size(), fi.ModTime().UnixNano())
	} else {
		fmt.Fprintf(h, "%s\x00", tool)
	}
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b render.File) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	for _, f := range sorted {
		if filter(f.Path) {
			fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Data))
			h.Write(f.Data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// do returns the cached findings for key, or runs fn and stores what it
// returns when it succeeds.
func (c resultCache) do(key string, fn func() ([]Finding, error)) ([]Finding, error) {
	if c.dir == "" {
		return fn()
	}
	path := filepath.Join(c.dir, key+".json")
	if data, err := os.ReadFile(path); err == nil {
		var fs []Finding
		if json.Unmarshal(data, &fs) == nil {
			return fs, nil
		}
	}
	fs, err := fn()
	if err != nil {
		return nil, err
	}
	if data, err := json.Marshal(fs); err == nil {
		// A cache that cannot be written only costs time.
		if os.MkdirAll(c.dir, 0o755) == nil {
			_ = atomicfile.Write(path, data, 0o644)
		}
	}
	return fs, nil
}
