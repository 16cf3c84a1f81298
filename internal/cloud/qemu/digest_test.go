package qemu

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fileDigest never blocks on a base image or side file that is not a
// regular file, and never trusts a side file that is a link: a pull request
// can commit "<base>.sha256" as a link to /dev/zero (read without end) or to
// a file outside the workspace.
func TestFileDigestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	if err := os.WriteFile(base, []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	const real = "6b7d0c3a4a5d86a2ad9f4b0d3f5e7c8a1b2c3d4e5f60718293a4b5c6d7e8f901"
	fifo := filepath.Join(dir, "pipe.qcow2")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	linked := filepath.Join(dir, "linked.qcow2")
	if err := os.WriteFile(linked, []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", linked+".sha256"); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "sum")
	if err := os.WriteFile(outside, []byte(real+"  base\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, base+".sha256"); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	_ = os.Chtimes(outside, later, later)

	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := fileDigest(fifo); err == nil {
			t.Error("a named pipe as base image was hashed")
		}
		sum, err := fileDigest(linked)
		if err != nil || sum == "" {
			t.Errorf("linked side file: %q, %v (want the image's own digest)", sum, err)
		}
		sum, err = fileDigest(base)
		if err != nil || sum == real {
			t.Errorf("a side file that is a link was trusted: %q, %v", sum, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("fileDigest blocked on a named pipe or read /dev/zero without end")
	}
}
