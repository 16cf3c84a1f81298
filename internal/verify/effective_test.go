package verify

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/sshkey/sshtest"
)

// hardenedSession is the in-effect check's session with a Debian 12
// instance whose hardening is in effect, recorded by TestRecordSession
// from the image the e2e test built (see the file's header).
const hardenedSession = "debian12-recorded.txt"

// loadSession reads a session file of testdata/sessions: "$ COMMAND"
// starts a command, the lines after it are its output, and an optional
// "[exit N]" line is its exit status. Lines before the first command are
// its header.
func loadSession(t *testing.T, name string) map[string]reply {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sessions", name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reply{}
	var cmd string
	var body []string
	var status uint32
	flush := func() {
		if cmd == "" {
			return
		}
		if _, dup := out[cmd]; dup {
			t.Fatalf("%s: %q twice", name, cmd)
		}
		r := reply{Stdout: strings.Join(body, "\n"), Status: status}
		if len(body) > 0 {
			r.Stdout += "\n"
		}
		out[cmd] = r
	}
	exitLine := regexp.MustCompile(`^\[exit (\d+)\]$`)
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			flush()
			cmd, body, status = c, nil, 0
			continue
		}
		if m := exitLine.FindStringSubmatch(l); m != nil && cmd != "" {
			n, _ := strconv.Atoi(m[1])
			status = uint32(n)
			continue
		}
		if cmd != "" {
			body = append(body, l)
		}
	}
	flush()
	if len(out) == 0 {
		t.Fatalf("%s holds no commands", name)
	}
	return out
}

// sessionRemote answers the in-effect check's commands from a session; a
// command the session lacks answers like a shell that does not know it,
// and is recorded so the test can fail on it.
type sessionRemote struct {
	replies map[string]reply
	ran     []string
	unknown []string
}

func (s *sessionRemote) run(_ context.Context, cmd string) (string, int, error) {
	s.ran = append(s.ran, cmd)
	r, ok := s.replies[cmd]
	if !ok {
		s.unknown = append(s.unknown, cmd)
		r = sshtest.NotFound
	}
	return r.Stdout + r.Stderr, int(r.Status), nil
}

