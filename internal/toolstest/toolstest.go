// Package toolstest finds, for tests, the toolchain tools/install.sh
// installs (what `source tools/env.sh` puts on PATH): packer, its pinned
// plugins, and the host tools beside them. Where one is missing the test is
// skipped, saying so; on CI (CI=true), which installs them and must run
// those tests, it fails. Only tests import it.
package toolstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is SINDRI_TOOLS_DIR, else .tools at the repository root, as an
// absolute path.
func Dir() string {
	dir := os.Getenv("SINDRI_TOOLS_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", ".tools")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// Packer returns the packer binary and the plugin folder below Dir; the
// test needs both.
func Packer(t testing.TB) (bin, plugins string) {
	t.Helper()
	return Path(t, "bin", "packer"), Path(t, "packer-plugins")
}

// Path returns the path below Dir made of elem; the test needs it.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir()}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Missing(t, err)
	}
	return p
}

// LookPath returns the program on PATH; the test needs it.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, err)
	}
	return p
}

// Missing skips the test because a tool is missing (err says which), or
// fails it on CI.
func Missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("tools needed on CI: %v (run tools/install.sh)", err)
	}
	t.Skipf("tools not installed (%v): run tools/install.sh", err)
}
