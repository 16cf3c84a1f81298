package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile"
	"github.com/sindri-dev/sindri-packer/internal/atomicfile/atomicfiletest"
)

func TestWriteReplacesAndLeavesNoTemporaryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.json")
	for _, data := range []string{"first\n", "second\n"} {
		if err := atomicfile.Write(p, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != data {
			t.Errorf("file holds %q, want %q", got, data)
		}
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v (%v), want 0640", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only the file", len(ents))
	}
}

// A symlink planted at the old fixed name "<file>.tmp" is not followed.
func TestWriteIgnoresPlantedTmpSymlink(t *testing.T) {
	t.Parallel()
	atomicfiletest.PlantedLink(t, filepath.Join(t.TempDir(), "m.json"), func(p string) error {
		return atomicfile.Write(p, []byte("new"), 0o644)
	})
}

// Writers racing on one file all succeed and the file is one writer's
// whole bytes.
func TestWriteConcurrentWriters(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "m.json")
	atomicfiletest.ConcurrentWriters(t, 8, 20, func(i int) error {
		return atomicfile.Write(p, []byte{byte('a' + i), '\n'}, 0o644)
	})
	if got, _ := os.ReadFile(p); len(got) != 2 || got[1] != '\n' {
		t.Errorf("file holds %q, want one writer's bytes", got)
	}
}
