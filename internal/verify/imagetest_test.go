package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/sshkey/sshtest"
)

// fakeLauncher is a TEST DOUBLE for Launcher: no cloud, no
// VM. Launch starts a fakeSSHServer (see ssh_test.go) on 127.0.0.1 that
// accepts only LaunchRequest.PublicKey for LaunchRequest.User and answers
// commands from a table; Terminate stops it. Both calls are recorded.
type fakeLauncher struct {
	commands     map[string]reply
	upAfter      time.Duration // sshd answers only this long after Launch
	never        bool          // sshd never comes up: nothing listens
	launchErr    error
	terminateErr error
	console      string // Instance.Console

	mu         sync.Mutex
	launches   []cloud.LaunchRequest
	terminated []string
	servers    []*sshtest.Server
}

// newLauncher is a launcher whose instances pass every built-in check
// for sindri 3.0.1 with CIS hardening.
func newLauncher(t *testing.T) *fakeLauncher {
	// The in-effect check's commands answer as a hardened instance does,
	// and so does sshd -T.
	commands := loadSession(t, hardenedSession)
	commands["cloud-init status --wait"] = reply{Stdout: "\nstatus: done\n"}
	commands["sindri --version"] = reply{Stdout: "sindri 3.0.1\n"}
	l := &fakeLauncher{commands: commands}
	t.Cleanup(func() { // kept instances
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.servers {
			s.Close()
		}
	})
	return l
}

func (l *fakeLauncher) Launch(ctx context.Context, req cloud.LaunchRequest) (*cloud.Instance, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.launches = append(l.launches, req)
	if l.launchErr != nil {
		return nil, l.launchErr
	}
	inst := &cloud.Instance{
		ID: "fake-" + strconv.Itoa(len(l.launches)), Host: "127.0.0.1",
		User: req.User, Console: l.console,
	}
	if l.never {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		inst.Port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return inst, nil
	}
	srv, err := newFakeSSH(req.User, req.PublicKey, l.commands, l.upAfter, false)
	if err != nil {
		return nil, err
	}
	l.servers = append(l.servers, srv)
	inst.Port, inst.Handle = srv.Port, srv
	return inst, nil
}

func (l *fakeLauncher) Terminate(ctx context.Context, inst *cloud.Instance) error {
	if ctx.Err() != nil {
		return ctx.Err() // Test must hand over a fresh context
	}
	l.mu.Lock()
	l.terminated = append(l.terminated, inst.ID)
	l.mu.Unlock()
	if srv, ok := inst.Handle.(*sshtest.Server); ok {
		srv.Close()
	}
	return l.terminateErr
}

func (l *fakeLauncher) calls() (launches []cloud.LaunchRequest, terminated []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.launches), slices.Clone(l.terminated)
}

// server is the fake sshd of the only instance launched.
func (l *fakeLauncher) server(t *testing.T) *sshtest.Server {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.servers) != 1 {
		t.Fatalf("%d instances started, want 1", len(l.servers))
	}
	return l.servers[0]
}

// assertTerminated checks that the one instance was destroyed exactly
// once and its sshd is gone.
func (l *fakeLauncher) assertTerminated(t *testing.T) {
	t.Helper()
	launches, terminated := l.calls()
	if len(launches) != 1 || !slices.Equal(terminated, []string{"fake-1"}) {
		t.Fatalf("launched %d, terminated %q; want fake-1 launched and terminated once", len(launches), terminated)
	}
	if l.never {
		return
	}
	if c, err := net.Dial("tcp", l.server(t).Addr()); err == nil {
		c.Close()
		t.Error("the instance's sshd still listens after Terminate")
	}
}

func testOptions(t *testing.T, l *fakeLauncher) TestOptions {
	return TestOptions{
		Launcher: l,
		Config:   &config.Config{},
		ImageID:  "output/sindri-3.0.1.qcow2",
		RunID:    "run-42",
		Inputs: Inputs{
			SindriVersion: "3.0.1", Profile: "minimal", CISHardening: true, SSHUser: "sindri",
		},
		WorkDir:     t.TempDir(),
		BootTimeout: 5 * time.Second,
		Log:         &report.Buffer{},
	}
}

