package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hardeningFunc returns the text of one shell function of
// security-hardening.sh, so it can run on its own (the script as a whole
// needs root and changes the machine).
func hardeningFunc(t *testing.T, name string) string {
	t.Helper()
	src := string(Files()["security-hardening.sh"])
	m := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(name) + `\(\) \{\n.*?^\}\n`).FindString(src)
	if m == "" {
		t.Fatalf("security-hardening.sh has no function %s", name)
	}
	mark := regexp.MustCompile(`(?m)^readonly UFW_SYSCTL_MARK=.*$`).FindString(src)
	if mark == "" {
		t.Fatal("security-hardening.sh has no UFW_SYSCTL_MARK")
	}
	return mark + "\n" + m
}

// runUfwDefaults runs ufw_defaults on a copy of input and returns its output.
func runUfwDefaults(t *testing.T, input string) string {
	t.Helper()
	bash := need(t, "bash")
	file := filepath.Join(t.TempDir(), "ufw")
	if err := os.WriteFile(file, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bash, "-c", hardeningFunc(t, "ufw_defaults")+`ufw_defaults "$1"`, "bash", file).Output()
	if err != nil {
		t.Fatalf("ufw_defaults: %v", err)
	}
	return string(out)
}

// issue 15: ufw applied /etc/ufw/sysctl.conf (log_martians=0) at every
// start, undoing 60-sindri-hardening.conf after boot. The hardening empties
// IPT_SYSCTL in /etc/default/ufw so ufw applies no sysctl file; this runs
// the script's own function on ufw 0.36.2's /etc/default/ufw (Debian 12;
// Ubuntu 24.04 ships the same 0.36.2 file) and sources the result as
// ufw-init does.
func TestUfwDefaultsEmptiesIPTSysctl(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "ufw-default-0.36.2"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), "\nIPT_SYSCTL=/etc/ufw/sysctl.conf\n") {
		t.Fatal("fixture is not ufw's default file")
	}
	once := runUfwDefaults(t, string(orig))
	twice := runUfwDefaults(t, once)
	if once != twice {
		t.Errorf("not idempotent:\n--- once\n%s--- twice\n%s", once, twice)
	}
	// Only the IPT_SYSCTL line changed (plus our comment above it).
	want := strings.Replace(string(orig), "IPT_SYSCTL=/etc/ufw/sysctl.conf\n",
		"# sindri-packer security-hardening.sh: ufw sets no kernel parameters, /etc/sysctl.d does\nIPT_SYSCTL=\n", 1)
	if once != want {
		t.Errorf("ufw_defaults output:\n%s\nwant:\n%s", once, want)
	}
	bash := need(t, "bash")
	file := filepath.Join(t.TempDir(), "ufw")
	if err := os.WriteFile(file, []byte(once), 0o644); err != nil {
		t.Fatal(err)
	}
	// ufw-init-functions: `if [ ! -z "$IPT_SYSCTL" ] && [ -s "$IPT_SYSCTL" ]; then sysctl -e -q -p $IPT_SYSCTL`.
	out, err := exec.CommandContext(t.Context(), bash, "-c", `. "$1"; printf '[%s] %s' "$IPT_SYSCTL" "$DEFAULT_INPUT_POLICY"`, "bash", file).Output()
	if err != nil || string(out) != "[] DROP" {
		t.Errorf("sourced: %q, %v; want IPT_SYSCTL empty and the rest kept", out, err)
	}

	// A file without the line gets one; several lines become one.
	if got := runUfwDefaults(t, "IPV6=yes\n"); !strings.HasSuffix(got, "\nIPT_SYSCTL=\n") || strings.Count(got, "IPT_SYSCTL=") != 1 {
		t.Errorf("without IPT_SYSCTL: %q", got)
	}
	if got := runUfwDefaults(t, "IPT_SYSCTL=/a\nX=1\n  IPT_SYSCTL = /b\n"); strings.Count(got, "IPT_SYSCTL") != 1 || !strings.Contains(got, "\nIPT_SYSCTL=\nX=1\n") {
		t.Errorf("two IPT_SYSCTL lines: %q", got)
	}
}

// The script empties IPT_SYSCTL before it enables ufw (ufw enable starts
// ufw, which applies IPT_SYSCTL), and checks the live values afterwards.
func TestHardeningOrdersUfwAfterIPTSysctl(t *testing.T) {
	src := string(Files()["security-hardening.sh"])
	write := strings.Index(src, `write_file "${UFW_DEFAULTS}" 0644 < <(ufw_defaults "${UFW_DEFAULTS}")`)
	enable := strings.Index(src, "ufw --force enable")
	drift := strings.Index(src, "kernel parameters differ from /etc/sysctl.d/60-sindri-hardening.conf")
	if write < 0 || enable < 0 || drift < 0 || !(write < enable && enable < drift) {
		t.Errorf("want IPT_SYSCTL emptied (%d) before ufw --force enable (%d), then the live check (%d)", write, enable, drift)
	}
}

// designSysctls is the network hardening list of the design document
// (shared/seed, "security-hardening.sh", the sysctl block): every key with
// the value it sets. Issue 14: the IPv6 forwarding and source-route keys
// were missing.
var designSysctls = map[string]string{
	"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "0",
	"net.ipv4.conf.all.send_redirects": "0", "net.ipv4.conf.default.send_redirects": "0",
	"net.ipv4.conf.all.accept_redirects": "0", "net.ipv4.conf.default.accept_redirects": "0",
	"net.ipv6.conf.all.accept_redirects": "0", "net.ipv6.conf.default.accept_redirects": "0",
	"net.ipv4.conf.all.accept_source_route": "0", "net.ipv4.conf.default.accept_source_route": "0",
	"net.ipv6.conf.all.accept_source_route": "0", "net.ipv6.conf.default.accept_source_route": "0",
	"net.ipv4.conf.all.log_martians": "1", "net.ipv4.conf.default.log_martians": "1",
	"net.ipv4.tcp_syncookies": "1",
}

// TestHardeningCoversTheDesignList checks that the sysctl file the script
// writes holds every key of the design's list with its value, and that
// the design's auditd packages (auditd and audispd-plugins) are installed.
func TestHardeningCoversTheDesignList(t *testing.T) {
	src := string(Files()["security-hardening.sh"])
	start := "write_file /etc/sysctl.d/60-sindri-hardening.conf 0644 <<'EOF'\n"
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatal("security-hardening.sh no longer writes 60-sindri-hardening.conf from a here-document")
	}
	body := src[i+len(start):]
	body = body[:strings.Index(body, "\nEOF\n")]
	got := map[string]string{}
	for _, l := range strings.Split(body, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "-"), " = "); ok && !strings.HasPrefix(l, "#") {
			got[k] = v
		}
	}
	for k, want := range designSysctls {
		if got[k] != want {
			t.Errorf("%s = %q in 60-sindri-hardening.conf, the design sets %s", k, got[k], want)
		}
	}
	line := regexp.MustCompile(`(?m)^ensure_packages auditd.*$`).FindString(src)
	for _, pkg := range []string{"auditd", "audispd-plugins"} {
		if !slices.Contains(strings.Fields(line), pkg) {
			t.Errorf("the auditd step installs %q, missing %s", line, pkg)
		}
	}
}
