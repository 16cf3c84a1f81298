package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

// reply is the fake sshd's canned answer to one exec request.
type reply struct {
	stdout, stderr string
	status         uint32
	// block makes the command write its output, then run until the
	// client closes the session or sends a signal (a hung command).
	block bool
}

// notFound is the answer to a command the table does not know.
var notFound = reply{stderr: "sh: 1: command not found\n", status: 127}

// fakeSSHServer is a TEST DOUBLE for the sshd of a booted test instance;
// it is not OpenSSH and runs no commands. It listens on 127.0.0.1:0,
// accepts only one public key for one user (any other key or user is
// refused, as cloud-init's authorized_keys would), and answers "exec"
// requests from a table of canned replies, sending exit-status the way
// sshd does. Until upAt it closes every connection at once, as QEMU's
// user-mode port forward does while the guest's sshd is not yet up; with
// stall it accepts connections and never speaks.
type fakeSSHServer struct {
	user     string
	key      ssh.PublicKey
	commands map[string]reply
	upAt     time.Time
	stall    bool

	ln   net.Listener
	port int
	cfg  *ssh.ServerConfig
	wg   sync.WaitGroup

	mu      sync.Mutex
	conns   map[net.Conn]bool
	closed  bool
	execs   []string // commands run, in order
	signals []string // signals received
	refused int      // authentication attempts refused
}

// startFakeSSH starts a fake sshd for user and the authorized_keys line
// authorized. It is closed when the test ends.
func startFakeSSH(t *testing.T, user, authorized string, commands map[string]reply) *fakeSSHServer {
	t.Helper()
	s, err := newFakeSSH(user, authorized, commands, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newFakeSSH(user, authorized string, commands map[string]reply, upAfter time.Duration, stall bool) (*fakeSSHServer, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
	if err != nil {
		return nil, fmt.Errorf("fake sshd: authorized key: %w", err)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &fakeSSHServer{
		user: user, key: key, commands: commands,
		upAt: time.Now().Add(upAfter), stall: stall,
		ln: ln, port: ln.Addr().(*net.TCPAddr).Port,
		conns: map[net.Conn]bool{},
	}
	s.cfg = &ssh.ServerConfig{
		// Public keys only: no password or keyboard-interactive callback.
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == s.user && bytes.Equal(k.Marshal(), s.key.Marshal()) {
				return nil, nil
			}
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			return nil, fmt.Errorf("fake sshd: key %s for %s refused", ssh.FingerprintSHA256(k), c.User())
		},
	}
	s.cfg.AddHostKey(hostKey)
	s.wg.Go(s.accept)
	return s, nil
}

func (s *fakeSSHServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *fakeSSHServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		if !s.stall && time.Now().Before(s.upAt) {
			conn.Close() // "booting": the port answers, sshd does not
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(conn) })
	}
}

func (s *fakeSSHServer) serve(conn net.Conn) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	if s.stall {
		_, _ = io.Copy(io.Discard, conn) // until the client or Close hangs up
		return
	}
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.cfg)
	if err != nil {
		return // refused key, or the client went away
	}
	defer sc.Close()
	s.wg.Go(func() { ssh.DiscardRequests(reqs) })
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Go(func() { s.session(ch, creqs) })
	}
}

// session answers one session's requests: one exec, and signals.
func (s *fakeSSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	gone := make(chan struct{}) // the client closed the session
	killed := make(chan struct{})
	var once sync.Once
	defer close(gone)
	for req := range reqs {
		switch req.Type {
		case "exec":
			var msg struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &msg); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			s.mu.Lock()
			s.execs = append(s.execs, msg.Command)
			s.mu.Unlock()
			r, ok := s.commands[msg.Command]
			if !ok {
				r = notFound
			}
			s.wg.Go(func() { s.exec(ch, r, gone, killed) })
		case "signal":
			var msg struct{ Signal string }
			_ = ssh.Unmarshal(req.Payload, &msg)
			s.mu.Lock()
			s.signals = append(s.signals, msg.Signal)
			s.mu.Unlock()
			once.Do(func() { close(killed) })
			if req.WantReply {
				_ = req.Reply(true, nil)
			}
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}

func (s *fakeSSHServer) exec(ch ssh.Channel, r reply, gone, killed <-chan struct{}) {
	writeString(ch, r.stdout)
	writeString(ch.Stderr(), r.stderr)
	if r.block {
		select {
		case <-gone:
			return
		case <-killed:
			_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{Signal: "KILL"}))
			ch.Close()
			return
		}
	}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{r.status}))
	ch.Close()
}

