package verify

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/sshkey/sshtest"
)

// reply is the fake sshd's canned answer to one exec request.
type reply = sshtest.Reply

// newFakeSSH starts a fake sshd (sshtest) that lets in user with the key
// of the authorized_keys line authorized; the caller closes it.
func newFakeSSH(user, authorized string, commands map[string]reply, upAfter time.Duration, stall bool) (*sshtest.Server, error) {
	only, err := sshtest.Only(user, authorized)
	if err != nil {
		return nil, err
	}
	return sshtest.New(sshtest.Config{Authorize: only, Commands: commands, UpAfter: upAfter, Stall: stall})
}

// closedPort is a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestWaitForSSH(t *testing.T) {
	key := sshtest.NewKey(t)
	srv := sshtest.StartFor(t, "sindri", key.Authorized, map[string]reply{"true": {}})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.Port, "sindri", key.Signer, time.Second)
	if err != nil {
		t.Fatalf("WaitForSSH: %v", err)
	}
	defer c.Close()
	if out, err := Run(t.Context(), c, "true"); err != nil || out != "" {
		t.Errorf(`Run("true") = %q, %v; want "", nil`, out, err)
	}
}

// The port answers at once but sshd only after 1.5 s: WaitForSSH retries
// after 1 s, then 2 s, and logs in on the third attempt (at about 3 s).
func TestWaitForSSHBacksOff(t *testing.T) {
	t.Parallel()
	key := sshtest.NewKey(t)
	srv, err := newFakeSSH("sindri", key.Authorized, nil, 1500*time.Millisecond, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	start := time.Now()
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.Port, "sindri", key.Signer, 10*time.Second)
	if err != nil {
		t.Fatalf("WaitForSSH: %v", err)
	}
	c.Close()
	if d := time.Since(start); d < 2500*time.Millisecond || d > 20*time.Second {
		t.Errorf("logged in after %s, want about 3 s (attempts at 0, 1 and 3 s)", d)
	}
}

func TestWaitForSSHTimeout(t *testing.T) {
	t.Parallel()
	key := sshtest.NewKey(t)
	port := closedPort(t)
	start := time.Now()
	c, err := WaitForSSH(t.Context(), "127.0.0.1", port, "sindri", key.Signer, 1500*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("WaitForSSH succeeded with nothing listening")
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, w := range []string{"sindri@" + addr, "not reachable within 1.5s", "connection refused"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	// Attempts at 0 and 1 s; a third, at 3 s, would be past the deadline.
	if d := time.Since(start); d < 900*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("gave up after %s, want about 1 s", d)
	}
}

// A refused key is retried like a closed port, then reported.
func TestWaitForSSHWrongKey(t *testing.T) {
	good, other := sshtest.NewKey(t), sshtest.NewKey(t)
	srv := sshtest.StartFor(t, "sindri", good.Authorized, nil)
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.Port, "sindri", other.Signer, 100*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("WaitForSSH logged in with a key the server does not authorize")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("error %q does not say the key was refused", err)
	}
}

func TestWaitForSSHCancel(t *testing.T) {
	key := sshtest.NewKey(t)
	stalled, err := newFakeSSH("sindri", key.Authorized, nil, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stalled.Close)
	tests := []struct {
		name string
		port int
	}{
		// Between attempts: the backoff sleep ends at once.
		{name: "closed port", port: closedPort(t)},
		// During an attempt: the handshake itself must stop, not run
		// into its own 15 s timeout.
		{name: "stalled handshake", port: stalled.Port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			c, err := WaitForSSH(ctx, "127.0.0.1", tt.port, "sindri", key.Signer, time.Minute)
			if err == nil {
				c.Close()
				t.Fatal("WaitForSSH succeeded")
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("returned %s after the cancel, want at once", d)
			}
		})
	}
}

func TestRun(t *testing.T) {
	key := sshtest.NewKey(t)
	srv := sshtest.StartFor(t, "sindri", key.Authorized, map[string]reply{
		"echo hi":  {Stdout: "hi\n"},
		"false":    {Stdout: "some output\n", Status: 3},
		"both":     {Stdout: "to stdout\n", Stderr: "to stderr\n"},
		"quiet ok": {},
	})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.Port, "sindri", key.Signer, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		command    string
		want       []string
		wantStatus int // -1: no error
	}{
		{command: "echo hi", want: []string{"hi\n"}, wantStatus: -1},
		{command: "quiet ok", wantStatus: -1},
		{command: "false", want: []string{"some output\n"}, wantStatus: 3},
		{command: "both", want: []string{"to stdout\n", "to stderr\n"}, wantStatus: -1},
		{command: "no-such-command", want: []string{"command not found"}, wantStatus: 127},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			out, err := Run(t.Context(), c, tt.command)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			if len(tt.want) == 0 && out != "" {
				t.Errorf("output %q, want none", out)
			}
			var exit *ssh.ExitError
			switch {
			case tt.wantStatus < 0 && err != nil:
				t.Errorf("error %v, want nil", err)
			case tt.wantStatus >= 0 && !errors.As(err, &exit):
				t.Errorf("error %v, want an *ssh.ExitError", err)
			case tt.wantStatus >= 0 && exit.ExitStatus() != tt.wantStatus:
				t.Errorf("exit status %d, want %d", exit.ExitStatus(), tt.wantStatus)
			}
		})
	}
	execs, _, _ := srv.Log()
	if len(execs) != len(tests) {
		t.Errorf("server ran %q, want the %d commands once each", execs, len(tests))
	}
}

func TestRunCancel(t *testing.T) {
	key := sshtest.NewKey(t)
	srv := sshtest.StartFor(t, "sindri", key.Authorized, map[string]reply{
		"cloud-init status --wait": {Stdout: "....", Stderr: "waiting\n", Block: true},
	})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.Port, "sindri", key.Signer, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	out, err := Run(ctx, c, "cloud-init status --wait")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned %s after the cancel, want at once", d)
	}
	if !strings.Contains(out, "....") {
		t.Errorf("output %q, want what came before the cancel", out)
	}
	// The remote command was told to die; the session is gone, the
	// connection still works.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, signals, _ := srv.Log()
		if len(signals) == 1 && signals[0] == "KILL" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server got signals %q, want [KILL]", signals)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out, err := Run(t.Context(), c, "unknown"); err == nil {
		t.Errorf("Run after a cancel = %q, nil; want exit 127", out)
	}
}
