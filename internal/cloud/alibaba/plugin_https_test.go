package alibaba_test

// The real, pinned packer-plugin-alicloud must call the ECS API over HTTPS:
// every request URL carries the AccessKeyId and a signature. Upstream's
// alibaba-cloud-sdk-go defaults to HTTP and the ECS builder sets no scheme,
// so tools/install.sh builds the plugin with tools/patches/alicloud-sdk-https.patch.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest/plugintest"
	"github.com/sindri-dev/sindri-packer/tools"
)

// firstBytes accepts connections on ln and records what each client sent
// first (up to 4 KiB or 2 s), then closes it: no reply, no TLS handshake.
type firstBytes struct {
	mu    sync.Mutex
	conns [][]byte
}

func (f *firstBytes) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf, _ := io.ReadAll(io.LimitReader(c, 4096))
			f.mu.Lock()
			f.conns = append(f.conns, buf)
			f.mu.Unlock()
		}()
	}
}

func (f *firstBytes) get() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.conns...)
}

// probeTemplate writes a template into dir whose alicloud-ecs source
// calls ECS at endpoint, and returns its path.
func probeTemplate(t *testing.T, dir, endpoint string) string {
	t.Helper()
	tmpl := filepath.Join(dir, "probe.pkr.hcl")
	src := fmt.Sprintf(`packer {
  required_plugins {
    alicloud = {
      source  = "github.com/hashicorp/alicloud"
      version = "= %s"
    }
  }
}

source "alicloud-ecs" "probe" {
  region                 = "cn-hangzhou"
  custom_endpoint_ecs    = %q
  skip_region_validation = true
  skip_image_validation  = true
  image_name             = "sindri-https-probe"
  source_image           = "ubuntu_22_04_x64_20G_alibase_20240101.vhd"
  instance_type          = "ecs.g7.large"
  io_optimized           = true
  communicator           = "none"
}

build {
  sources = ["source.alicloud-ecs.probe"]
}
`, tools.PluginVersion("alicloud"), endpoint)
	if err := os.WriteFile(tmpl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// buildUntilConnected runs cmd until rec has recorded a first connection
// (the build cannot succeed against a listener that never answers) or
// 90s pass, and returns what packer printed.
func buildUntilConnected(t *testing.T, cmd *exec.Cmd, rec *firstBytes) string {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case <-done:
			return out.String()
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			return out.String()
		case <-time.After(200 * time.Millisecond):
			if len(rec.get()) > 0 {
				time.Sleep(3 * time.Second) // let the first read finish
				_ = cmd.Process.Kill()
				<-done
				return out.String()
			}
		}
	}
}

// TestPluginCallsECSOverHTTPS: `packer build` with the installed alicloud
// plugin, its ECS endpoint pointed at a loopback listener, opens that
// connection with a TLS ClientHello (record type 0x16), and the AccessKeyId
// never crosses it in clear text. With the unpatched SDK the first bytes
// are "GET /?AccessKeyId=...".
func TestPluginCallsECSOverHTTPS(t *testing.T) {
	packer, plugins := plugintest.Tools(t, "alicloud")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := &firstBytes{}
	go rec.serve(ln)

	const accessKey = "LTAIsindriHttpsProbeKey"
	dir := t.TempDir()
	tmpl := probeTemplate(t, dir, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, packer, "build", "-machine-readable", tmpl)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"PACKER_PLUGIN_PATH=" + plugins, "CHECKPOINT_DISABLE=1", "PACKER_CHECKPOINT_DISABLE=1",
		"NO_PROXY=*", "no_proxy=*",
		"ALICLOUD_ACCESS_KEY=" + accessKey, "ALICLOUD_SECRET_KEY=sindri-fake-secret",
	}
	out := buildUntilConnected(t, cmd, rec)

	conns := rec.get()
	if len(conns) == 0 {
		t.Fatalf("the plugin never connected to custom_endpoint_ecs %s; packer output:\n%s", ln.Addr(), out)
	}
	for i, b := range conns {
		if bytes.Contains(b, []byte(accessKey)) {
			t.Errorf("connection %d carried the AccessKeyId in clear text: %.120q", i, b)
		}
		if len(b) == 0 || b[0] != 0x16 {
			t.Errorf("connection %d did not start with a TLS ClientHello (0x16): first bytes %.40q", i, b)
		}
	}
}