func writeString(w interface{ Write([]byte) (int, error) }, s string) {
	if s != "" {
		_, _ = w.Write([]byte(s))
	}
}

// Close stops listening and hangs up on every client; it may be called
// more than once.
func (s *fakeSSHServer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *fakeSSHServer) log() (execs, signals []string, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...), append([]string(nil), s.signals...), s.refused
}

func newKey(t *testing.T) *sshkey.Pair {
	t.Helper()
	k, err := sshkey.Generate(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
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

func dialDirect(srv *fakeSSHServer, user string, signer ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", srv.addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
}

// The double must be as strict as cloud-init's authorized_keys, or the
// image tests would pass with a key Test never authorized.
func TestFakeSSHServerAcceptsOnlyTheKey(t *testing.T) {
	good, other := newKey(t), newKey(t)
	srv := startFakeSSH(t, "sindri", good.Authorized, nil)

	c, err := dialDirect(srv, "sindri", good.Signer)
	if err != nil {
		t.Fatalf("the authorized key was refused: %v", err)
	}
	c.Close()
	if c, err := dialDirect(srv, "sindri", other.Signer); err == nil {
		c.Close()
		t.Fatal("a different key was accepted")
	}
	if c, err := dialDirect(srv, "root", good.Signer); err == nil {
		c.Close()
		t.Fatal("the key was accepted for another user")
	}
	if _, _, refused := srv.log(); refused != 2 {
		t.Errorf("refused %d attempts, want 2", refused)
	}
}

func TestWaitForSSH(t *testing.T) {
	key := newKey(t)
	srv := startFakeSSH(t, "sindri", key.Authorized, map[string]reply{"true": {}})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.port, "sindri", key.Signer, time.Second)
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
	key := newKey(t)
	srv, err := newFakeSSH("sindri", key.Authorized, nil, 1500*time.Millisecond, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	start := time.Now()
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.port, "sindri", key.Signer, 10*time.Second)
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
	key := newKey(t)
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
	good, other := newKey(t), newKey(t)
	srv := startFakeSSH(t, "sindri", good.Authorized, nil)
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.port, "sindri", other.Signer, 100*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("WaitForSSH logged in with a key the server does not authorize")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("error %q does not say the key was refused", err)
	}
}

func TestWaitForSSHCancel(t *testing.T) {
	key := newKey(t)
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
		{name: "stalled handshake", port: stalled.port},
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
	key := newKey(t)
	srv := startFakeSSH(t, "sindri", key.Authorized, map[string]reply{
		"echo hi":  {stdout: "hi\n"},
		"false":    {stdout: "some output\n", status: 3},
		"both":     {stdout: "to stdout\n", stderr: "to stderr\n"},
		"quiet ok": {},
	})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.port, "sindri", key.Signer, time.Second)
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
	execs, _, _ := srv.log()
	if len(execs) != len(tests) {
		t.Errorf("server ran %q, want the %d commands once each", execs, len(tests))
	}
}

func TestRunCancel(t *testing.T) {
	key := newKey(t)
	srv := startFakeSSH(t, "sindri", key.Authorized, map[string]reply{
		"cloud-init status --wait": {stdout: "....", stderr: "waiting\n", block: true},
	})
	c, err := WaitForSSH(t.Context(), "127.0.0.1", srv.port, "sindri", key.Signer, time.Second)
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
		_, signals, _ := srv.log()
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
