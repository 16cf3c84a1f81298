// Package e2e runs sindri-packer as a user would, end to end: the real
// binary, real Packer, real QEMU. The tests need qemu and take minutes, so
// they run only with SINDRI_E2E=1 (tools/test.sh sets it).
package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func requireE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("SINDRI_E2E") != "1" {
		t.Skip("end-to-end test: set SINDRI_E2E=1 to run it (needs qemu and the tools from tools/install.sh; takes minutes)")
	}
}

// binary builds sindri-packer once per test binary.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sindri-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sindri-packer")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/sindri-packer")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// toolsDir is where tools/install.sh put the toolchain: SINDRI_TOOLS_DIR,
// or .tools at the module root.
func toolsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("SINDRI_TOOLS_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot(t), ".tools")
}

// packerMissing is why dir holds no packer binary, or nil.
func packerMissing(dir string) error {
	_, err := os.Stat(filepath.Join(dir, "bin", "packer"))
	return err
}

// toolsEnv is PATH and PACKER_PLUGIN_PATH for the installed toolchain.
func toolsEnv(t *testing.T) []string {
	t.Helper()
	dir := toolsDir(t)
	if err := packerMissing(dir); err != nil {
		t.Fatalf("packer is not installed in %s: run tools/install.sh", dir)
	}
	return []string{
		"PATH=" + filepath.Join(dir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PACKER_PLUGIN_PATH=" + filepath.Join(dir, "packer-plugins"),
	}
}

// baseImage returns the cached Debian 12 base image, building it with
// tools/qemu-base-image.sh when missing (the script skips the work when
// its cached output matches).
func baseImage(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SINDRI_BASE_IMAGE")
	if path == "" {
		path = filepath.Join(repoRoot(t), ".cache", "base", "debian-12-base.qcow2")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "tools", "qemu-base-image.sh"), path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tools/qemu-base-image.sh %s: %v", path, err)
	}
	return path
}

// The TEST DOUBLE of a Sindri release: upstream archives cannot be
// downloaded here, so a local server publishes a tiny `sindri` script in
// the real archive layout (sindri-v<version>-linux-<arch>.tar.gz plus its
// .sha256), and the image build exercises the real download-and-verify
// path of install-sindri.sh against it.
const fakeSindriVersion = "3.0.1"

const fakeSindri = `#!/bin/sh
# TEST DOUBLE of the sindri CLI, served by sindri-packer's end-to-end test.
# It is not Sindri: it prints a version and records installs.
case "$1" in
  --version|version) echo "sindri ` + fakeSindriVersion + ` (test double)" ;;
  profile|extension)
    [ "$2" = install ] || { echo "test double: unsupported: $*" >&2; exit 2; }
    mkdir -p "$HOME/.sindri/state"
    echo "$1 $3" >> "$HOME/.sindri/state/installed"
    echo "installed $1 $3 (test double)" ;;
  *) echo "test double: unsupported: $*" >&2; exit 2 ;;
esac
`

type releaseServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits []string
}

func (s *releaseServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

func fakeRelease(t *testing.T) *releaseServer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "sindri", Mode: 0o755, Size: int64(len(fakeSindri))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(fakeSindri))
	tw.Close()
	gz.Close()
	archive := buf.Bytes()
	sum := sha256.Sum256(archive)
	name := "sindri-v" + fakeSindriVersion + "-linux-x86_64.tar.gz"
	files := map[string][]byte{
		"/v" + fakeSindriVersion + "/" + name:             archive,
		"/v" + fakeSindriVersion + "/" + name + ".sha256": []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n"),
	}
	s := &releaseServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.URL.Path)
		s.mu.Unlock()
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// guestURL is the server's address as a QEMU guest with user networking
// sees it: 10.0.2.2 is the host's loopback.
func guestURL(s *releaseServer) string {
	return strings.Replace(s.URL, "127.0.0.1", "10.0.2.2", 1)
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, dir string, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// processesMentioning lists live processes whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// builtImage is a link to the image TestQEMUBuildThenCached built, kept
// in keepDir (removed by TestMain) for the tests that only need an image to
// boot: the build test's own folder is gone when it ends.
var (
	builtImage string
	keepDir    string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sindri-e2e-keep-")
	if err != nil {
		panic(err)
	}
	keepDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// fakeInSpecEnv puts the TEST DOUBLE of inspec (internal/verify/testdata)
// first on PATH: InSpec cannot be installed here (no RubyGems), so the
// InSpec stage runs the real orchestration against a double that checks
// its arguments and writes a real-schema report for mode.
func fakeInSpecEnv(t *testing.T, mode string) []string {
	t.Helper()
	bin := t.TempDir()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "verify", "testdata", "fake-inspec"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "inspec"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	env := toolsEnv(t)
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + bin + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	return append(env,
		"FAKE_INSPEC_MODE="+mode,
		"FAKE_INSPEC_REPORTS="+filepath.Join(repoRoot(t), "internal", "verify", "testdata", "reports"))
}