// edit replaces old with new in the reply to the command starting with
// prefix (exactly one such command).
func edit(t *testing.T, replies map[string]reply, prefix, old, new string) {
	t.Helper()
	var hits []string
	for c := range replies {
		if strings.HasPrefix(c, prefix) {
			hits = append(hits, c)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%d commands start with %q: %q", len(hits), prefix, hits)
	}
	r := replies[hits[0]]
	if !strings.Contains(r.Stdout, old) {
		t.Fatalf("the reply to %q lacks %q:\n%s", hits[0], old, r.Stdout)
	}
	r.Stdout = strings.ReplaceAll(r.Stdout, old, new)
	replies[hits[0]] = r
}

func runInEffect(t *testing.T, replies map[string]reply, in Inputs) ([]Check, *sessionRemote) {
	t.Helper()
	s := &sessionRemote{replies: replies}
	checks, err := inEffect(t.Context(), s.run, in)
	if err != nil {
		t.Fatalf("inEffect: %v", err)
	}
	return checks, s
}

func failedChecks(checks []Check) map[string]string {
	out := map[string]string{}
	for _, c := range checks {
		if !c.Passed {
			out[c.Name] = c.Message
		}
	}
	return out
}

const (
	sysctlCheck = "in-effect /etc/sysctl.d/60-sindri-hardening.conf"
	sshdCheck   = "in-effect /etc/ssh/sshd_config.d/50-sindri-hardening.conf"
	modCheck    = "in-effect /etc/modprobe.d/60-sindri-cis.conf"
	auditCheck  = "in-effect /etc/audit/rules.d/60-sindri.rules"
	unitCheck   = "in-effect /etc/systemd/system/sindri-regenerate-host-keys.service"
	ufwCheck    = "in-effect ufw"
)

func TestInEffectHardenedImagePasses(t *testing.T) {
	checks, s := runInEffect(t, loadSession(t, hardenedSession), Inputs{CISHardening: true})
	if want := []string{auditCheck, modCheck, sshdCheck, sysctlCheck, unitCheck, ufwCheck}; !slices.Equal(checkNames(checks), want) {
		t.Fatalf("checks %q, want %q", checkNames(checks), want)
	}
	for _, c := range checks {
		if !c.Passed {
			t.Errorf("%s failed: %s", c.Name, c.Message)
		}
	}
	if len(s.unknown) > 0 {
		t.Errorf("ran commands the session does not hold: %q", s.unknown)
	}
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	// Every value of the files was compared, none skipped.
	for name, want := range map[string]string{
		sysctlCheck: "17 settings in effect", sshdCheck: "10 settings in effect (sshd -T)",
		modCheck: "6 modules disabled and not loaded", auditCheck: "9 rules loaded (auditctl -l)",
		unitCheck: "sindri-regenerate-host-keys.service enabled",
		ufwCheck:  "ufw active; it applies no sysctl file (IPT_SYSCTL empty)",
	} {
		if got := byName[name].Message; got != want {
			t.Errorf("%s: message %q, want %q", name, got, want)
		}
	}
	if c := byName[sysctlCheck]; !strings.Contains(c.Output, "net.ipv4.conf.all.log_martians = 1") || !strings.HasPrefix(c.Command, "sudo -n sysctl net.ipv4.ip_forward ") {
		t.Errorf("sysctl check: command %q output %q", c.Command, c.Output)
	}
}

// issue 15, recorded: the image the e2e test built, with IPT_SYSCTL set
// back to ufw's /etc/ufw/sysctl.conf as the old scripts left it, after a
// fresh boot. ufw applied its file at boot and log_martians is 0: the
// in-effect check fails on it, as it fails on an image built from the old
// scripts.
func TestInEffectRecordedOldUfwBootFails(t *testing.T) {
	checks, s := runInEffect(t, loadSession(t, "debian12-old-ufw-recorded.txt"), Inputs{CISHardening: true})
	if len(s.unknown) > 0 {
		t.Errorf("ran commands the session does not hold: %q", s.unknown)
	}
	failed := failedChecks(checks)
	if want := []string{sysctlCheck, ufwCheck}; !slices.Equal(slices.Sorted(maps.Keys(failed)), want) {
		t.Fatalf("failed checks %v, want %q", failed, want)
	}
	if want := "net.ipv4.conf.all.log_martians = 0 in effect ≠ 1 (/etc/sysctl.d/60-sindri-hardening.conf:11); " +
		"net.ipv4.conf.default.log_martians = 0 in effect ≠ 1 (/etc/sysctl.d/60-sindri-hardening.conf:12)"; failed[sysctlCheck] != want {
		t.Errorf("sysctl check: %q\nwant %q", failed[sysctlCheck], want)
	}
	if !strings.Contains(failed[ufwCheck], "ufw applies /etc/ufw/sysctl.conf at every start: /etc/ufw/sysctl.conf:29 sets net.ipv4.conf.all.log_martians = 0") {
		t.Errorf("ufw check: %q", failed[ufwCheck])
	}
}

// The same, made from the hardened session by editing in what the old
// scripts left (ufw's IPT_SYSCTL unchanged, the kernel at 0), with ufw
// 0.36.2's own sysctl.conf.
func TestInEffectLogMartiansUndoneByUfwFails(t *testing.T) {
	replies := loadSession(t, hardenedSession)
	for _, k := range []string{"all", "default"} {
		edit(t, replies, "sudo -n sysctl ", "net.ipv4.conf."+k+".log_martians = 1", "net.ipv4.conf."+k+".log_martians = 0")
	}
	edit(t, replies, "sudo -n cat -- /etc/default/ufw",
		"# sindri-packer security-hardening.sh: ufw sets no kernel parameters, /etc/sysctl.d does\nIPT_SYSCTL=\n",
		"IPT_SYSCTL=/etc/ufw/sysctl.conf\n")
	ufwSysctl, err := os.ReadFile(filepath.Join("testdata", "sessions", "ufw-sysctl.conf")) // ufw 0.36.2's
	if err != nil {
		t.Fatal(err)
	}
	replies["sudo -n cat -- /etc/ufw/sysctl.conf"] = reply{Stdout: string(ufwSysctl)}

	checks, _ := runInEffect(t, replies, Inputs{CISHardening: true})
	failed := failedChecks(checks)
	if len(failed) != 2 {
		t.Fatalf("failed checks %v, want the sysctl file and ufw", failed)
	}
	for _, w := range []string{
		"net.ipv4.conf.all.log_martians = 0 in effect ≠ 1 (/etc/sysctl.d/60-sindri-hardening.conf:11)",
		"net.ipv4.conf.default.log_martians = 0 in effect ≠ 1 (/etc/sysctl.d/60-sindri-hardening.conf:12)",
	} {
		if !strings.Contains(failed[sysctlCheck], w) {
			t.Errorf("sysctl check says %q, want %q", failed[sysctlCheck], w)
		}
	}
	if w := "ufw applies /etc/ufw/sysctl.conf at every start: /etc/ufw/sysctl.conf:29 sets net.ipv4.conf.all.log_martians = 0, /etc/sysctl.d/60-sindri-hardening.conf:11 sets 1"; !strings.Contains(failed[ufwCheck], w) {
		t.Errorf("ufw check says %q, want %q", failed[ufwCheck], w)
	}
}

// foolCase changes a hardened session so that what a file declares is
// not what runs (or cannot be judged); failed are the checks that must
// fail, by name, with words of their messages.
type foolCase struct {
	name   string
	change func(t *testing.T, r map[string]reply)
	cisOff bool
	failed map[string][]string // check name → words of its message
}

// foolSysctl: sysctl settings.
var foolSysctl = []foolCase{
	{
		name: "a sysctl written but not in effect",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sysctl ", "net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies = 0")
		},
		failed: map[string][]string{sysctlCheck: {"net.ipv4.tcp_syncookies = 0 in effect ≠ 1"}},
	},
	{
		name: "a key the kernel lacks without a leading -",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/sysctl.d/", "-net.ipv6.conf.all.accept_ra = 0", "net.ipv6.conf.all.accept_ra = 0")
			edit(t, r, "sudo -n sysctl ", "net.ipv6.conf.all.accept_ra = 0\n", "")
		},
		failed: map[string][]string{sysctlCheck: {"net.ipv6.conf.all.accept_ra is not in this kernel", ":15 sets 0 without a leading -"}},
	},
	{
		name: "a sysctl line that is not key = value",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/sysctl.d/", "-net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies 1")
		},
		failed: map[string][]string{sysctlCheck: {"cannot parse /etc/sysctl.d/60-sindri-hardening.conf:13", `"net.ipv4.tcp_syncookies 1" is not key = value`}},
	},
	{
		name: "a sysctl glob",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/sysctl.d/", "-net.ipv4.conf.all.send_redirects = 0", "net.ipv4.conf.*.send_redirects = 0")
		},
		failed: map[string][]string{sysctlCheck: {"cannot parse", "globs"}},
	},
	{
		name: "IP forwarding on without Docker",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sysctl ", "net.ipv4.ip_forward = 0", "net.ipv4.ip_forward = 1")
			r["systemctl is-active docker.service"] = reply{Stdout: "inactive\n", Status: 3}
		},
		failed: map[string][]string{sysctlCheck: {"net.ipv4.ip_forward = 1 in effect ≠ 0"}},
	},
	{
		name: "IP forwarding on with Docker running",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sysctl ", "net.ipv4.ip_forward = 0", "net.ipv4.ip_forward = 1")
			r["systemctl is-active docker.service"] = reply{Stdout: "active\n"}
		},
	},
}

