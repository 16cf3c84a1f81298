package verify

// The in-effect check. The provisioning scripts mark every setting file
// they write whole with "Managed by sindri-packer" (sysctl.d, sshd_config.d,
// modprobe.d, audit rules.d, systemd units). The check finds those files on
// the booted instance, reads them over SSH, parses each declared value and
// compares it with what the running system uses (sysctl, sshd -T, modprobe,
// auditctl -l, systemctl). The expected values come from the files the
// image carries, never from a list kept here, so a setting that is written
// but undone at boot (ufw's sysctl file, an earlier sshd drop-in) fails the
// image test. A file the check cannot read or parse, or a marked file of a
// kind it does not know, fails too: nothing is passed unread.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ManagedMarker is the comment every setting file the scripts write whole
// carries (see scripts/README.md).
const ManagedMarker = "Managed by sindri-packer"

// findManagedCmd lists the marked files under /etc (grep exits 1 when none).
const findManagedCmd = "sudo -n grep -rlsI -e '" + ManagedMarker + "' /etc"

// Kinds of setting files, by the folder they live in.
const (
	kindSysctl   = "sysctl"
	kindSSHD     = "sshd"
	kindModprobe = "modprobe"
	kindAudit    = "audit"
	kindUnit     = "unit"
)

// kindOf names the kind of a marked file; "" when no check knows it.
func kindOf(p string) string {
	dir, ext := path.Dir(p), path.Ext(p)
	switch {
	case dir == "/etc/sysctl.d" && ext == ".conf":
		return kindSysctl
	case dir == "/etc/ssh/sshd_config.d" && ext == ".conf":
		return kindSSHD
	case dir == "/etc/modprobe.d" && ext == ".conf":
		return kindModprobe
	case dir == "/etc/audit/rules.d" && ext == ".rules":
		return kindAudit
	case dir == "/etc/systemd/system" && ext == ".service":
		return kindUnit
	}
	return ""
}

// hardeningKinds are the files security-hardening.sh always writes: with
// CIS hardening on, an image without one of them was not hardened.
var hardeningKinds = []string{kindSysctl, kindSSHD, kindModprobe, kindAudit}

// remote runs one command on the instance: its combined output and exit
// status; err only when it could not be run at all.
type remote func(ctx context.Context, command string) (out string, status int, err error)

// sshRemote runs commands over an SSH connection.
func sshRemote(client *ssh.Client) remote {
	return func(ctx context.Context, command string) (string, int, error) {
		out, err := Run(ctx, client, command)
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			return out, exit.ExitStatus(), nil
		}
		return out, 0, err
	}
}

// decl is one value a file declares.
type decl struct {
	line int
	key  string // sysctl key, sshd keyword (lower case), module, watched path, unit
	op   string // modprobe: install|blacklist; audit: the -p permissions
	want string
	// optional: a sysctl key written with a leading "-", which the kernel
	// may lack (systemd-sysctl and procps skip it then).
	optional bool
}

// managedFile is one marked file as read from the instance.
type managedFile struct {
	path, kind string
	decls      []decl
}

