package scripts

// Behaviour tests of install-sindri.sh, run on the host against a local
// release server. Everything the script writes stays in the test's temp
// folders: SINDRI_INSTALL_DIR (the install record lives beside it, in
// <install dir>/../share/sindri-packer), SINDRI_USER_HOME and TMPDIR.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testVersion = "3.0.1"

// releaseArch is the asset architecture install-sindri.sh picks on this host.
func releaseArch(t *testing.T) string {
	t.Helper()
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	t.Skipf("install-sindri.sh has no release for %s", runtime.GOARCH)
	return ""
}

// testArchive builds a TEST-DOUBLE release archive: a gzipped tar holding
// testdata/sindri-test-double (a shell script printing "sindri 3.0.1") as
// member, e.g. "sindri" or "sindri-v3.0.1/sindri".
func testArchive(t *testing.T, member string) []byte {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("testdata", "sindri-test-double"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if dir := filepath.Dir(member); dir != "." {
		if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: member, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// releaseServer serves files by path and records every request.
type releaseServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	requests []string
}

func newReleaseServer(t *testing.T, files map[string][]byte) *releaseServer {
	t.Helper()
	s := &releaseServer{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.URL.Path)
		body, ok := s.files[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// take returns the requests seen since the last call.
func (s *releaseServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// sindriHost is one host's temp folders for install-sindri.sh.
type sindriHost struct {
	prefix, bin, stamp, home, tmp string
	env                           map[string]string
}

func newSindriHost(t *testing.T, baseURL string) *sindriHost {
	t.Helper()
	need(t, "curl")
	need(t, "tar")
	need(t, "sha256sum")
	root := t.TempDir()
	h := &sindriHost{
		prefix: filepath.Join(root, "prefix"),
		home:   filepath.Join(root, "home"),
		tmp:    filepath.Join(root, "tmp"),
	}
	h.bin = filepath.Join(h.prefix, "bin", "sindri")
	h.stamp = filepath.Join(h.prefix, "share", "sindri-packer", "sindri.install")
	curlHome := filepath.Join(root, "curl")
	for _, d := range []string{h.prefix, h.home, h.tmp, curlHome} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The script retries every failed download 5 times with back-off (31 s
	// for a 404). curl's config file cannot lower --retry, but it can cap
	// the time spent retrying, which the command line leaves unset.
	if err := os.WriteFile(filepath.Join(curlHome, ".curlrc"), []byte("retry-max-time = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.env = map[string]string{
		"HOME":                    h.home,
		"TMPDIR":                  h.tmp,
		"CURL_HOME":               curlHome,
		"SINDRI_RELEASE_BASE_URL": baseURL,
		"SINDRI_VERSION":          testVersion,
		"SINDRI_INSTALL_DIR":      filepath.Join(h.prefix, "bin"),
		"SINDRI_USER_HOME":        h.home,
		"SINDRI_USER":             currentUser(t),
	}
	return h
}

func (h *sindriHost) run(t *testing.T, extra map[string]string) result {
	t.Helper()
	env := map[string]string{}
	for k, v := range h.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	r := runScript(t, "install-sindri.sh", env)
	// The script's work folder is always removed.
	if left, _ := os.ReadDir(h.tmp); len(left) != 0 {
		t.Errorf("install-sindri.sh left %d entries in TMPDIR", len(left))
	}
	return r
}

// assertInstalled checks the binary, the install record and the user dirs.
func (h *sindriHost) assertInstalled(t *testing.T, archiveSHA string) {
	t.Helper()
	fi, err := os.Stat(h.bin)
	if err != nil {
		t.Fatalf("not installed: %v", err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("%s mode %v, want 0755", h.bin, fi.Mode().Perm())
	}
	out, err := exec.CommandContext(t.Context(), h.bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "sindri "+testVersion {
		t.Errorf("installed sindri --version = %q, %v", out, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(h.bin))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("install dir holds %q, want only sindri (no staged leftovers)", names)
	}
	bin, _ := os.ReadFile(h.bin)
	stamp, err := os.ReadFile(h.stamp)
	if err != nil {
		t.Fatalf("no install record: %v", err)
	}
	if want := testVersion + " " + archiveSHA + " " + sha256Hex(bin) + "\n"; string(stamp) != want {
		t.Errorf("install record %q, want %q", stamp, want)
	}
	for _, d := range []string{".sindri", ".sindri/state", ".sindri/extensions", ".sindri/cache"} {
		fi, err := os.Stat(filepath.Join(h.home, d))
		if err != nil || !fi.IsDir() {
			t.Errorf("~/%s not created: %v", d, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(h.home, ".sindri", "state")); err == nil && fi.Mode().Perm() != 0o700 {
		t.Errorf("~/.sindri/state mode %v, want 0700", fi.Mode().Perm())
	}
}

// assertNothingInstalled checks the prefix and the home stayed empty.
func (h *sindriHost) assertNothingInstalled(t *testing.T) {
	t.Helper()
	for _, dir := range []string{h.prefix, h.home} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s is not empty after a failed install: %d entries", dir, len(entries))
		}
	}
}

// releaseFiles are the files of one release on the test server.
func releaseFiles(t *testing.T, version, member string) (files map[string][]byte, archivePath, archiveSHA string) {
	t.Helper()
	name := "sindri-v" + version + "-linux-" + releaseArch(t) + ".tar.gz"
	archive := testArchive(t, member)
	archiveSHA = sha256Hex(archive)
	archivePath = "/releases/v" + version + "/" + name
	return map[string][]byte{
		archivePath:             archive,
		archivePath + ".sha256": []byte(archiveSHA + "  " + name + "\n"),
	}, archivePath, archiveSHA
}

func TestInstallSindriDownload(t *testing.T) {
	files, archive, sum := releaseFiles(t, testVersion, "sindri")
	srv := newReleaseServer(t, files)
	h := newSindriHost(t, srv.URL+"/releases/")

	r := h.run(t, nil)
	if r.code != 0 {
		t.Fatalf("install failed: %s", r)
	}
	h.assertInstalled(t, sum)
	if got, want := srv.take(), []string{archive + ".sha256", archive}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	if !strings.Contains(r.stdout, "checksum verified ("+sum+")") {
		t.Errorf("no checksum log line:\n%s", r)
	}

	// The second run finds the verified install and skips it.
	before, _ := os.Stat(h.bin)
	r = h.run(t, nil)
	if r.code != 0 {
		t.Fatalf("second run failed: %s", r)
	}
	if !strings.Contains(r.stdout, "already installed and verified; skipping install") {
		t.Errorf("second run did not skip:\n%s", r)
	}
	if got, want := srv.take(), []string{archive + ".sha256"}; !slices.Equal(got, want) {
		t.Errorf("second run requests %q, want only the checksum %q", got, want)
	}
	after, _ := os.Stat(h.bin)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("second run replaced the binary")
	}
	h.assertInstalled(t, sum)
}

// TestInstallSindriReinstallsAChangedBinary: the skip needs the binary to be
// byte-identical to what was installed, not just to report the version.
func TestInstallSindriReinstallsAChangedBinary(t *testing.T) {
	files, archive, sum := releaseFiles(t, testVersion, "sindri")
	srv := newReleaseServer(t, files)
	h := newSindriHost(t, srv.URL+"/releases")
	if r := h.run(t, map[string]string{"SINDRI_SHA256": sum}); r.code != 0 {
		t.Fatalf("install failed: %s", r)
	}
	srv.take()
	if err := os.WriteFile(h.bin, []byte("#!/bin/sh\necho sindri 3.0.1 # tampered\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := h.run(t, map[string]string{"SINDRI_SHA256": sum})
	if r.code != 0 {
		t.Fatalf("reinstall failed: %s", r)
	}
	if strings.Contains(r.stdout, "skipping install") {
		t.Errorf("skipped although the binary changed:\n%s", r)
	}
	if got := srv.take(); !slices.Equal(got, []string{archive}) {
		t.Errorf("requests %q, want the archive again", got)
	}
	h.assertInstalled(t, sum)
}

func TestInstallSindriArchiveLayouts(t *testing.T) {
	for _, member := range []string{"sindri", "sindri-v3.0.1-linux/sindri"} {
		t.Run(member, func(t *testing.T) {
			files, _, sum := releaseFiles(t, testVersion, member)
			srv := newReleaseServer(t, files)
			h := newSindriHost(t, srv.URL+"/releases")
			// A leading v is accepted and stripped.
			if r := h.run(t, map[string]string{"SINDRI_VERSION": "v" + testVersion}); r.code != 0 {
				t.Fatalf("install failed: %s", r)
			}
			h.assertInstalled(t, sum)
		})
	}
}

func TestInstallSindriUploadedArchive(t *testing.T) {
	files, archive, sum := releaseFiles(t, testVersion, "sindri")
	srv := newReleaseServer(t, files)
	h := newSindriHost(t, srv.URL+"/releases")
	upload := filepath.Join(t.TempDir(), "sindri-v3.0.1-linux-"+releaseArch(t)+".tar.gz")
	if err := os.WriteFile(upload, files[archive], 0o644); err != nil {
		t.Fatal(err)
	}

	r := h.run(t, map[string]string{"SINDRI_ARCHIVE": upload, "SINDRI_SHA256": strings.ToUpper(sum)})
	if r.code != 0 {
		t.Fatalf("install failed: %s", r)
	}
	h.assertInstalled(t, sum)
	if got := srv.take(); len(got) != 0 {
		t.Errorf("an offline install made requests %q", got)
	}
	if !strings.Contains(r.stdout, "using uploaded archive "+upload) {
		t.Errorf("no log line for the uploaded archive:\n%s", r)
	}
}

func TestInstallSindriRefuses(t *testing.T) {
	files, archive, sum := releaseFiles(t, testVersion, "sindri")
	// 3.0.2's archive holds a binary that reports 3.0.1.
	wrong, wrongArchive, wrongSum := releaseFiles(t, "3.0.2", "sindri")
	for k, v := range wrong {
		files[k] = v
	}
	notADigest := "/releases/v3.0.3/sindri-v3.0.3-linux-" + releaseArch(t) + ".tar.gz"
	files[notADigest] = files[archive]
	files[notADigest+".sha256"] = []byte("<html>not found</html>\n")
	noSum := "/releases/v3.0.4/sindri-v3.0.4-linux-" + releaseArch(t) + ".tar.gz"
	files[noSum] = files[archive]

	tests := []struct {
		name     string
		env      map[string]string
		message  string
		requests []string
	}{
		{
			name:     "wrong SINDRI_SHA256",
			env:      map[string]string{"SINDRI_SHA256": strings.Repeat("0", 64)},
			message:  "checksum mismatch for sindri-v3.0.1-linux-" + releaseArch(t) + ".tar.gz: expected " + strings.Repeat("0", 64) + ", got " + sum + "; nothing installed",
			requests: []string{archive},
		},
		{
			name:     "missing .sha256",
			env:      map[string]string{"SINDRI_VERSION": "3.0.4"},
			message:  "SINDRI_SHA256 is unset; refusing to install an unverified binary",
			requests: []string{noSum + ".sha256"}, // the archive is never fetched
		},
		{
			name:     ".sha256 without a digest",
			env:      map[string]string{"SINDRI_VERSION": "3.0.3"},
			message:  "does not contain a sha256 digest; refusing to install an unverified binary",
			requests: []string{notADigest + ".sha256"},
		},
		{
			name:    "latest",
			env:     map[string]string{"SINDRI_VERSION": "latest"},
			message: "SINDRI_VERSION must be a concrete version like 3.0.1 (got 'latest')",
		},
		{
			name:    "no version",
			env:     map[string]string{"SINDRI_VERSION": ""},
			message: "SINDRI_VERSION is required",
		},
		{
			name:    "malformed SINDRI_SHA256",
			env:     map[string]string{"SINDRI_SHA256": "abc"},
			message: "SINDRI_SHA256 is not a sha256 hex digest",
		},
		{
			name:    "non-http base URL",
			env:     map[string]string{"SINDRI_RELEASE_BASE_URL": "file:///etc"},
			message: "SINDRI_RELEASE_BASE_URL must be an http(s) URL",
		},
		{
			name:    "missing uploaded archive",
			env:     map[string]string{"SINDRI_ARCHIVE": "/nonexistent/sindri.tar.gz", "SINDRI_SHA256": sum},
			message: "SINDRI_ARCHIVE=/nonexistent/sindri.tar.gz does not exist",
		},
		{
			name:     "binary reports another version",
			env:      map[string]string{"SINDRI_VERSION": "3.0.2", "SINDRI_SHA256": wrongSum},
			message:  "archive binary does not report version 3.0.2 (sindri --version: sindri 3.0.1)",
			requests: []string{wrongArchive},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the failed downloads wait for curl's retry
			srv := newReleaseServer(t, files)
			h := newSindriHost(t, srv.URL+"/releases")
			r := h.run(t, tc.env)
			if r.code == 0 {
				t.Fatalf("install succeeded: %s", r)
			}
			if !strings.Contains(r.stderr, "[install-sindri.sh] ERROR: ") || !strings.Contains(r.stderr, tc.message) {
				t.Errorf("stderr lacks %q:\n%s", tc.message, r)
			}
			h.assertNothingInstalled(t)
			// curl retries a failed download; only which files were asked for counts.
			if got := slices.Compact(srv.take()); !slices.Equal(got, tc.requests) {
				t.Errorf("requests %q, want %q", got, tc.requests)
			}
		})
	}
}