// foolSshd: sshd settings.
var foolSshd = []foolCase{
	{
		name: "an sshd setting another drop-in overrides",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sshd -T", "passwordauthentication no", "passwordauthentication yes")
		},
		failed: map[string][]string{sshdCheck: {"sshd runs with passwordauthentication yes ≠ no", "50-sindri-hardening.conf:3"}},
	},
	{
		name: "an sshd setting sshd does not report",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sshd -T", "maxauthtries 4\n", "")
		},
		failed: map[string][]string{sshdCheck: {"maxauthtries (not reported) ≠ 4"}},
	},
	{
		name: "an sshd Match block",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/ssh/", "Banner /etc/issue.net", "Banner /etc/issue.net\nMatch User ci\n  PasswordAuthentication yes")
		},
		failed: map[string][]string{sshdCheck: {"cannot parse", ":12", "match cannot be checked against sshd -T"}},
	},
	{
		name: "sshd -T fails",
		change: func(t *testing.T, r map[string]reply) {
			r["sudo -n sshd -T"] = reply{Stderr: "sudo: a password is required\n", Status: 1}
		},
		failed: map[string][]string{sshdCheck: {"sshd -T failed (exit status 1)"}},
	},
}

// foolModprobe: kernel modules.
var foolModprobe = []foolCase{
	{
		name: "a disabled module that is loaded",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sh -c 'cat /proc/modules", "isofs 53248", "udf 118784 0 - Live 0x0\nisofs 53248")
		},
		failed: map[string][]string{modCheck: {"module udf is loaded although /etc/modprobe.d/60-sindri-cis.conf:12 disables it"}},
	},
	{
		name: "an install rule another file overrides",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sh -c 'cat /proc/modules", "--- dry-run hfs\ninstall /bin/false", "--- dry-run hfs\ninsmod /lib/modules/6.1.0-28-cloud-amd64/kernel/fs/hfs/hfs.ko")
		},
		failed: map[string][]string{modCheck: {`modprobe hfs would not run "/bin/false"`, "insmod"}},
	},
	{
		name: "a blacklist missing from modprobe's configuration",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n sh -c 'cat /proc/modules", "blacklist jffs2\n", "")
		},
		failed: map[string][]string{modCheck: {"blacklist jffs2 is not in modprobe's configuration"}},
	},
	{
		name: "a modprobe statement the check cannot judge",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/modprobe.d/", "blacklist udf", "blacklist udf\noptions udf debug=1")
		},
		failed: map[string][]string{modCheck: {"cannot parse", "options udf debug=1"}},
	},
}

