package pipeline

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Issue 10 item 9: the manifest was written through "<manifest>.tmp", so a
// symlink planted there was followed and two writers broke each other.
func TestManifestWriteDoesNotFollowPlantedTmpLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sindri-manifest.json")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{RunID: "r1", Clouds: map[string]*CloudResult{"aws": {Status: StatusPlanned}}}
	if err := m.Write(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the planted link's target was overwritten with %q", got)
	}
	if got, err := ReadManifest(path); err != nil || got.RunID != "r1" {
		t.Errorf("ReadManifest = %+v, %v", got, err)
	}
}

func TestManifestConcurrentWritersAllSucceed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sindri-manifest.json")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &Manifest{RunID: "r", Clouds: map[string]*CloudResult{"aws": {Status: StatusPlanned}}}
			for range 20 {
				if err := m.Write(path); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if _, err := ReadManifest(path); err != nil {
		t.Error(err)
	}
}
