package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile/atomicfiletest"
)

// Issue 10 item 9: the manifest was written through "<manifest>.tmp", so a
// symlink planted there was followed and two writers broke each other.
func TestManifestWriteDoesNotFollowPlantedTmpLink(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sindri-manifest.json")
	m := &Manifest{RunID: "r1", Clouds: map[string]*CloudResult{"aws": {Status: StatusPlanned}}}
	atomicfiletest.PlantedLink(t, path, m.Write)
	if got, err := ReadManifest(path); err != nil || got.RunID != "r1" {
		t.Errorf("ReadManifest = %+v, %v", got, err)
	}
}

func TestManifestConcurrentWritersAllSucceed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sindri-manifest.json")
	ms := make([]*Manifest, 6) // one per writer
	for i := range ms {
		ms[i] = &Manifest{RunID: "r", Clouds: map[string]*CloudResult{"aws": {Status: StatusPlanned}}}
	}
	atomicfiletest.ConcurrentWriters(t, len(ms), 20, func(i int) error { return ms[i].Write(path) })
	if _, err := ReadManifest(path); err != nil {
		t.Error(err)
	}
}