// foolAudit: audit rules.
var foolAudit = []foolCase{
	{
		name:   "audit rules not loaded",
		change: func(t *testing.T, r map[string]reply) { r["sudo -n auditctl -l"] = reply{Stdout: "No rules\n"} },
		failed: map[string][]string{auditCheck: {"audit rule -w /etc/passwd -p wa -k identity is not loaded", "audit rule -w /etc/ssh/sshd_config.d -p wa -k sshd_config is not loaded"}},
	},
	{
		name: "an audit rule with the wrong key",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n auditctl -l", "-w /etc/shadow -p wa -k identity", "-w /etc/shadow -p wa -k other")
		},
		failed: map[string][]string{auditCheck: {"-w /etc/shadow -p wa -k identity is not loaded"}},
	},
	{
		name: "a syscall audit rule",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n cat -- /etc/audit/", "-w /etc/passwd -p wa -k identity", "-a always,exit -F arch=b64 -S sethostname -k system-locale")
		},
		failed: map[string][]string{auditCheck: {"cannot parse", "only -w PATH -p PERMS -k KEY"}},
	},
}

// foolFiles: the marked files themselves.
var foolFiles = []foolCase{
	{
		name: "the host-key unit disabled",
		change: func(t *testing.T, r map[string]reply) {
			r["systemctl is-enabled sindri-regenerate-host-keys.service"] = reply{Stdout: "disabled\n", Status: 1}
		},
		failed: map[string][]string{unitCheck: {`is "disabled"`, "wants it enabled"}},
	},
	{
		name: "a marked file of a kind no check knows",
		change: func(t *testing.T, r map[string]reply) {
			edit(t, r, "sudo -n grep ", "/etc/sysctl.d/60-sindri-hardening.conf\n", "/etc/sysctl.d/60-sindri-hardening.conf\n/etc/security/limits.d/60-sindri.conf\n")
		},
		failed: map[string][]string{"in-effect /etc/security/limits.d/60-sindri.conf": {"no in-effect check knows its kind"}},
	},
	{
		name: "a marked file that cannot be read",
		change: func(t *testing.T, r map[string]reply) {
			r["sudo -n cat -- /etc/sysctl.d/60-sindri-hardening.conf"] = reply{Stderr: "cat: /etc/sysctl.d/60-sindri-hardening.conf: Permission denied\n", Status: 1}
		},
		failed: map[string][]string{sysctlCheck: {"cannot read", "exit status 1"}},
	},
	{
		name: "listing the marked files fails",
		change: func(t *testing.T, r map[string]reply) {
			r[findManagedCmd] = reply{Stderr: "sudo: a password is required\n", Status: 2}
		},
		failed: map[string][]string{"in-effect": {"cannot list the files marked", "exit status 2"}},
	},
	{
		name: "hardening on but no hardening files",
		change: func(t *testing.T, r map[string]reply) {
			r[findManagedCmd] = reply{Stdout: "/etc/systemd/system/sindri-regenerate-host-keys.service\n"}
		},
		failed: map[string][]string{
			"in-effect sysctl": {"CIS hardening is on, but the image carries no sysctl file"},
			"in-effect sshd":   {"no sshd file"}, "in-effect modprobe": {"modprobe"}, "in-effect audit": {"audit"},
		},
	},
	{
		name: "hardening off and no hardening files",
		change: func(t *testing.T, r map[string]reply) {
			r[findManagedCmd] = reply{Stdout: "/etc/systemd/system/sindri-regenerate-host-keys.service\n"}
		},
		cisOff: true,
	},
}

