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
	requireE2E(t)
	base := baseImage(t)
	rel := fakeRelease(t)
	work := t.TempDir()
	tmp := filepath.Join(work, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
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