// readSigner reads an OpenSSH private key file.
func readSigner(t *testing.T, keyFile string) ssh.Signer {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// allChecks are the checks of a hardened instance, in report order.
var allChecks = []string{"ssh", "cloud-init", "sindri-version", "sshd-config",
	auditCheck, modCheck, sshdCheck, sysctlCheck, unitCheck, ufwCheck}

func checkNames(checks []Check) []string {
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	return names
}

func findCheck(t *testing.T, rep *Report, name string) Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Checks)
	return Check{}
}

func TestImageTestPasses(t *testing.T) {
	l := newLauncher(t)
	o := testOptions(t, l)
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	if rep.Status != "passed" || rep.Failed() {
		t.Errorf("Status %q (Failed %v), want passed:\n%s", rep.Status, rep.Failed(), rep.Markdown("qemu"))
	}
	if !slices.Equal(checkNames(rep.Checks), allChecks) {
		t.Errorf("checks %q, want %q", checkNames(rep.Checks), allChecks)
	}
	for _, c := range rep.Checks {
		if !c.Passed {
			t.Errorf("check %s failed: %s", c.Name, c.Message)
		}
	}
	if c := findCheck(t, rep, "sindri-version"); c.Command != "sindri --version" || c.Output != "sindri 3.0.1" {
		t.Errorf("sindri-version check = %+v, want its command and trimmed output", c)
	}
	if !strings.Contains(rep.InSpecSkipped, "only the built-in checks ran") || rep.InSpec != nil {
		t.Errorf("InSpecSkipped %q, InSpec %+v; want skipped with a reason", rep.InSpecSkipped, rep.InSpec)
	}
	if rep.Instance != "fake-1" || rep.Kept != nil || rep.Duration <= 0 {
		t.Errorf("Instance %q, Kept %+v, Duration %s", rep.Instance, rep.Kept, rep.Duration)
	}
	if got := rep.Summary(); got != "passed" {
		t.Errorf("Summary() = %q, want passed", got)
	}
	// The built-in checks, then the in-effect check's session.
	execs, _, _ := l.server(t).Log()
	if want := []string{"cloud-init status --wait", "sindri --version", "sudo -n sshd -T", findManagedCmd}; !slices.Equal(execs[:4], want) {
		t.Errorf("ran %q, want it to start with %q", execs, want)
	}
	for _, cmd := range execs {
		if _, ok := l.commands[cmd]; !ok {
			t.Errorf("ran %q, which the instance does not answer", cmd)
		}
	}
	l.assertTerminated(t)

	// What Launch was asked for.
	launches, _ := l.calls()
	assertLaunchedWithOneOffKey(t, o, launches[0])

	log := o.Log.(*report.Buffer).String()
	for _, w := range []string{
		"booting a test instance from output/sindri-3.0.1.qcow2",
		"waiting for SSH on 127.0.0.1:",
		"check sindri-version: passed",
		"test instance fake-1 destroyed",
	} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
}

// assertLaunchedWithOneOffKey checks what Launch was asked for: the
// test's image, run and user, a folder in WorkDir, and the one-off key,
// which stays in WorkDir (the caller removes it) and is the one the
// instance was told to authorize.
func assertLaunchedWithOneOffKey(t *testing.T, o TestOptions, req cloud.LaunchRequest) {
	t.Helper()
	if req.Config != o.Config || req.ImageID != o.ImageID || req.RunID != "run-42" || req.User != "sindri" {
		t.Errorf("LaunchRequest = %+v", req)
	}
	if fi, err := os.Stat(req.WorkDir); err != nil || !fi.IsDir() || filepath.Dir(req.WorkDir) != o.WorkDir {
		t.Errorf("LaunchRequest.WorkDir %s: want a folder inside WorkDir (%v)", req.WorkDir, err)
	}
	keyFile := filepath.Join(o.WorkDir, "key", "id_ed25519")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("private key: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	signer := readSigner(t, keyFile)
	authorized, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		t.Fatalf("LaunchRequest.PublicKey %q: %v", req.PublicKey, err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), authorized.Marshal()) {
		t.Error("LaunchRequest.PublicKey is not the key in WorkDir/key")
	}
	if !strings.Contains(req.PublicKey, "sindri-packer-test-run-42") {
		t.Errorf("PublicKey %q lacks the run's comment", req.PublicKey)
	}
}

// checkCase changes one reply of a passing instance (or the inputs) and
// says which built-in check fails, with words of its message.
type checkCase struct {
	name    string
	command string // the reply to change
	reply   reply
	inputs  func(*Inputs)
	failed  string // the failing check, "" when all pass
	message []string
	// alsoFailed: in-effect checks that fail with it (sshd -T is
	// read by both sshd-config and the drop-in's in-effect check).
	alsoFailed []string
}

