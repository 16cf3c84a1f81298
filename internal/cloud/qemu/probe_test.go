package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeRemembersItsAnswer: the probe's answer is kept per host boot.
func TestProbeRemembersItsAnswer(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		if got := (Cloud{}).Probe(t.Context(), "whatever.qcow2"); got != "tcg" {
			t.Fatalf("without /dev/kvm: %s", got)
		}
		return
	} else {
		f.Close()
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if got := (Cloud{}).Probe(t.Context(), "https://example.invalid/base.qcow2"); got != "kvm" {
		t.Errorf("remote base image with /dev/kvm: %s", got)
	}
	os.WriteFile(probeCacheFile(), []byte("kvm\n"), 0o644)
	if got := (Cloud{}).Probe(t.Context(), "/nonexistent.qcow2"); got != "kvm" {
		t.Errorf("cached answer ignored: %s", got)
	}
	os.Remove(probeCacheFile())
	// No bootable image: the probe answers tcg and remembers it.
	if got := (Cloud{}).Probe(t.Context(), filepath.Join(t.TempDir(), "missing.qcow2")); got != "tcg" {
		t.Errorf("unbootable image: %s", got)
	}
	if b, _ := os.ReadFile(probeCacheFile()); strings.TrimSpace(string(b)) != "tcg" {
		t.Errorf("answer not remembered: %q", b)
	}
}
