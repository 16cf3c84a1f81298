package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// TestHashInputs: the base image's content is part of the config hash; a
// fresh .sha256 beside it is trusted, a stale one is not.
func TestHashInputs(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "")
	if _, err := (Cloud{}).HashInputs(cfg); err == nil || !strings.Contains(err.Error(), "qemu-base-image.sh") {
		t.Fatalf("missing base image: %v", err)
	}
	base := filepath.Join(dir, "base.qcow2")
	os.WriteFile(base, []byte("base v1"), 0o644)
	sum := sha256.Sum256([]byte("base v1"))
	got, err := (Cloud{}).HashInputs(cfg)
	if err != nil || len(got) != 1 || got[0] != "base:sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("computed digest: %v %v", got, err)
	}
	os.WriteFile(base+".sha256", []byte(strings.Repeat("a", 64)+"  base.qcow2\n"), 0o644)
	if got, _ := (Cloud{}).HashInputs(cfg); got[0] != "base:sha256:"+strings.Repeat("a", 64) {
		t.Errorf("fresh sidecar not used: %v", got)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(base+".sha256", old, old)
	if got, _ := (Cloud{}).HashInputs(cfg); got[0] != "base:sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("stale sidecar used: %v", got)
	}
	// A checksum or URL in the config is its own identity.
	cfg2 := loadQEMU(t, t.TempDir(), "  base_image_checksum: sha256:"+strings.Repeat("b", 64)+"\n")
	if got, _ := (Cloud{}).HashInputs(cfg2); !strings.Contains(got[0], "@sha256:bbbb") {
		t.Errorf("configured checksum: %v", got)
	}
}

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

func TestRegions(t *testing.T) {
	cfg := loadQEMU(t, t.TempDir(), "")
	if field, regions := (Cloud{}).Regions(cfg); field != "" || len(regions) != 1 || regions[0] != "local" {
		t.Errorf("Regions = %q %v, want no field and [local]", field, regions)
	}
	if _, err := (Cloud{}).PinRegion(cfg, "eu-west-1"); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("PinRegion = %v, want ErrNotSupported: a local image has no region", err)
	}
}

// The tools a qemu build needs besides packer, with the hint doctor prints.
func TestPrerequisites(t *testing.T) {
	const hint = "apt-get install qemu-system-x86 qemu-utils xorriso"
	want := []cloud.Prerequisite{{Tool: "qemu-system-x86_64", Hint: hint}, {Tool: "qemu-img", Hint: hint}, {Tool: "xorriso", Hint: hint}}
	if got := (Cloud{}).Prerequisites(); !slices.Equal(got, want) {
		t.Errorf("Prerequisites = %v, want %v", got, want)
	}
	if got := (Cloud{}).SecretEnv(); got != nil {
		t.Errorf("SecretEnv = %v, want none", got)
	}
}

// The local target registers its artifact after the test (Local) and
// answers ErrNotSupported for what only a cloud does.
func TestLocalTargetSupports(t *testing.T) {
	c, cfg, ctx := Cloud{}, loadQEMU(t, t.TempDir(), ""), t.Context()
	if !c.Local() {
		t.Error("Local() = false: Promote would never run")
	}
	_, listErr := c.ListInstances(ctx, cfg, cloud.InstanceFilter{})
	_, sweepErr := c.Leftovers(ctx, cfg, cloud.SweepFilter{})
	_, credErr := c.CheckCredentials(ctx, cfg)
	for name, err := range map[string]error{
		"ListInstances": listErr, "StopInstance": c.StopInstance(ctx, cfg, "x"), "StartInstance": c.StartInstance(ctx, cfg, "x"),
		"TerminateInstance": c.TerminateInstance(ctx, cfg, "x"), "Leftovers": sweepErr,
		"DeleteResource": c.DeleteResource(ctx, cfg, cloud.Resource{}), "CheckCredentials": credErr,
	} {
		if !errors.Is(err, cloud.ErrNotSupported) {
			t.Errorf("%s = %v, want ErrNotSupported", name, err)
		}
	}
}

// Programs are found on the PATH of Env, not the process's.
func TestProgramIsFoundOnEnvPath(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-qemu"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent")
	c := Cloud{Env: cloud.EnvList([]string{"PATH=relative:" + t.TempDir() + ":" + bin})}
	if got := c.program("qemu-img"); got != filepath.Join(bin, "qemu-img") {
		t.Errorf("program(qemu-img) = %q, want the one in %s", got, bin)
	}
	if got := c.program("xorriso-missing"); got != "xorriso-missing" {
		t.Errorf("a program not on Env's PATH = %q, want its bare name", got)
	}
	if got := (Cloud{}).program("qemu-img"); got != "qemu-img" {
		t.Errorf("with a nil Env = %q, want the bare name (exec looks it up as before)", got)
	}
}

func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, Cloud{}, []string{"/home/me/.cache/images/abc/image.qcow2", "images/base.qcow2", "/srv/My Images/x.qcow2"},
		[]string{"", "/tmp/$(reboot).qcow2", "/tmp/a`b`.qcow2", "/tmp/x.qcow2\n", `/tmp/"x".qcow2`})
}
