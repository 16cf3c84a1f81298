package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKAffrmUgFUTvCsPYb8qcHXjf0wsM5mFBN3/z7i21mAA sindri-packer-test-run-7"

// needXorriso skips when xorriso is missing, except on CI (CI=true), which
// installs it.
func needXorriso(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xorriso"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("xorriso needed on CI: %v", err)
		}
		t.Skipf("xorriso not installed: %v", err)
	}
}

// fakeQEMU puts the test doubles of qemu-img and qemu-system-x86_64 in
// testdata/fake-qemu first on PATH (xorriso stays reachable) and returns
// the files where they record their arguments.
func fakeQEMU(t *testing.T, env ...string) (imgRecord, qemuRecord string) {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-qemu"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	rec := t.TempDir()
	imgRecord, qemuRecord = filepath.Join(rec, "qemu-img.args"), filepath.Join(rec, "qemu.args")
	t.Setenv("FAKE_QEMU_IMG_RECORD", imgRecord)
	t.Setenv("FAKE_QEMU_RECORD", qemuRecord)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return imgRecord, qemuRecord
}

// readArgs waits briefly for a fake's record and returns its arguments.
func readArgs(t *testing.T, path string) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 0 {
			return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fake did not record its arguments in %s: %v", path, err)
		}
	}
}

// launchRequest is a request for the image base.qcow2 in a fresh folder,
// with a configured accelerator so no KVM probe runs.
func launchRequest(t *testing.T) cloud.LaunchRequest {
	t.Helper()
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "  accelerator: tcg\n  memory_mb: 1024\n  cpus: 3\n")
	image := filepath.Join(dir, "base.qcow2")
	if err := os.WriteFile(image, []byte("qcow2"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "instance")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return cloud.LaunchRequest{Config: cfg, ImageID: image, RunID: "run-7", User: "sindri", PublicKey: testKey, WorkDir: work}
}