var checkCases = []checkCase{
	{name: "all pass"},
	{
		name: "wrong sindri version", command: "sindri --version", reply: reply{Stdout: "sindri 3.0.0\n"},
		failed: "sindri-version", message: []string{`says "sindri 3.0.0"`, "want 3.0.1"},
	},
	{
		name: "a version that only starts the same", command: "sindri --version", reply: reply{Stdout: "sindri 3.0.10\n"},
		failed: "sindri-version", message: []string{"3.0.10", "want 3.0.1"},
	},
	{name: "v-prefixed version", command: "sindri --version", reply: reply{Stdout: "sindri v3.0.1 (linux/amd64)\n"}},
	{
		name: "any version when none is wanted", command: "sindri --version", reply: reply{Stdout: "sindri 2.9.0\n"},
		inputs: func(in *Inputs) { in.SindriVersion = "" },
	},
	{
		name: "sindri missing", command: "sindri --version", reply: sshtest.NotFound,
		failed: "sindri-version", message: []string{"sindri is not runnable", "status 127"},
	},
	{
		name: "root login with CIS hardening", command: "sudo -n sshd -T",
		reply:  reply{Stdout: "permitrootlogin yes\npasswordauthentication no\n"},
		failed: "sshd-config", message: []string{"sshd runs without permitrootlogin no"},
		alsoFailed: []string{sshdCheck},
	},
	{
		name: "password login with CIS hardening", command: "sudo -n sshd -T",
		reply:  reply{Stdout: "permitrootlogin no\npasswordauthentication yes\n"},
		failed: "sshd-config", message: []string{"without passwordauthentication no"},
		alsoFailed: []string{sshdCheck},
	},
	{
		name: "root login without CIS hardening", command: "sudo -n sshd -T",
		reply:  reply{Stdout: "permitrootlogin yes\npasswordauthentication yes\n"},
		inputs: func(in *Inputs) { in.CISHardening = false },
		// The image still carries the drop-in, which sshd does not follow.
		alsoFailed: []string{sshdCheck},
	},
	{
		name: "sshd -T fails", command: "sudo -n sshd -T",
		reply:  reply{Stderr: "sudo: a password is required\n", Status: 1},
		failed: "sshd-config", message: []string{"sshd -T failed", "status 1"},
		alsoFailed: []string{sshdCheck},
	},
	{name: "cloud-init degraded", command: "cloud-init status --wait", reply: reply{Stdout: "status: degraded done\n", Status: 2}},
	{
		name: "cloud-init error", command: "cloud-init status --wait", reply: reply{Stdout: "status: error\n", Status: 1},
		failed: "cloud-init", message: []string{"cloud-init did not finish", "status 1"},
	},
	{
		// Only exactly 2 means degraded, not any status starting with 2.
		name: "cloud-init status 20", command: "cloud-init status --wait", reply: reply{Status: 20},
		failed: "cloud-init", message: []string{"status 20"},
	},
}

func TestImageTestChecks(t *testing.T) {
	for _, tt := range checkCases {
		t.Run(tt.name, func(t *testing.T) { runCheckCase(t, tt) })
	}
}

func runCheckCase(t *testing.T, tt checkCase) {
	l := newLauncher(t)
	if tt.command != "" {
		l.commands[tt.command] = tt.reply
	}
	o := testOptions(t, l)
	if tt.inputs != nil {
		tt.inputs(&o.Inputs)
	}
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	if !slices.Equal(checkNames(rep.Checks), allChecks) {
		t.Errorf("checks %q, want %q", checkNames(rep.Checks), allChecks)
	}
	for _, c := range rep.Checks {
		if c.Passed != (c.Name != tt.failed && !slices.Contains(tt.alsoFailed, c.Name)) {
			t.Errorf("check %s passed=%v (%s)", c.Name, c.Passed, c.Message)
		}
	}
	wantStatus := "passed"
	if tt.failed != "" || len(tt.alsoFailed) > 0 {
		wantStatus = "failed"
	}
	if tt.failed != "" {
		c := findCheck(t, rep, tt.failed)
		for _, w := range tt.message {
			if !strings.Contains(c.Message, w) {
				t.Errorf("%s message %q lacks %q", c.Name, c.Message, w)
			}
		}
		if !strings.Contains(rep.Summary(), tt.failed+": ") {
			t.Errorf("Summary() = %q, want it to name %s", rep.Summary(), tt.failed)
		}
	}
	if rep.Status != wantStatus {
		t.Errorf("Status %q, want %q", rep.Status, wantStatus)
	}
	l.assertTerminated(t)
}