var (
	safePath   = regexp.MustCompile(`^/etc/[A-Za-z0-9._@+/-]+$`)
	sysctlKey  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$`)
	moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	sshdTime   = regexp.MustCompile(`^([0-9]+[sSmMhHdDwW]?)+$`)
)

// inEffect runs the in-effect check: one Check per marked file, in path
// order, then one for ufw when it is installed. The error is only a
// cancelled context.
func inEffect(ctx context.Context, run remote, in Inputs) ([]Check, error) {
	out, status, err := run(ctx, findManagedCmd)
	if err != nil {
		return nil, err
	}
	if status > 1 {
		return []Check{{Name: "in-effect", Command: findManagedCmd, Output: strings.TrimSpace(out),
			Message: fmt.Sprintf("cannot list the files marked %q (exit status %d)", ManagedMarker, status)}}, nil
	}
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			paths = append(paths, l)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)

	var checks []Check
	var files []*managedFile
	found := map[string]bool{}
	for _, p := range paths {
		name := "in-effect " + p
		if !safePath.MatchString(p) {
			checks = append(checks, Check{Name: name, Command: findManagedCmd, Message: fmt.Sprintf("unexpected file name %q: not checked", p)})
			continue
		}
		kind := kindOf(p)
		if kind == "" {
			checks = append(checks, Check{Name: name, Command: findManagedCmd,
				Message: p + " is marked " + strconv.Quote(ManagedMarker) + " but no in-effect check knows its kind: teach internal/verify/effective.go to check it"})
			continue
		}
		found[kind] = true
		cmd := "sudo -n cat -- " + p
		text, status, err := run(ctx, cmd)
		if err != nil {
			return nil, err
		}
		if status != 0 {
			checks = append(checks, Check{Name: name, Command: cmd, Output: strings.TrimSpace(text), Message: fmt.Sprintf("cannot read %s (exit status %d)", p, status)})
			continue
		}
		decls, perr := parseManaged(kind, text)
		if perr != nil {
			checks = append(checks, Check{Name: name, Command: cmd, Message: fmt.Sprintf("cannot parse %s:%v", p, perr)})
			continue
		}
		files = append(files, &managedFile{path: p, kind: kind, decls: decls})
	}
	if in.CISHardening {
		for _, k := range hardeningKinds {
			if !found[k] {
				checks = append(checks, Check{Name: "in-effect " + k, Command: findManagedCmd,
					Message: fmt.Sprintf("CIS hardening is on, but the image carries no %s file marked %q", k, ManagedMarker)})
			}
		}
	}

	j := judge{ctx: ctx, run: run, in: in}
	for _, f := range files {
		c, err := j.file(f)
		if err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	c, err := j.ufw(files)
	if err != nil {
		return nil, err
	}
	if c != nil {
		checks = append(checks, *c)
	}
	slices.SortStableFunc(checks, func(a, b Check) int { return strings.Compare(a.Name, b.Name) })
	return checks, nil
}

// lineError is a parse failure at a line of a file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

// parseManaged parses a file of the given kind into its declarations.
func parseManaged(kind, text string) ([]decl, error) {
	switch kind {
	case kindSysctl:
		return parseSysctl(text)
	case kindSSHD:
		return parseSSHD(text)
	case kindModprobe:
		return parseModprobe(text)
	case kindAudit:
		return parseAudit(text)
	case kindUnit:
		return parseUnit(text)
	}
	return nil, fmt.Errorf("unknown kind %s", kind)
}

// lines yields the numbered non-blank lines that are not comments.
func lines(text string, comment string) (out []struct {
	n int
	s string
}) {
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.ContainsAny(l[:1], comment) {
			continue
		}
		out = append(out, struct {
			n int
			s string
		}{i + 1, l})
	}
	return out
}

// parseSysctl reads sysctl.d(5): "[-]key = value", "#" or ";" comments; a
// key whose first separator is "/" uses slashes for dots. Later lines win.
func parseSysctl(text string) ([]decl, error) {
	var out []decl
	for _, l := range lines(text, "#;") {
		k, v, ok := strings.Cut(l.s, "=")
		if !ok {
			return nil, &lineError{l.n, fmt.Sprintf("%q is not key = value", l.s)}
		}
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")
		optional := strings.HasPrefix(k, "-")
		k = strings.TrimSpace(strings.TrimPrefix(k, "-"))
		if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '/' {
			k = strings.Map(func(r rune) rune {
				switch r {
				case '/':
					return '.'
				case '.':
					return '/'
				}
				return r
			}, k)
		}
		if !sysctlKey.MatchString(k) {
			return nil, &lineError{l.n, fmt.Sprintf("sysctl key %q cannot be checked (globs and odd characters are not supported)", k)}
		}
		if v == "" {
			return nil, &lineError{l.n, fmt.Sprintf("sysctl key %s has no value", k)}
		}
		d := decl{line: l.n, key: k, want: v, optional: optional}
		if i := slices.IndexFunc(out, func(o decl) bool { return o.key == k }); i >= 0 {
			out[i] = d // systemd-sysctl: the later assignment wins
		} else {
			out = append(out, d)
		}
	}
	return out, nil
}

// parseSSHD reads an sshd_config drop-in: "Keyword value" or
// "Keyword=value". Match and Include blocks cannot be checked against
// `sshd -T`'s global view, so they are refused.
func parseSSHD(text string) ([]decl, error) {
	var out []decl
	for _, l := range lines(text, "#") {
		kw, v, ok := strings.Cut(l.s, "=")
		if i := strings.IndexAny(l.s, " \t"); i >= 0 && (!ok || i < len(kw)) {
			kw, v = l.s[:i], strings.TrimLeft(strings.TrimSpace(l.s[i:]), "=")
		}
		kw, v = strings.ToLower(strings.TrimSpace(kw)), strings.Join(strings.Fields(v), " ")
		if kw == "match" || kw == "include" {
			return nil, &lineError{l.n, fmt.Sprintf("%q: %s cannot be checked against sshd -T", l.s, kw)}
		}
		if kw == "" || v == "" || strings.ContainsAny(kw, `"'`) {
			return nil, &lineError{l.n, fmt.Sprintf("%q is not Keyword value", l.s)}
		}
		out = append(out, decl{line: l.n, key: kw, want: strings.Trim(v, `"`)})
	}
	return out, nil
}