// foolUfw: ufw.
var foolUfw = []foolCase{
	{
		name: "ufw enabled but not running",
		change: func(t *testing.T, r map[string]reply) {
			r["sudo -n ufw status"] = reply{Stdout: "Status: inactive\n"}
		},
		failed: map[string][]string{ufwCheck: {"ENABLED=yes, but ufw is not active"}},
	},
	{
		name: "ufw missing with hardening on",
		change: func(t *testing.T, r map[string]reply) {
			r["sudo -n cat -- /etc/ufw/ufw.conf"] = reply{Stderr: "cat: /etc/ufw/ufw.conf: No such file or directory\n", Status: 1}
		},
		failed: map[string][]string{ufwCheck: {"cannot be read: is ufw installed?"}},
	},
}

// Whatever a file declares must be what runs, and what cannot be read or
// parsed fails: the check is never fooled into passing.
func TestInEffectCannotBeFooled(t *testing.T) {
	for _, tt := range slices.Concat(foolSysctl, foolSshd, foolModprobe, foolAudit, foolFiles, foolUfw) {
		t.Run(tt.name, func(t *testing.T) {
			replies := loadSession(t, hardenedSession)
			tt.change(t, replies)
			checks, _ := runInEffect(t, replies, Inputs{CISHardening: !tt.cisOff})
			failed := failedChecks(checks)
			if !slices.Equal(slices.Sorted(maps.Keys(failed)), slices.Sorted(maps.Keys(tt.failed))) {
				t.Fatalf("failed checks %v, want %v", failed, slices.Sorted(maps.Keys(tt.failed)))
			}
			for name, words := range tt.failed {
				for _, w := range words {
					if !strings.Contains(failed[name], w) {
						t.Errorf("%s: %q lacks %q", name, failed[name], w)
					}
				}
			}
		})
	}
}

// Optional keys the kernel lacks (IPv6 disabled) pass and are counted.
func TestInEffectOptionalKeyMissing(t *testing.T) {
	replies := loadSession(t, hardenedSession)
	edit(t, replies, "sudo -n sysctl ", "net.ipv6.conf.all.accept_ra = 0\n", "")
	checks, _ := runInEffect(t, replies, Inputs{CISHardening: true})
	for _, c := range checks {
		if c.Name == sysctlCheck && (!c.Passed || c.Message != "16 settings in effect, 1 not in this kernel (optional)") {
			t.Errorf("sysctl check %+v", c)
		}
	}
}