func TestImageTestSSHNeverUp(t *testing.T) {
	console := filepath.Join(t.TempDir(), "console.log")
	var boot strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&boot, "boot line %02d\n", i)
	}
	if err := os.WriteFile(console, []byte(boot.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := newLauncher(t)
	l.never, l.console = true, console
	o := testOptions(t, l)
	o.BootTimeout = 300 * time.Millisecond
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	if rep.Status != "failed" || len(rep.Checks) != 1 || rep.Checks[0].Name != "ssh" || rep.Checks[0].Passed {
		t.Fatalf("report %+v, want failed on the ssh check alone", rep)
	}
	msg := rep.Checks[0].Message
	for _, w := range []string{"not reachable within 300ms", "last console lines:", "boot line 06", "boot line 20"} {
		if !strings.Contains(msg, w) {
			t.Errorf("ssh message lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "boot line 05") {
		t.Errorf("ssh message has more than the last 15 console lines:\n%s", msg)
	}
	l.assertTerminated(t)
}

// sshd comes up a while after the instance: Test waits for it.
func TestImageTestSSHLate(t *testing.T) {
	t.Parallel()
	l := newLauncher(t)
	l.upAfter = 500 * time.Millisecond
	rep, err := Test(t.Context(), testOptions(t, l))
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	if rep.Status != "passed" {
		t.Errorf("Status %q: %s", rep.Status, rep.Summary())
	}
	if rep.Duration < 900*time.Millisecond {
		t.Errorf("Duration %s, want the 1 s retry", rep.Duration)
	}
	l.assertTerminated(t)
}

func TestImageTestLaunchError(t *testing.T) {
	l := newLauncher(t)
	l.launchErr = errors.New("no capacity")
	rep, err := Test(t.Context(), testOptions(t, l))
	if !errors.Is(err, l.launchErr) || !strings.Contains(err.Error(), "launch test instance: no capacity") {
		t.Fatalf("Test error = %v, want the launch error", err)
	}
	if rep != nil {
		t.Errorf("Test returned %+v with the error, want nil", rep)
	}
	if _, terminated := l.calls(); len(terminated) != 0 {
		t.Errorf("terminated %q, want nothing", terminated)
	}
}

func TestImageTestTerminateError(t *testing.T) {
	l := newLauncher(t)
	l.terminateErr = errors.New("instance is stuck")
	rep, err := Test(t.Context(), testOptions(t, l))
	if !errors.Is(err, l.terminateErr) || !strings.Contains(err.Error(), "terminate test instance fake-1") {
		t.Fatalf("Test error = %v, want the terminate error", err)
	}
	if rep == nil || rep.Status != "passed" {
		t.Errorf("report %+v, want the checks' result kept", rep)
	}
}

func TestImageTestUnusableDirs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  func(*TestOptions)
	}{
		{name: "WorkDir is a file", set: func(o *TestOptions) { o.WorkDir = file }},
		{name: "KeepDir is a file", set: func(o *TestOptions) { o.Keep, o.KeepDir = true, file }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLauncher(t)
			o := testOptions(t, l)
			tt.set(&o)
			if rep, err := Test(t.Context(), o); err == nil {
				t.Fatalf("Test = %+v, want an error", rep)
			}
			if launches, _ := l.calls(); len(launches) != 0 {
				t.Errorf("launched %d instances, want none", len(launches))
			}
		})
	}
}

func TestImageTestRequireInSpec(t *testing.T) {
	l := newLauncher(t)
	o := testOptions(t, l)
	o.RequireInSpec = true
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	c := findCheck(t, rep, "inspec")
	if rep.Status != "failed" || c.Passed || !strings.Contains(c.Message, "InSpec is required") {
		t.Errorf("Status %q, inspec check %+v; want failed because InSpec is required", rep.Status, c)
	}
	if rep.InSpecSkipped != "" {
		t.Errorf("InSpecSkipped %q with RequireInSpec", rep.InSpecSkipped)
	}
	l.assertTerminated(t)
}