// parseModprobe reads modprobe.d(5) "install MODULE COMMAND" and
// "blacklist MODULE"; other statements are refused.
func parseModprobe(text string) ([]decl, error) {
	var out []decl
	for _, l := range lines(text, "#") {
		f := strings.Fields(l.s)
		switch {
		case f[0] == "install" && len(f) >= 3 && moduleName.MatchString(f[1]):
			out = append(out, decl{line: l.n, op: "install", key: f[1], want: strings.Join(f[2:], " ")})
		case f[0] == "blacklist" && len(f) == 2 && moduleName.MatchString(f[1]):
			out = append(out, decl{line: l.n, op: "blacklist", key: f[1]})
		default:
			return nil, &lineError{l.n, fmt.Sprintf("%q: only install MODULE COMMAND and blacklist MODULE can be checked", l.s)}
		}
	}
	return out, nil
}

// parseAudit reads audit rules of the form "-w PATH -p PERMS -k KEY".
func parseAudit(text string) ([]decl, error) {
	var out []decl
	for _, l := range lines(text, "#") {
		f := strings.Fields(l.s)
		if len(f) != 6 || f[0] != "-w" || f[2] != "-p" || f[4] != "-k" || !strings.HasPrefix(f[1], "/") {
			return nil, &lineError{l.n, fmt.Sprintf("%q: only -w PATH -p PERMS -k KEY rules can be checked", l.s)}
		}
		out = append(out, decl{line: l.n, key: f[1], op: f[3], want: f[5]})
	}
	return out, nil
}

// parseUnit reads a systemd unit: with an [Install] section that names a
// target (WantedBy=, RequiredBy=) the unit must be enabled.
func parseUnit(text string) ([]decl, error) {
	var out []decl
	section := ""
	for _, l := range lines(text, "#;") {
		if strings.HasPrefix(l.s, "[") {
			if !strings.HasSuffix(l.s, "]") {
				return nil, &lineError{l.n, fmt.Sprintf("%q is not a [Section]", l.s)}
			}
			section = l.s
			continue
		}
		k, v, ok := strings.Cut(l.s, "=")
		if !ok || section == "" {
			return nil, &lineError{l.n, fmt.Sprintf("%q is not Key=value in a section", l.s)}
		}
		k = strings.TrimSpace(k)
		if section == "[Install]" && (k == "WantedBy" || k == "RequiredBy") && strings.TrimSpace(v) != "" && len(out) == 0 {
			out = append(out, decl{line: l.n, key: "enabled", want: "enabled"})
		}
	}
	return out, nil
}

