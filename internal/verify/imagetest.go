package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

// Check is one built-in check run over SSH before InSpec: it proves the
// instance booted, took the one-off key and carries what was asked for,
// even where InSpec is not installed.
type Check struct {
	Name    string `json:"name"`
	Command string `json:"command,omitempty"`
	Output  string `json:"output,omitempty"`
	Passed  bool   `json:"passed"`
	Message string `json:"message,omitempty"`
}

// Kept describes an instance left running by --keep.
type Kept struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	User    string `json:"user"`
	KeyFile string `json:"key_file"`
}

// SSHCommand is how to connect to a kept instance.
func (k *Kept) SSHCommand() string {
	return fmt.Sprintf("ssh -i %s -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null %s@%s", k.KeyFile, k.Port, k.User, k.Host)
}

// Report is one image test.
type Report struct {
	Status        string        `json:"status"` // passed or failed
	Instance      string        `json:"instance,omitempty"`
	Checks        []Check       `json:"checks"`
	InSpec        *Result       `json:"inspec,omitempty"`
	InSpecSkipped string        `json:"inspec_skipped,omitempty"`
	Kept          *Kept         `json:"kept,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
}

// Failed reports whether the image failed its test.
func (r *Report) Failed() bool { return r.Status != "passed" }

// Launcher boots and destroys the temporary test instance; every
// cloud.Target is one. Terminate must succeed on an instance that is gone
// already, and is called with a fresh context even after a cancel; a
// target without test instances answers Launch with cloud.ErrNotSupported.
type Launcher interface {
	Launch(ctx context.Context, req cloud.LaunchRequest) (*cloud.Instance, error)
	Terminate(ctx context.Context, inst *cloud.Instance) error
}

// TestOptions configure one image test.
type TestOptions struct {
	Launcher Launcher
	Config   *config.Config
	ImageID  string
	RunID    string
	Inputs   Inputs // Inputs.SSHUser is the login user cloud-init creates
	// InSpec is the inspec or cinc-auditor binary; "" when neither is
	// installed: then only the built-in checks run, unless RequireInSpec.
	InSpec        string
	RequireInSpec bool
	ProfileDir    string
	Env           []string // InSpec's environment
	// WorkDir is scratch space, removed by the caller.
	WorkDir string
	// Keep leaves the instance running; its key goes to KeepDir.
	Keep    bool
	KeepDir string
	// BootTimeout bounds the wait for SSH (TCG boots take a minute or two).
	BootTimeout time.Duration
	// AllowSSHFrom is the CIDR a cloud's temporary firewall rule opens
	// port 22 to ("": 0.0.0.0/0).
	AllowSSHFrom string
	Log          io.Writer
}

// Test boots a temporary instance from the image, waits for SSH with the
// one-off key, runs the built-in checks and InSpec, and destroys the
// instance: on success, failure, timeout and cancellation alike (unless
// Keep). An error means the test could not be run at all.
func Test(ctx context.Context, o TestOptions) (rep *Report, err error) {
	start := time.Now()
	t := &tester{o: o, rep: &Report{Status: "passed"}}
	rep = t.rep
	defer func() {
		if rep != nil { // nil when the test could not start
			rep.Duration = time.Since(start)
		}
	}()
	if err := t.launch(ctx); err != nil {
		return nil, err
	}
	inst, user := t.inst, o.Inputs.SSHUser
	rep.Instance = inst.ID
	if o.Keep {
		rep.Kept = &Kept{ID: inst.ID, Host: inst.Host, Port: inst.Port, User: user, KeyFile: t.key.PrivateFile}
	} else {
		defer func() {
			// A fresh context: teardown must happen after a cancel too.
			tctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if terr := o.Launcher.Terminate(tctx, inst); terr != nil && err == nil {
				err = fmt.Errorf("terminate test instance %s: %w", inst.ID, terr)
			}
			t.logf("test instance %s destroyed", inst.ID)
		}()
	}

	t.logf("waiting for SSH on %s:%d", inst.Host, inst.Port)
	client, err := WaitForSSH(ctx, inst.Host, inst.Port, user, t.key.Signer, o.BootTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.fail(Check{Name: "ssh", Message: err.Error() + consoleTail(inst.Console)})
		return rep, nil
	}
	rep.Checks = append(rep.Checks, Check{Name: "ssh", Passed: true, Message: "logged in as " + user + " with the one-off key"})
	defer client.Close()
	t.client = client

	t.builtIn(ctx)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if err := t.inEffect(ctx); err != nil {
		return rep, err
	}
	return rep, t.inspec(ctx)
}

// tester is one image test under way.
type tester struct {
	o      TestOptions
	rep    *Report
	key    *sshkey.Pair
	inst   *cloud.Instance
	client *ssh.Client
}

func (t *tester) logf(format string, args ...any) {
	if t.o.Log != nil {
		fmt.Fprintf(t.o.Log, format+"\n", args...)
	}
}

// add records a check's outcome.
func (t *tester) add(c Check) {
	if c.Passed {
		t.rep.Checks = append(t.rep.Checks, c)
	} else {
		t.rep.fail(c)
	}
	t.logf("check %s: %s", c.Name, map[bool]string{true: "passed", false: "FAILED: " + c.Message}[c.Passed])
}

// launch makes the one-off key and boots the instance with it.
func (t *tester) launch(ctx context.Context) error {
	o := t.o
	keyDir := filepath.Join(o.WorkDir, "key")
	if o.Keep {
		keyDir = o.KeepDir
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return err
	}
	key, err := sshkey.Generate(keyDir, "sindri-packer-test-"+o.RunID)
	if err != nil {
		return err
	}
	t.key = key
	instDir := filepath.Join(o.WorkDir, "instance")
	if err := os.MkdirAll(instDir, 0o755); err != nil {
		return err
	}
	t.logf("booting a test instance from %s", o.ImageID)
	inst, err := o.Launcher.Launch(ctx, cloud.LaunchRequest{
		Config: o.Config, ImageID: o.ImageID, RunID: o.RunID,
		User: o.Inputs.SSHUser, PublicKey: key.Authorized, WorkDir: instDir, AllowSSHFrom: o.AllowSSHFrom,
	})
	if err != nil {
		return fmt.Errorf("launch test instance: %w", err)
	}
	t.inst = inst
	return nil
}

// builtIn runs the checks every image passes: cloud-init finished, the
// Sindri release, sshd's hardening.
func (t *tester) builtIn(ctx context.Context) {
	for _, c := range builtInChecks(t.o.Inputs) {
		out, err := Run(ctx, t.client, c.command)
		ok, msg := c.judge(out, err)
		t.add(Check{Name: c.name, Command: c.command, Output: strings.TrimSpace(out), Passed: ok, Message: msg})
	}
}

// builtInCheck is one command and how its outcome is judged.
type builtInCheck struct {
	name, command string
	judge         func(out string, err error) (bool, string)
}

func builtInChecks(in Inputs) []builtInCheck {
	return []builtInCheck{
		// cloud-init exits 2 for recoverable errors ("degraded"), which a
		// seed without network metadata can produce; 1 is a real failure.
		{"cloud-init", "cloud-init status --wait", func(_ string, err error) (bool, string) {
			var exit *ssh.ExitError
			if errors.As(err, &exit) && exit.ExitStatus() == 2 {
				return true, ""
			}
			if err != nil {
				return false, "cloud-init did not finish: " + errText(err)
			}
			return true, ""
		}},
		{"sindri-version", "sindri --version", func(out string, err error) (bool, string) {
			if err != nil {
				return false, "sindri is not runnable: " + errText(err)
			}
			if want := in.SindriVersion; want != "" && !containsWord(out, want) {
				return false, fmt.Sprintf("sindri --version says %q, want %s", strings.TrimSpace(out), want)
			}
			return true, ""
		}},
		{"sshd-config", "sudo -n sshd -T", func(out string, err error) (bool, string) {
			if err != nil {
				return false, "sshd -T failed: " + errText(err)
			}
			if !in.CISHardening {
				return true, "hardening disabled: not checked"
			}
			for _, line := range []string{"permitrootlogin no", "passwordauthentication no"} {
				if !strings.Contains(strings.ToLower(out), line) {
					return false, "sshd runs without " + line
				}
			}
			return true, ""
		}},
	}
}

// inEffect checks every setting file the scripts wrote against the
// running system. An error is the cancellation.
func (t *tester) inEffect(ctx context.Context) error {
	effective, err := inEffect(ctx, sshRemote(t.client), t.o.Inputs)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t.rep.fail(Check{Name: "in-effect", Message: "could not run: " + err.Error()})
	}
	for _, c := range effective {
		t.add(c)
	}
	return nil
}

// inspec runs the InSpec profile when InSpec is installed.
func (t *tester) inspec(ctx context.Context) error {
	o, rep := t.o, t.rep
	switch {
	case o.InSpec == "" && o.RequireInSpec:
		rep.fail(Check{Name: "inspec", Message: "neither inspec nor cinc-auditor is installed, and InSpec is required"})
		return nil
	case o.InSpec == "":
		rep.InSpecSkipped = "neither inspec nor cinc-auditor is installed: only the built-in checks ran"
		t.logf("%s", rep.InSpecSkipped)
		return nil
	}
	idir := filepath.Join(o.WorkDir, "inspec")
	if err := os.MkdirAll(idir, 0o755); err != nil {
		return err
	}
	res, err := RunInSpec(ctx, RunOptions{
		Bin: o.InSpec, ProfileDir: o.ProfileDir, WorkDir: idir,
		Target: Target{Host: t.inst.Host, Port: t.inst.Port, User: o.Inputs.SSHUser, KeyFile: t.key.PrivateFile},
		Inputs: o.Inputs, Env: o.Env, Log: o.Log,
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrExitMismatch) && res != nil:
		// InSpec's exit code and report disagree: keep the report,
		// whose stricter status already won, and say so.
		rep.fail(Check{Name: "inspec", Message: err.Error()})
	case err != nil:
		return fmt.Errorf("inspec: %w", err)
	}
	rep.InSpec = res
	if res.Status == "failed" {
		rep.Status = "failed"
	}
	return nil
}

func (r *Report) fail(c Check) {
	c.Passed = false
	r.Checks = append(r.Checks, c)
	r.Status = "failed"
}

func errText(err error) string { return err.Error() }

func containsWord(s, w string) bool {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '(' || r == ')' || r == ',' }) {
		if strings.TrimPrefix(f, "v") == strings.TrimPrefix(w, "v") {
			return true
		}
	}
	return false
}

// consoleTail appends the end of the instance's boot log, if any.
func consoleTail(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nlast console lines:\n" + strings.Join(lines, "\n")
}

// Summary says in a few words why a test failed, or that it passed.
func (r *Report) Summary() string {
	var failed []string
	for _, c := range r.Checks {
		if !c.Passed {
			failed = append(failed, c.Name+": "+c.Message)
		}
	}
	if r.InSpec != nil && r.InSpec.Failed > 0 {
		failed = append(failed, fmt.Sprintf("%d InSpec control(s) failed", r.InSpec.Failed))
	}
	if len(failed) == 0 {
		return r.Status
	}
	return strings.Join(failed, "; ")
}

// Markdown renders the test as a table for the job summary and the
// terminal: built-in checks, then InSpec's controls, failures first.
func (r *Report) Markdown(cloud string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### image test: %s — %s\n\n", cloud, r.Status)
	t := report.NewTable(report.Column{Name: "id"}, report.Column{Name: "title"}, report.Column{Name: "impact"},
		report.Column{Name: "status"}, report.Column{Name: "message"})
	var rows [][]string
	for _, c := range r.Checks {
		status := "passed"
		if !c.Passed {
			status = "failed"
		}
		rows = append(rows, []string{"check:" + c.Name, c.Command, "—", status, c.Message})
	}
	if r.InSpec != nil {
		for _, c := range r.InSpec.Controls {
			rows = append(rows, []string{c.ID, c.Title, fmt.Sprintf("%.1f", c.Impact), c.Status, c.Message})
		}
	}
	// Failures first, order otherwise kept.
	for _, pass := range []bool{false, true} {
		for _, row := range rows {
			if (row[3] == "failed") != pass {
				t.Row(row...)
			}
		}
	}
	b.WriteString(t.Markdown())
	if r.InSpecSkipped != "" {
		fmt.Fprintf(&b, "\nInSpec: %s\n", r.InSpecSkipped)
	}
	if r.Kept != nil {
		fmt.Fprintf(&b, "\nInstance kept running (--keep): `%s`\nStop it with: `%s sudo poweroff`\n", r.Kept.SSHCommand(), r.Kept.SSHCommand())
	}
	return b.String()
}