func TestImageTestKeep(t *testing.T) {
	l := newLauncher(t)
	o := testOptions(t, l)
	o.Keep, o.KeepDir = true, filepath.Join(t.TempDir(), "keep", "run-42")
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	if _, terminated := l.calls(); len(terminated) != 0 {
		t.Fatalf("terminated %q with Keep", terminated)
	}
	srv := l.server(t)
	keyFile := filepath.Join(o.KeepDir, "id_ed25519")
	want := &Kept{ID: "fake-1", Host: "127.0.0.1", Port: srv.Port, User: "sindri", KeyFile: keyFile}
	if rep.Kept == nil || *rep.Kept != *want {
		t.Fatalf("Kept = %+v, want %+v", rep.Kept, want)
	}
	if _, err := os.Stat(filepath.Join(o.WorkDir, "key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("with Keep the key went to WorkDir too (%v)", err)
	}
	wantCmd := fmt.Sprintf("ssh -i %s -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null sindri@127.0.0.1", keyFile, srv.Port)
	if got := rep.Kept.SSHCommand(); got != wantCmd {
		t.Errorf("SSHCommand() = %q, want %q", got, wantCmd)
	}
	if md := rep.Markdown("qemu"); !strings.Contains(md, "Instance kept running (--keep): `"+wantCmd+"`") {
		t.Errorf("Markdown lacks the kept-instance line:\n%s", md)
	}
	// The kept instance still runs and takes the kept key.
	signer := readSigner(t, keyFile)
	c, err := srv.Dial("sindri", signer)
	if err != nil {
		t.Fatalf("the kept instance refuses its kept key: %v", err)
	}
	c.Close()
}

func TestImageTestCancel(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeLauncher, *TestOptions)
	}{
		{
			name: "waiting for SSH",
			setup: func(l *fakeLauncher, o *TestOptions) {
				l.never = true
				o.BootTimeout = time.Minute
			},
		},
		{
			name: "during a check",
			setup: func(l *fakeLauncher, o *TestOptions) {
				l.commands["cloud-init status --wait"] = reply{Stdout: "....", Block: true}
			},
		},
		{
			name: "during InSpec",
			setup: func(l *fakeLauncher, o *TestOptions) {
				o.InSpec, o.ProfileDir = fakeInSpecBin(t), filepath.Join("testdata", "profile")
				o.Env = inspecEnv(t, "hang")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLauncher(t)
			o := testOptions(t, l)
			tt.setup(l, &o)
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			rep, err := Test(ctx, o)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Test error = %v, want context.Canceled", err)
			}
			if rep == nil {
				t.Error("no report with the cancel")
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("Test returned %s after the cancel, want at once", d)
			}
			l.assertTerminated(t)
		})
	}
}

// fakeInSpecBin copies the test double testdata/fake-inspec (not the real
// tool; see inspec_test.go) into a fresh folder as "inspec".
func fakeInSpecBin(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fake-inspec"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "inspec")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// inspecEnv is the fake's whole environment for FAKE_INSPEC_MODE mode.
func inspecEnv(t *testing.T, mode string, more ...string) []string {
	t.Helper()
	reports, err := filepath.Abs(filepath.Join("testdata", "reports"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"FAKE_INSPEC_MODE=" + mode, "FAKE_INSPEC_REPORTS=" + reports}, more...)
}

func TestImageTestInSpec(t *testing.T) {
	tests := []struct {
		mode        string
		env         []string
		wantStatus  string
		wantInSpec  string // InSpec's own status
		wantSummary string
		wantCheck   string // an inspec check's message, "" for none
	}{
		{mode: "pass", wantStatus: "passed", wantInSpec: "passed", wantSummary: "passed"},
		// A run with only skips does not fail the image.
		{mode: "skip", wantStatus: "passed", wantInSpec: "skipped", wantSummary: "passed"},
		{mode: "fail", wantStatus: "failed", wantInSpec: "failed", wantSummary: "3 InSpec control(s) failed"},
		{
			mode: "custom", env: []string{"FAKE_INSPEC_COPY=pass.json", "FAKE_INSPEC_EXIT=100"},
			wantStatus: "failed", wantInSpec: "failed", wantSummary: "inspec: ",
			wantCheck: "exit 100 means failed, the report says passed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			l := newLauncher(t)
			o := testOptions(t, l)
			o.InSpec, o.ProfileDir, o.Env = fakeInSpecBin(t), filepath.Join("testdata", "profile"), inspecEnv(t, tt.mode, tt.env...)
			rep, err := Test(t.Context(), o)
			if err != nil {
				t.Fatalf("Test: %v", err)
			}
			if rep.Status != tt.wantStatus {
				t.Errorf("Status %q, want %q: %s", rep.Status, tt.wantStatus, rep.Summary())
			}
			if rep.InSpec == nil || rep.InSpec.Status != tt.wantInSpec {
				t.Fatalf("InSpec = %+v, want a %s result", rep.InSpec, tt.wantInSpec)
			}
			if rep.InSpecSkipped != "" {
				t.Errorf("InSpecSkipped %q though InSpec ran", rep.InSpecSkipped)
			}
			if got := rep.Summary(); !strings.Contains(got, tt.wantSummary) {
				t.Errorf("Summary() = %q, want %q", got, tt.wantSummary)
			}
			if tt.wantCheck != "" {
				if c := findCheck(t, rep, "inspec"); !strings.Contains(c.Message, tt.wantCheck) {
					t.Errorf("inspec check %q lacks %q", c.Message, tt.wantCheck)
				}
			}
			l.assertTerminated(t)

			// InSpec was pointed at the instance with the one-off key.
			args, err := os.ReadFile(filepath.Join(o.WorkDir, "inspec", "fake-inspec.args"))
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("-t\nssh://sindri@127.0.0.1:%d\n-i\n%s\n", l.server(t).Port, filepath.Join(o.WorkDir, "key", "id_ed25519"))
			if !strings.Contains(string(args), want) {
				t.Errorf("inspec arguments:\n%s\nwant\n%s", args, want)
			}
		})
	}
}