// judge compares declarations with the running system.
type judge struct {
	ctx context.Context
	run remote
	in  Inputs
}

// mismatch collects one file's findings.
type mismatch struct {
	bad, notes, live []string
}

func (m *mismatch) check(c Check, summary string) Check {
	c.Output = strings.Join(m.live, "\n")
	if len(m.bad) > 0 {
		c.Message = strings.Join(m.bad, "; ")
		return c
	}
	c.Passed = true
	c.Message = strings.Join(append([]string{summary}, m.notes...), "; ")
	return c
}

func (j judge) file(f *managedFile) (Check, error) {
	c := Check{Name: "in-effect " + f.path}
	var m mismatch
	at := func(d decl) string { return fmt.Sprintf("%s:%d", f.path, d.line) }
	switch f.kind {
	case kindSysctl:
		return j.sysctl(f, c)
	case kindSSHD:
		out, ok, err := j.live(&c, "sudo -n sshd -T", "sshd -T")
		if !ok {
			return c, err
		}
		eff := map[string][]string{}
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
				eff[strings.ToLower(k)] = append(eff[strings.ToLower(k)], strings.TrimSpace(v))
			}
		}
		for _, d := range f.decls {
			got := eff[d.key]
			m.live = append(m.live, d.key+" "+strings.Join(got, ","))
			if !slices.ContainsFunc(got, func(g string) bool { return sshdEqual(d.want, g) }) {
				shown := strings.Join(got, ",")
				if len(got) == 0 {
					shown = "(not reported)"
				}
				m.bad = append(m.bad, fmt.Sprintf("sshd runs with %s %s ≠ %s (%s)", d.key, shown, d.want, at(d)))
			}
		}
		return m.check(c, fmt.Sprintf("%d settings in effect (sshd -T)", len(f.decls))), nil
	case kindModprobe:
		return j.modprobe(f, c)
	case kindAudit:
		out, ok, err := j.live(&c, "sudo -n auditctl -l", "auditctl -l")
		if !ok {
			return c, err
		}
		loaded := strings.Split(out, "\n")
		for _, d := range f.decls {
			if !slices.ContainsFunc(loaded, func(l string) bool { return auditRuleLoaded(l, d) }) {
				m.bad = append(m.bad, fmt.Sprintf("audit rule -w %s -p %s -k %s is not loaded (%s)", d.key, d.op, d.want, at(d)))
			}
		}
		m.live = []string{strings.TrimSpace(out)}
		return m.check(c, fmt.Sprintf("%d rules loaded (auditctl -l)", len(f.decls))), nil
	case kindUnit:
		unit := path.Base(f.path)
		if len(f.decls) == 0 {
			c.Passed, c.Message = true, "no [Install] target: nothing to enable"
			return c, nil
		}
		c.Command = "systemctl is-enabled " + unit
		out, _, err := j.run(j.ctx, c.Command)
		if err != nil {
			return c, err
		}
		got := strings.TrimSpace(out)
		m.live = []string{got}
		if got != "enabled" {
			m.bad = append(m.bad, fmt.Sprintf("%s is %q, its [Install] section wants it enabled (%s)", unit, got, at(f.decls[0])))
		}
		return m.check(c, unit+" enabled"), nil
	}
	return c, fmt.Errorf("in-effect: unknown kind %s", f.kind)
}

