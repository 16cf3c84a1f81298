// Package atomicfiletest checks, for tests, the hazards atomicfile guards a
// file's writer against: a link planted at the old fixed temporary name
// "<file>.tmp" is not followed, and writers racing on one file all
// succeed. atomicfile's own tests and those of the files written through
// it (the manifest) share these. Only tests import it.
package atomicfiletest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// PlantedLink plants a link at path+".tmp" to a file holding "keep", then
// calls write(path); the test fails when write fails or the link's target
// changed.
func PlantedLink(t *testing.T, path string, write func(path string) error) {
	t.Helper()
	victim := filepath.Join(filepath.Dir(path), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := write(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the planted link's target was overwritten with %q", got)
	}
}

// ConcurrentWriters runs writers goroutines that each call write(i) rounds
// times, and fails the test for every writer that got an error.
func ConcurrentWriters(t *testing.T, writers, rounds int, write func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range errs {
		wg.Go(func() {
			for range rounds {
				if err := write(i); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
}