func TestImageTestInSpecError(t *testing.T) {
	l := newLauncher(t)
	o := testOptions(t, l)
	o.InSpec, o.ProfileDir, o.Env = fakeInSpecBin(t), filepath.Join("testdata", "profile"), inspecEnv(t, "crash")
	rep, err := Test(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "inspec: inspec exec: exit 1") {
		t.Fatalf("Test = %+v, %v; want inspec's crash as the error", rep, err)
	}
	l.assertTerminated(t)
}

// Markdown from a real run: a kept instance whose InSpec run failed.
func TestImageTestMarkdown(t *testing.T) {
	l := newLauncher(t)
	o := testOptions(t, l)
	o.Keep, o.KeepDir = true, t.TempDir()
	o.InSpec, o.ProfileDir, o.Env = fakeInSpecBin(t), filepath.Join("testdata", "profile"), inspecEnv(t, "fail")
	rep, err := Test(t.Context(), o)
	if err != nil {
		t.Fatalf("Test: %v", err)
	}
	md := rep.Markdown("qemu")
	if !strings.HasPrefix(md, "#### image test: qemu — failed\n") {
		t.Errorf("Markdown heading:\n%s", md)
	}
	var rows []string
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| id ") {
			rows = append(rows, strings.Split(line, " | ")[0][2:])
		}
	}
	want := []string{
		"docker-01", "sindri-02", "ssh-01", // failed
		"check:ssh", "check:cloud-init", "check:sindri-version", "check:sshd-config",
		"check:" + auditCheck, "check:" + modCheck, "check:" + sshdCheck, "check:" + sysctlCheck,
		"check:" + unitCheck, "check:" + ufwCheck, "cis-01", "sindri-01",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q:\n%s", rows, want, md)
	}
	for _, w := range []string{
		"| sindri-02 | Sindri version matches | 0.7 | failed | Command: `sindri --version`",
		"| check:sindri-version | sindri --version | — | passed |  |",
		"\nInstance kept running (--keep): `ssh -i " + filepath.Join(o.KeepDir, "id_ed25519"),
	} {
		if !strings.Contains(md, w) {
			t.Errorf("Markdown lacks %q:\n%s", w, md)
		}
	}
}

