package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQEMUBuildInterrupted sends SIGINT while packer provisions the VM: the
// run ends with the cloud recorded as cancelled, and no qemu, packer or
// temporary file remains.
func TestQEMUBuildInterrupted(t *testing.T) {
	base, rel, work, tmp := qemuWorkspace(t)
	cfg := "provider: packer\npacker:\n  cloud: qemu\n  base_image: " + base + "\n  output_dir: images\n  disk_size_gb: 4\n" +
		"  build:\n    sindri_version: " + fakeSindriVersion + "\n    sindri_release_url: " + guestURL(rel) + "\n    ssh_timeout: 30m\n"
	if err := os.WriteFile(filepath.Join(work, "sindri.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "build", "--clouds", "qemu", "--grace", "3m")
	cmd.Dir = work
	cmd.Env = append(toolsEnv(t), "HOME="+work, "TMPDIR="+tmp)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	interrupted := time.Time{}
	var seen []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		seen = append(seen, line)
		if interrupted.IsZero() && strings.Contains(line, "Provisioning with shell script") {
			interrupted = time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if interrupted.IsZero() {
		t.Fatalf("the build never reached provisioning:\n%s", tail(strings.Join(seen, "\n"), 40))
	}
	t.Logf("exited %s after the interrupt", time.Since(interrupted))
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1 after an interrupt, got %v\n%s", err, tail(strings.Join(seen, "\n"), 30))
	}
	m := readManifest(t, filepath.Join(work, "sindri-manifest.json"))
	if q := m.Clouds["qemu"]; q.Status != "cancelled" {
		t.Errorf("qemu status %q (%s), want cancelled", q.Status, q.Error)
	}
	if procs := processesMentioning(work); len(procs) > 0 {
		t.Errorf("processes left behind: %v", procs)
	}
	assertEmpty(t, tmp)
	if entries, _ := os.ReadDir(filepath.Join(work, "images")); len(entries) > 0 {
		t.Errorf("an interrupted build put something in the image store: %v", entries)
	}
}

// TestQEMUImageTestInterrupted interrupts `test` while it waits for the
// instance's SSH: the instance, its overlay and the one-off key are gone.
func TestQEMUImageTestInterrupted(t *testing.T) {
	requireE2E(t)
	if builtImage == "" {
		t.Skip("needs the image TestQEMUBuildThenCached builds")
	}
	work := t.TempDir()
	tmp := filepath.Join(work, "tmp")
	os.MkdirAll(tmp, 0o755)
	cfg := "provider: packer\npacker:\n  cloud: qemu\n  base_image: " + baseImage(t) + "\n  build:\n    sindri_version: " + fakeSindriVersion + "\n"
	os.WriteFile(filepath.Join(work, "sindri.yaml"), []byte(cfg), 0o644)
	cmd := exec.Command(binary(t), "test", "--cloud", "qemu", "--image", builtImage)
	cmd.Dir = work
	cmd.Env = append(toolsEnv(t), "HOME="+work, "TMPDIR="+tmp)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	interrupted := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if !interrupted && strings.Contains(sc.Text(), "waiting for SSH") {
			interrupted = true
			time.Sleep(2 * time.Second) // the VM is booting
			cmd.Process.Signal(syscall.SIGINT)
		}
	}
	err := cmd.Wait()
	if !interrupted {
		t.Fatalf("never waited for SSH:\n%s", strings.Join(seen, "\n"))
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, strings.Join(seen, "\n"))
	}
	if procs := processesMentioning(tmp); len(procs) > 0 {
		t.Errorf("qemu left running: %v", procs)
	}
	assertEmpty(t, tmp) // overlay, seed and key lived here
}

// TestRealInSpecProfile runs the real InSpec profile against a test
// instance where inspec or cinc-auditor is installed.
func TestRealInSpecProfile(t *testing.T) {
	requireE2E(t)
	bin := ""
	for _, name := range []string{"inspec", "cinc-auditor"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("neither inspec nor cinc-auditor is installed (they come from RubyGems / Chef / Cinc packages, unreachable here): the real profile did not run")
	}
	if builtImage == "" {
		t.Skip("needs the image TestQEMUBuildThenCached builds")
	}
	work := t.TempDir()
	cfg := "provider: packer\npacker:\n  cloud: qemu\n  base_image: " + baseImage(t) + "\n  build:\n    sindri_version: " + fakeSindriVersion + "\n    profile: minimal\n    extensions: [python]\n"
	os.WriteFile(filepath.Join(work, "sindri.yaml"), []byte(cfg), 0o644)
	env := append(toolsEnv(t), "HOME="+work)
	r := runBinary(t, work, env, "test", "--cloud", "qemu", "--image", builtImage, "--require-inspec")
	t.Logf("%s\n%s", r.stdout, tail(r.stderr, 60))
	if r.code != 0 {
		t.Fatalf("the real profile failed against the built image: exit %d", r.code)
	}
}