// live runs command, which shows what the system has in effect, as c's
// command. ok is false when it could not run (err) or exited non-zero; c
// then says that what failed, with the output and the exit status.
func (j judge) live(c *Check, command, what string) (out string, ok bool, err error) {
	c.Command = command
	out, status, err := j.run(j.ctx, command)
	if err != nil {
		return out, false, err
	}
	if status != 0 {
		c.Output, c.Message = strings.TrimSpace(out), fmt.Sprintf("%s failed (exit status %d)", what, status)
		return out, false, nil
	}
	return out, true, nil
}

// sysctlsCmd reads keys as the kernel runs them ("key = value" lines; a
// key the kernel lacks is reported on stderr and left out).
func sysctlsCmd(keys []string) string { return "sudo -n sysctl " + strings.Join(keys, " ") }

// readSysctls returns the kernel's values of keys.
func (j judge) readSysctls(keys []string) (map[string]string, string, error) {
	cmd := sysctlsCmd(keys)
	out, _, err := j.run(j.ctx, cmd)
	live := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, " = "); ok && sysctlKey.MatchString(k) {
			live[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return live, out, err
}

func (j judge) sysctl(f *managedFile, c Check) (Check, error) {
	var m mismatch
	keys := make([]string, len(f.decls))
	for i, d := range f.decls {
		keys[i] = d.key
	}
	if len(keys) == 0 {
		c.Passed, c.Message = true, "declares no keys"
		return c, nil
	}
	c.Command = sysctlsCmd(keys)
	live, _, err := j.readSysctls(keys)
	if err != nil {
		return c, err
	}
	dockerActive := -1 // unknown
	missing := 0
	for _, d := range f.decls {
		got, ok := live[d.key]
		at := fmt.Sprintf("%s:%d", f.path, d.line)
		switch {
		case !ok && d.optional:
			missing++
			m.live = append(m.live, d.key+" (not in this kernel)")
			continue
		case !ok:
			m.bad = append(m.bad, fmt.Sprintf("%s is not in this kernel, %s sets %s without a leading -", d.key, at, d.want))
			continue
		}
		m.live = append(m.live, d.key+" = "+got)
		if got == d.want {
			continue
		}
		// dockerd turns forwarding on for container networking; the InSpec
		// profile makes the same exception (sindri-cis-04).
		if d.key == "net.ipv4.ip_forward" && got == "1" {
			if dockerActive < 0 {
				out, _, err := j.run(j.ctx, "systemctl is-active docker.service")
				if err != nil {
					return c, err
				}
				dockerActive = map[bool]int{true: 1, false: 0}[strings.TrimSpace(out) == "active"]
			}
			if dockerActive == 1 || j.in.DockerExpected {
				m.notes = append(m.notes, "net.ipv4.ip_forward is 1: Docker turns forwarding on")
				continue
			}
		}
		m.bad = append(m.bad, fmt.Sprintf("%s = %s in effect ≠ %s (%s)", d.key, got, d.want, at))
	}
	summary := fmt.Sprintf("%d settings in effect", len(f.decls)-missing)
	if missing > 0 {
		summary += fmt.Sprintf(", %d not in this kernel (optional)", missing)
	}
	return m.check(c, summary), nil
}

// modprobeCmd prints /proc/modules, then what `modprobe -n -v` would do
// for each module, then the install and blacklist lines of the merged
// configuration.
func modprobeCmd(modules []string) string {
	return "sudo -n sh -c 'cat /proc/modules; for m in " + strings.Join(modules, " ") +
		`; do echo "--- dry-run $m"; modprobe -n -v "$m" 2>&1; done; echo "--- config"; modprobe --showconfig | grep -E "^(install|blacklist) "'`
}

func (j judge) modprobe(f *managedFile, c Check) (Check, error) {
	var m mismatch
	var modules []string
	for _, d := range f.decls {
		if !slices.Contains(modules, d.key) {
			modules = append(modules, d.key)
		}
	}
	if len(modules) == 0 {
		c.Passed, c.Message = true, "declares nothing"
		return c, nil
	}
	out, ok, err := j.live(&c, modprobeCmd(modules), "reading the module configuration")
	if !ok {
		return c, err
	}
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	loaded := map[string]bool{}
	dry := map[string][]string{}
	var config []string
	section := "modules"
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "--- dry-run "):
			section = "dry:" + norm(strings.TrimPrefix(l, "--- dry-run "))
		case l == "--- config":
			section = "config"
		case l == "":
		case section == "modules":
			loaded[norm(strings.Fields(l)[0])] = true
		case section == "config":
			f := strings.Fields(l)
			if len(f) >= 2 {
				f[1] = norm(f[1])
			}
			config = append(config, strings.Join(f, " "))
		default:
			dry[strings.TrimPrefix(section, "dry:")] = append(dry[strings.TrimPrefix(section, "dry:")], strings.Join(strings.Fields(l), " "))
		}
	}
	for _, d := range f.decls {
		at := fmt.Sprintf("%s:%d", f.path, d.line)
		mod := norm(d.key)
		if loaded[mod] {
			m.bad = append(m.bad, fmt.Sprintf("module %s is loaded although %s disables it", d.key, at))
			continue
		}
		switch d.op {
		case "install":
			got := dry[mod]
			m.live = append(m.live, "modprobe -n -v "+d.key+": "+strings.Join(got, " | "))
			if !slices.Contains(got, "install "+d.want) {
				m.bad = append(m.bad, fmt.Sprintf("modprobe %s would not run %q (%s): %s", d.key, d.want, at, strings.Join(got, " | ")))
			}
		case "blacklist":
			if !slices.Contains(config, "blacklist "+mod) {
				m.bad = append(m.bad, fmt.Sprintf("blacklist %s is not in modprobe's configuration (%s)", d.key, at))
			}
		}
	}
	return m.check(c, fmt.Sprintf("%d modules disabled and not loaded", len(modules))), nil
}