func TestReportSummaryAndMarkdown(t *testing.T) {
	long := "x" + strings.Repeat("é", 150) // a cut at 200 bytes (report.MaxCell) falls inside an é
	rep := &Report{
		Status: "failed",
		Checks: []Check{
			{Name: "ssh", Passed: true, Message: "logged in"},
			{Name: "sshd-config", Command: "sudo -n sshd -T", Message: "sshd runs without permitrootlogin no"},
			{Name: "odd", Command: "a | b", Message: "line one\nline two"},
			{Name: "long", Message: long},
		},
		InSpec: &Result{
			Status: "failed", Failed: 2,
			Controls: []Control{
				{ID: "c-1", Title: "One", Impact: 1, Status: "failed", Message: "bad"},
				{ID: "c-2", Title: "Two", Impact: 0.5, Status: "failed"},
				{ID: "c-3", Title: "Three", Impact: 0.3, Status: "passed"},
			},
		},
		InSpecSkipped: "",
	}
	wantSummary := "sshd-config: sshd runs without permitrootlogin no; odd: line one\nline two; long: " + long + "; 2 InSpec control(s) failed"
	if got := rep.Summary(); got != wantSummary {
		t.Errorf("Summary() = %q, want %q", got, wantSummary)
	}
	md := rep.Markdown("aws")
	for _, w := range []string{
		"#### image test: aws — failed\n\n| id | title | impact | status | message |\n|---|---|---|---|---|\n" +
			"| check:sshd-config | sudo -n sshd -T | — | failed | sshd runs without permitrootlogin no |\n" +
			"| check:odd | a \\| b | — | failed | line one line two |\n",
		"| c-1 | One | 1.0 | failed | bad |\n| c-2 | Two | 0.5 | failed |  |\n| check:ssh |  | — | passed | logged in |\n| c-3 | Three | 0.3 | passed |  |\n",
	} {
		if !strings.Contains(md, w) {
			t.Errorf("Markdown lacks\n%s\nin\n%s", w, md)
		}
	}
	if !utf8.ValidString(md) {
		t.Error("Markdown is not valid UTF-8: a long cell was cut inside a character")
	}
	if !strings.Contains(md, "| check:long |  | — | failed | x"+strings.Repeat("é", 99)+"…") {
		t.Errorf("long message not cut to 200 bytes with an ellipsis:\n%s", md)
	}
	if strings.Contains(md, "InSpec:") || strings.Contains(md, "kept running") {
		t.Errorf("Markdown has an InSpec-skipped or kept line it should not:\n%s", md)
	}

	skipped := &Report{Status: "passed", Checks: []Check{{Name: "ssh", Passed: true}}, InSpecSkipped: "not installed"}
	if md := skipped.Markdown("qemu"); !strings.Contains(md, "\nInSpec: not installed\n") {
		t.Errorf("Markdown lacks the InSpec-skipped line:\n%s", md)
	}
	if got := skipped.Summary(); got != "passed" {
		t.Errorf("Summary() = %q, want passed", got)
	}
}

func TestContainsWord(t *testing.T) {
	tests := []struct {
		s, w string
		want bool
	}{
		{s: "sindri 3.0.1", w: "3.0.1", want: true},
		{s: "sindri 3.0.1\n", w: "3.0.1", want: true},
		{s: "sindri v3.0.1", w: "3.0.1", want: true},
		{s: "sindri 3.0.1", w: "v3.0.1", want: true},
		{s: "sindri (3.0.1)", w: "3.0.1", want: true},
		{s: "sindri 3.0.1, commit abc", w: "3.0.1", want: true},
		{s: "sindri\t3.0.1", w: "3.0.1", want: true},
		{s: "sindri 3.0.10", w: "3.0.1", want: false},
		{s: "sindri 13.0.1", w: "3.0.1", want: false},
		{s: "sindri 3.0.1-rc1", w: "3.0.1", want: false},
		{s: "sindri3.0.1", w: "3.0.1", want: false},
		{s: "", w: "3.0.1", want: false},
	}
	for _, tt := range tests {
		if got := containsWord(tt.s, tt.w); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v, want %v", tt.s, tt.w, got, tt.want)
		}
	}
}

func TestConsoleTail(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var twenty strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&twenty, "l%d\n", i)
	}
	tests := []struct {
		name, path, want string
	}{
		{name: "no console", path: "", want: ""},
		{name: "missing file", path: filepath.Join(dir, "nope"), want: ""},
		{name: "empty file", path: write("empty", ""), want: ""},
		{name: "short", path: write("short", "a\nb\n\n"), want: "\nlast console lines:\na\nb"},
		{name: "no final newline", path: write("nonl", "a\nb"), want: "\nlast console lines:\na\nb"},
		{
			name: "long", path: write("long", twenty.String()),
			want: "\nlast console lines:\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14\nl15\nl16\nl17\nl18\nl19\nl20",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := consoleTail(tt.path); got != tt.want {
				t.Errorf("consoleTail = %q, want %q", got, tt.want)
			}
		})
	}
}