func TestParseSysctl(t *testing.T) {
	got, err := parseSysctl("# c\n; c\n\n-net/ipv4/conf/eth0.100/rp_filter=1\nkernel.pid_max = 4194304\nnet.ipv4.ip_local_port_range = 1024\t 65000\nkernel.pid_max = 5\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []decl{
		{line: 4, key: "net.ipv4.conf.eth0/100.rp_filter", want: "1", optional: true},
		{line: 7, key: "kernel.pid_max", want: "5"},
		{line: 6, key: "net.ipv4.ip_local_port_range", want: "1024 65000"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseSysctl = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"key", "= 1", "key =", "net.ipv4.conf.*.rp_filter = 1", "a b = 1"} {
		if _, err := parseSysctl(bad); err == nil {
			t.Errorf("parseSysctl(%q) accepted it", bad)
		}
	}
}

func TestParseSSHD(t *testing.T) {
	got, err := parseSSHD("# c\nPermitRootLogin no\nMaxAuthTries=4\nBanner \"/etc/issue.net\"\nAcceptEnv LANG LC_*\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []decl{
		{line: 2, key: "permitrootlogin", want: "no"},
		{line: 3, key: "maxauthtries", want: "4"},
		{line: 4, key: "banner", want: "/etc/issue.net"},
		{line: 5, key: "acceptenv", want: "LANG LC_*"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseSSHD = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"PermitRootLogin", "Match Address 10.0.0.0/8", "Include /etc/ssh/other/*.conf"} {
		if _, err := parseSSHD(bad); err == nil {
			t.Errorf("parseSSHD(%q) accepted it", bad)
		}
	}
}

func TestSSHDEqual(t *testing.T) {
	for _, tt := range []struct {
		want, got string
		ok        bool
	}{
		{"no", "no", true}, {"No", "no", true}, {"60", "60", true}, {"1m", "60", true},
		{"1h30m", "5400", true}, {"2m", "60", false}, {"yes", "no", false}, {"4", "40", false},
		{"/etc/issue.net", "/etc/issue.net", true}, {"1x", "1", false},
	} {
		if got := sshdEqual(tt.want, tt.got); got != tt.ok {
			t.Errorf("sshdEqual(%q, %q) = %v", tt.want, tt.got, got)
		}
	}
}

func TestAuditRuleLoaded(t *testing.T) {
	d := decl{key: "/etc/sudoers.d", op: "wa", want: "scope"}
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"-w /etc/sudoers.d -p wa -k scope", true},
		{"-w /etc/sudoers.d/ -p wa -k scope", true},
		{"-a always,exit -F dir=/etc/sudoers.d/ -F perm=wa -F key=scope", true},
		{"-a always,exit -F dir=/etc/sudoers.d -F perm=wa -k scope", true},
		{"-w /etc/sudoers.d -p w -k scope", false},
		{"-w /etc/sudoers -p wa -k scope", false},
		{"-a always,exit -F dir=/etc/sudoers.d/ -F perm=wa -F key=other", false},
		{"No rules", false},
	} {
		if got := auditRuleLoaded(tt.line, d); got != tt.ok {
			t.Errorf("auditRuleLoaded(%q) = %v", tt.line, got)
		}
	}
}

// A cancelled context stops the check; it is not a finding.
func TestInEffectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := inEffect(ctx, func(ctx context.Context, _ string) (string, int, error) { return "", 0, ctx.Err() }, Inputs{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestRecordSession records the in-effect check's session against a real
// instance (e.g. one kept by `sindri-packer test --keep`) into
// testdata/sessions/$SINDRI_RECORD_SESSION. It runs only when that and
// SINDRI_RECORD_TARGET=user@host:port plus SINDRI_RECORD_KEY are set.
func TestRecordSession(t *testing.T) {
	name, target, keyFile := os.Getenv("SINDRI_RECORD_SESSION"), os.Getenv("SINDRI_RECORD_TARGET"), os.Getenv("SINDRI_RECORD_KEY")
	if name == "" || target == "" || keyFile == "" {
		t.Skip("set SINDRI_RECORD_SESSION, SINDRI_RECORD_TARGET and SINDRI_RECORD_KEY to record a session")
	}
	user, hostPort, _ := strings.Cut(target, "@")
	host, portText, _ := strings.Cut(hostPort, ":")
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("SINDRI_RECORD_TARGET %q: want user@host:port", target)
	}
	signer := readSigner(t, keyFile)
	client, err := WaitForSSH(t.Context(), host, port, user, signer, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var b strings.Builder
	b.WriteString("# RECORDED with TestRecordSession from a real instance (" + os.Getenv("SINDRI_RECORD_NOTE") + ").\n" +
		"# Format: \"$ COMMAND\" starts a command, the lines after it are its output,\n" +
		"# an optional \"[exit N]\" line its exit status (default 0).\n")
	inner := sshRemote(client)
	rec := func(ctx context.Context, cmd string) (string, int, error) {
		out, status, err := inner(ctx, cmd)
		if err == nil {
			b.WriteString("$ " + cmd + "\n" + out)
			if out != "" && !strings.HasSuffix(out, "\n") {
				b.WriteString("\n")
			}
			if status != 0 {
				b.WriteString("[exit " + strconv.Itoa(status) + "]\n")
			}
		}
		return out, status, err
	}
	checks, err := inEffect(t.Context(), rec, Inputs{CISHardening: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Logf("%s: passed=%v %s", c.Name, c.Passed, c.Message)
	}
	if err := os.WriteFile(filepath.Join("testdata", "sessions", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