// auditRuleLoaded reports whether a line of `auditctl -l` is the watch d:
// "-w PATH -p PERMS -k KEY", or the syscall form auditctl prints for some
// watches (-F path=/dir=PATH -F perm=PERMS -F key=KEY).
func auditRuleLoaded(line string, d decl) bool {
	f := strings.Fields(line)
	p := strings.TrimSuffix(d.key, "/")
	if len(f) == 6 && f[0] == "-w" && strings.TrimSuffix(f[1], "/") == p && f[2] == "-p" && f[3] == d.op && f[4] == "-k" && f[5] == d.want {
		return true
	}
	has := func(w string) bool { return slices.Contains(f, w) }
	return (has("path="+p) || has("dir="+p) || has("dir="+p+"/")) && has("perm="+d.op) && (has("key="+d.want) || slices.Contains(f, "-k") && f[len(f)-1] == d.want)
}

// sshdEqual compares a drop-in's value with sshd -T's: case-insensitive
// (sshd prints yes/no in lower case) and with times in seconds.
func sshdEqual(want, got string) bool {
	if strings.EqualFold(want, got) {
		return true
	}
	if sshdTime.MatchString(want) {
		if s, ok := sshdSeconds(want); ok && strconv.Itoa(s) == got {
			return true
		}
	}
	return false
}

// sshdSeconds converts sshd's time format (sshd_config(5) TIME FORMATS).
func sshdSeconds(v string) (int, bool) {
	total, n := 0, 0
	mult := map[byte]int{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
	digits := false
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case ch >= '0' && ch <= '9':
			n = n*10 + int(ch-'0')
			digits = true
		case digits:
			k, ok := mult[ch|0x20]
			if !ok {
				return 0, false
			}
			total += n * k
			n, digits = 0, false
		default:
			return 0, false
		}
	}
	return total + n, true
}