// alive reports whether a process exists (and is not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// isoFile extracts one file of an ISO with xorriso.
func isoFile(t *testing.T, iso, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/"+name, out).CombinedOutput(); err != nil {
		t.Fatalf("xorriso -extract %s: %v\n%s", name, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestWriteSeed: a NoCloud seed is an ISO labelled cidata with meta-data
// (the run's instance ID) and user-data creating the user with the key.
func TestWriteSeed(t *testing.T) {
	needXorriso(t)
	req := launchRequest(t)
	iso, err := writeSeed(t.Context(), "xorriso", req.WorkDir, req)
	if err != nil {
		t.Fatal(err)
	}
	if iso != filepath.Join(req.WorkDir, "seed.iso") {
		t.Errorf("seed at %s", iso)
	}
	// The primary volume descriptor is at 32 KiB; its volume identifier,
	// space-padded, at byte 40. cloud-init finds the seed by this label.
	f, err := os.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pvd := make([]byte, 72)
	if _, err := f.ReadAt(pvd, 32768); err != nil {
		t.Fatal(err)
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		t.Fatalf("no primary volume descriptor: % x", pvd[:8])
	}
	if label := strings.TrimRight(string(pvd[40:72]), " "); label != "cidata" {
		t.Errorf("volume label %q, want cidata", label)
	}

	var meta struct {
		InstanceID    string `yaml:"instance-id"`
		LocalHostname string `yaml:"local-hostname"`
	}
	if err := yaml.Unmarshal([]byte(isoFile(t, iso, "meta-data")), &meta); err != nil {
		t.Fatalf("meta-data: %v", err)
	}
	if meta.InstanceID != "sindri-test-run-7" || meta.LocalHostname != "sindri-test" {
		t.Errorf("meta-data = %+v", meta)
	}
	userData := isoFile(t, iso, "user-data")
	if !strings.HasPrefix(userData, "#cloud-config\n") {
		t.Errorf("user-data does not start with #cloud-config:\n%s", userData)
	}
	var user struct {
		Users []struct {
			Name string   `yaml:"name"`
			Sudo string   `yaml:"sudo"`
			Keys []string `yaml:"ssh_authorized_keys"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal([]byte(userData), &user); err != nil {
		t.Fatalf("user-data: %v\n%s", err, userData)
	}
	if len(user.Users) != 1 || user.Users[0].Name != "sindri" || user.Users[0].Sudo != "ALL=(ALL) NOPASSWD:ALL" || !slices.Equal(user.Users[0].Keys, []string{testKey}) {
		t.Errorf("user-data users = %+v", user.Users)
	}
}

// fakeXorriso is a TEST DOUBLE of xorriso that aborts as Debian's 1.5.4
// now and then does (SIGSEGV at shutdown, exit 1) on its first failures
// calls, then runs the real xorriso; it counts its calls in a file.
func fakeXorriso(t *testing.T, failures int) (path, calls string) {
	t.Helper()
	dir := t.TempDir()
	path, calls = filepath.Join(dir, "xorriso"), filepath.Join(dir, "calls")
	script := fmt.Sprintf(`#!/bin/sh
echo x >>%q
n=$(wc -l <%q)
if [ "$n" -le %d ]; then
  echo "xorriso : UPDATE : Writing to 'stdio:...' completed successfully." >&2
  echo "UNIX-SIGNAL:  SIGSEGV  errno= 0" >&2
  echo "/usr/bin/xorriso : ABORT : Trying to shut down drive and library" >&2
  exit 1
fi
exec xorriso "$@"
`, calls, calls, failures)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, calls
}

func callCount(t *testing.T, calls string) int {
	t.Helper()
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "x")
}

// One xorriso abort does not cost the image test (and so the built
// image): the seed is made again; two in a row are reported.
func TestWriteSeedRetriesAnXorrisoAbort(t *testing.T) {
	needXorriso(t)
	req := launchRequest(t)
	xorriso, calls := fakeXorriso(t, 1)
	if _, err := writeSeed(t.Context(), xorriso, req.WorkDir, req); err != nil {
		t.Fatalf("after one abort: %v", err)
	}
	if n := callCount(t, calls); n != 2 {
		t.Errorf("xorriso ran %d times, want 2", n)
	}
	if label := isoFile(t, filepath.Join(req.WorkDir, "seed.iso"), "meta-data"); !strings.Contains(label, "sindri-test-run-7") {
		t.Errorf("meta-data = %q", label)
	}

	xorriso, calls = fakeXorriso(t, 2)
	_, err := writeSeed(t.Context(), xorriso, req.WorkDir, req)
	if err == nil || !strings.Contains(err.Error(), "(2 attempts)") || !strings.Contains(err.Error(), "SIGSEGV") {
		t.Errorf("two aborts: error = %v, want the last abort after 2 attempts", err)
	}
	if n := callCount(t, calls); n != 2 {
		t.Errorf("xorriso ran %d times, want 2", n)
	}
}

func TestWriteSeedWithoutXorriso(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	req := launchRequest(t)
	_, err := writeSeed(t.Context(), "xorriso", req.WorkDir, req)
	if err == nil || !strings.Contains(err.Error(), "seed ISO (xorriso)") {
		t.Errorf("error = %v, want a seed ISO (xorriso) error", err)
	}
}

func TestLaunchErrors(t *testing.T) {
	t.Run("missing image", func(t *testing.T) {
		_, qemuRec := fakeQEMU(t)
		req := launchRequest(t)
		req.ImageID = filepath.Join(t.TempDir(), "missing.qcow2")
		_, err := Cloud{}.Launch(t.Context(), req)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), req.ImageID) {
			t.Errorf("error = %v, want one naming the image and wrapping fs.ErrNotExist", err)
		}
		if _, err := os.Stat(qemuRec); err == nil {
			t.Error("qemu started for a missing image")
		}
	})
	t.Run("qemu-img fails", func(t *testing.T) {
		_, qemuRec := fakeQEMU(t, "FAKE_QEMU_IMG_EXIT=1")
		_, err := Cloud{}.Launch(t.Context(), launchRequest(t))
		if err == nil || !strings.Contains(err.Error(), "qemu-img create") || !strings.Contains(err.Error(), "qemu-img: fake failure") {
			t.Errorf("error = %v, want a qemu-img create error with its output", err)
		}
		if _, err := os.Stat(qemuRec); err == nil {
			t.Error("qemu started without an overlay")
		}
	})
	t.Run("qemu exits at start", func(t *testing.T) {
		needXorriso(t)
		fakeQEMU(t, "FAKE_QEMU_EXIT=1")
		inst, err := Cloud{}.Launch(t.Context(), launchRequest(t))
		if err == nil || !strings.Contains(err.Error(), "exited at start") || !strings.Contains(err.Error(), "Could not set up host forwarding rule") {
			t.Errorf("Launch = %+v, %v; want an exited at start error with qemu's stderr", inst, err)
		}
	})
}

// TestLaunchAndTerminate boots the fake qemu: an overlay over the image,
// the seed as a CD-ROM, SSH forwarded from the instance's loopback port,
// the serial console in a file; Terminate stops it.
func TestLaunchAndTerminate(t *testing.T) {
	needXorriso(t)
	imgRec, qemuRec := fakeQEMU(t)
	req := launchRequest(t)
	// A relative image path: qemu-img resolves -b against the overlay's
	// folder, so it must be given an absolute one.
	t.Chdir(filepath.Dir(req.ImageID))
	req.ImageID = filepath.Base(req.ImageID)
	inst, err := Cloud{}.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := inst.Handle.(*running)
	if !ok {
		t.Fatalf("handle %T", inst.Handle)
	}
	pid := h.cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })

	overlay := filepath.Join(req.WorkDir, "overlay.qcow2")
	seed := filepath.Join(req.WorkDir, "seed.iso")
	serial := filepath.Join(req.WorkDir, "serial.log")
	if inst.ID != fmt.Sprintf("qemu-pid-%d", pid) || inst.Host != "127.0.0.1" || inst.Port <= 0 || inst.User != "sindri" || inst.Console != serial {
		t.Errorf("instance = %+v", inst)
	}
	wantImg := []string{"create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Join(filepath.Dir(req.WorkDir), "base.qcow2"), overlay}
	if got := readArgs(t, imgRec); !slices.Equal(got, wantImg) {
		t.Errorf("qemu-img arguments = %q\nwant %q", got, wantImg)
	}
	if _, err := os.Stat(seed); err != nil {
		t.Errorf("seed: %v", err)
	}
	want := []string{
		"-accel", "tcg", "-m", "1024", "-smp", "3",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-drive", "file=" + seed + ",media=cdrom,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", inst.Port),
		"-device", "virtio-net,netdev=n0",
		"-serial", "file:" + serial,
	}
	if got := readArgs(t, qemuRec); !slices.Equal(got, want) {
		t.Errorf("qemu arguments = %q\nwant %q", got, want)
	}
	if !alive(pid) {
		t.Fatal("qemu is not running after Launch")
	}

	start := time.Now()
	if err := (Cloud{}).Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Terminate took %s; SIGTERM should stop qemu at once", took)
	}
	if alive(pid) {
		t.Error("qemu still runs after Terminate")
	}
	// Terminate must succeed on an instance that is already gone.
	start = time.Now()
	if err := (Cloud{}).Terminate(t.Context(), inst); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("second Terminate took %s", took)
	}
}

// A qemu that ignores SIGTERM is killed after the 10 s wait.
func TestTerminateKillsAfterTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 10 s")
	}
	needXorriso(t)
	fakeQEMU(t, "FAKE_QEMU_IGNORE_TERM=1")
	inst, err := Cloud{}.Launch(t.Context(), launchRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	pid := inst.Handle.(*running).cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	start := time.Now()
	if err := (Cloud{}).Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 9*time.Second || took > 30*time.Second {
		t.Errorf("Terminate took %s, want the 10 s SIGTERM wait and then a kill", took)
	}
	if alive(pid) {
		t.Error("qemu still runs after Terminate")
	}
}

func TestTerminateNotQEMU(t *testing.T) {
	for _, inst := range []*cloud.Instance{
		{ID: "i-123"},
		{ID: "i-123", Handle: "aws handle"},
		{ID: "qemu-pid-1", Handle: (*running)(nil)},
	} {
		if err := (Cloud{}).Terminate(t.Context(), inst); err == nil || !strings.Contains(err.Error(), "not a qemu test instance") {
			t.Errorf("Terminate(%+v) = %v, want a not a qemu test instance error", inst, err)
		}
	}
}

// Launch runs qemu-img, xorriso and qemu-system-x86_64 from Env's PATH:
// the process's PATH here has none of them.
func TestLaunchFindsProgramsOnEnvPath(t *testing.T) {
	needXorriso(t)
	xorriso, _ := exec.LookPath("xorriso")
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-qemu"))
	if err != nil {
		t.Fatal(err)
	}
	req := launchRequest(t)
	t.Setenv("PATH", t.TempDir())
	c := Cloud{Env: cloud.EnvList([]string{"PATH=" + bin + string(os.PathListSeparator) + filepath.Dir(xorriso)})}
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatalf("Launch with the programs on Env's PATH only: %v", err)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
}
