package validate

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// TestValidateNeverFetchesTheChecksumFile: base_image_checksum "file:URL"
// made packer validate download URL (any host a pull request names, cloud
// metadata endpoints included). Now the server is never asked, with or
// without a network namespace, and a notice names the field at its line.
func TestValidateNeverFetchesTheChecksumFile(t *testing.T) {
	packerBin, sc, env := tools(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("0000000000000000000000000000000000000000000000000000000000000000  base.qcow2\n"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "sindri.yaml")
	yaml := "provider: packer\npacker:\n  cloud: qemu\n  base_image: " + srv.URL + "/base.qcow2\n" +
		"  base_image_checksum: \"file:" + srv.URL + "/SHA256SUMS\"\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, file)
	for _, tt := range []struct {
		name    string
		unshare string
	}{
		{name: "no network namespace", unshare: "no-such-unshare"},
		{name: "network namespace where possible", unshare: "unshare"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			old := unshare
			unshare = tt.unshare
			defer func() { unshare = old }()
			findings, err := Run(t.Context(), Options{Targets: targets.Builders(), Config: cfg, Clouds: []string{"qemu"}, Packer: packerBin, Shellcheck: sc, HostEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("validate fetched from the server %d time(s)", n)
			}
			var notice bool
			for _, f := range findings {
				if f.IsNotice() && f.File == file && f.Line == 5 && strings.Contains(f.Message, "packer.base_image_checksum") {
					notice = true
					continue
				}
				t.Errorf("unexpected finding: %s", f)
			}
			if !notice {
				t.Errorf("no notice naming base_image_checksum at %s:5 in %v", file, findings)
			}
		})
	}
}

// TestIsolateNetworkLeavesNoInterface: where a network namespace can be
// made, what runs in it sees only a loopback interface.
func TestIsolateNetworkLeavesNoInterface(t *testing.T) {
	wrap := isolateNetwork(t.Context(), os.Getenv("PATH"))
	if wrap == nil {
		t.Skip("no network namespace can be made here; validate relies on offline() alone")
	}
	out, err := exec.CommandContext(t.Context(), wrap[0], append(wrap[1:], "cat", "/proc/net/dev")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok && name != "lo" {
			t.Errorf("interface %s inside the namespace:\n%s", name, out)
		}
	}
	if isolateNetwork(t.Context(), t.TempDir()) != nil {
		t.Error("no unshare on PATH must mean no namespace")
	}
}

// TestOfflineLeavesOtherChecksums: only the file: form is replaced.
func TestOfflineLeavesOtherChecksums(t *testing.T) {
	for _, sum := range []string{"none", "sha256:" + strings.Repeat("ab", 32)} {
		cfg := loadConfig(t, writeYAML(t, "provider: packer\npacker:\n  cloud: qemu\n  base_image_checksum: \""+sum+"\"\n"))
		got, notices := offline(cfg)
		if got != cfg || notices != nil {
			t.Errorf("%s: replaced (%v)", sum, notices)
		}
	}
	cfg := loadConfig(t, writeYAML(t, "provider: packer\npacker:\n  cloud: qemu\n  base_image_checksum: \"file:./SHA256SUMS\"\n"))
	got, notices := offline(cfg)
	if got.Packer.Clouds.QEMU.BaseImageChecksum != checksumPlaceholder || len(notices) != 1 || notices[0].Line != 4 {
		t.Errorf("file: checksum: %q %v", got.Packer.Clouds.QEMU.BaseImageChecksum, notices)
	}
	if cfg.Packer.Clouds.QEMU.BaseImageChecksum != "file:./SHA256SUMS" {
		t.Error("offline changed the caller's config")
	}
}

func writeYAML(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sindri.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
