package qemu

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// probeTimeout bounds the KVM probe: a working KVM prints the kernel banner
// within a few seconds.
const probeTimeout = 30 * time.Second

// Probe picks the accelerator for "auto". /dev/kvm existing is not enough:
// on some hosts KVM runs the firmware but a Linux kernel never starts. So
// when /dev/kvm is usable and the base image is a local file, Probe boots
// it (read-only, -snapshot) under KVM, with the QEMU Launch runs, and
// waits for the kernel's banner on the serial console. The answer is
// remembered in the user's cache folder until the host reboots.
func (c Cloud) Probe(ctx context.Context, baseImage string) string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	if strings.Contains(baseImage, "://") {
		return "kvm"
	}
	cache := probeCacheFile()
	if data, err := os.ReadFile(cache); err == nil {
		if s := strings.TrimSpace(string(data)); s == "kvm" || s == "tcg" {
			return s
		}
	}
	answer := "tcg"
	if bootsUnderKVM(ctx, c.program("qemu-system-x86_64"), baseImage) {
		answer = "kvm"
	}
	if ctx.Err() == nil {
		_ = os.WriteFile(cache, []byte(answer+"\n"), 0o644)
	}
	return answer
}

func probeCacheFile() string {
	id := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id = strings.TrimSpace(string(b))
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "sindri-packer")
	_ = os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, "kvm-probe-"+id)
}

func bootsUnderKVM(ctx context.Context, qemu, image string) bool {
	dir, err := os.MkdirTemp("", "sindri-kvm-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	serial := filepath.Join(dir, "serial.log")
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu,
		"-accel", "kvm", "-m", "512", "-smp", "1",
		"-nodefaults", "-display", "none", "-no-reboot", "-snapshot",
		"-drive", "file="+image+",if=virtio,format=qcow2",
		"-serial", "file:"+serial)
	if err := cmd.Start(); err != nil {
		return false
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-done:
			return false
		case <-tick.C:
			if b, err := os.ReadFile(serial); err == nil && bytes.Contains(b, []byte("Linux version")) {
				return true
			}
		}
	}
}