// ufw: when ufw is installed and enabled it must be running, and the
// sysctl file it applies at every start (IPT_SYSCTL in /etc/default/ufw)
// must not contradict a marked sysctl.d file: whichever ran last at boot
// would win. nil when ufw is not installed and CIS hardening is off.
func (j judge) ufw(files []*managedFile) (*Check, error) {
	c := Check{Name: "in-effect ufw"}
	read := func(p string) (map[string]string, string, bool, error) {
		cmd := "sudo -n cat -- " + p
		out, status, err := j.run(j.ctx, cmd)
		if err != nil || status != 0 {
			return nil, out, false, err
		}
		return shellVars(out), out, true, nil
	}
	conf, _, ok, err := read("/etc/ufw/ufw.conf")
	if err != nil {
		return nil, err
	}
	if !ok {
		if !j.in.CISHardening {
			return nil, nil
		}
		c.Command, c.Message = "sudo -n cat -- /etc/ufw/ufw.conf", "CIS hardening is on, but /etc/ufw/ufw.conf cannot be read: is ufw installed?"
		return &c, nil
	}
	defaults, _, ok, err := read("/etc/default/ufw")
	if err != nil {
		return nil, err
	}
	if !ok {
		c.Command, c.Message = "sudo -n cat -- /etc/default/ufw", "cannot read /etc/default/ufw"
		return &c, nil
	}
	var m mismatch
	enabled := strings.EqualFold(conf["ENABLED"], "yes")
	if enabled {
		c.Command = "sudo -n ufw status"
		out, _, err := j.run(j.ctx, c.Command)
		if err != nil {
			return nil, err
		}
		m.live = append(m.live, strings.TrimSpace(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]))
		if !regexp.MustCompile(`(?m)^Status: active\s*$`).MatchString(out) {
			m.bad = append(m.bad, "/etc/ufw/ufw.conf says ENABLED=yes, but ufw is not active")
		}
	}
	ipt := defaults["IPT_SYSCTL"]
	m.live = append(m.live, "IPT_SYSCTL="+ipt)
	if enabled && ipt != "" {
		bad, err := j.ufwSysctl(ipt, files)
		if err != nil {
			return nil, err
		}
		m.bad = append(m.bad, bad...)
	}
	summary := "ufw inactive, as ufw.conf says"
	if enabled {
		summary = "ufw active"
	}
	if ipt == "" {
		summary += "; it applies no sysctl file (IPT_SYSCTL empty)"
	}
	cc := m.check(c, summary)
	return &cc, nil
}

// ufwSysctl compares the sysctl file ufw applies at every start (ipt)
// with the marked sysctl.d files: what contradicts them.
func (j judge) ufwSysctl(ipt string, files []*managedFile) ([]string, error) {
	if !safePath.MatchString(ipt) {
		return []string{fmt.Sprintf("IPT_SYSCTL=%q in /etc/default/ufw cannot be checked", ipt)}, nil
	}
	text, status, err := j.run(j.ctx, "sudo -n cat -- "+ipt)
	if err != nil || status != 0 {
		return nil, err
	}
	var bad []string
	theirs, perr := parseSysctl(text)
	if perr != nil {
		bad = append(bad, fmt.Sprintf("cannot parse %s:%v", ipt, perr))
	}
	for _, f := range files {
		if f.kind != kindSysctl {
			continue
		}
		for _, d := range f.decls {
			for _, t := range theirs {
				if t.key == d.key && t.want != d.want {
					bad = append(bad, fmt.Sprintf("ufw applies %s at every start: %s:%d sets %s = %s, %s:%d sets %s",
						ipt, ipt, t.line, t.key, t.want, f.path, d.line, d.want))
				}
			}
		}
	}
	return bad, nil
}

// shellVars reads NAME=value lines of a shell-sourced file (quotes removed).
func shellVars(text string) map[string]string {
	out := map[string]string{}
	for _, l := range lines(text, "#") {
		k, v, ok := strings.Cut(l.s, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			continue
		}
		out[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return out
}
