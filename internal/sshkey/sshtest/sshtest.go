// Package sshtest is a TEST DOUBLE for the sshd of a booted instance, for
// tests only: it is not OpenSSH and runs no commands. A Server listens on
// 127.0.0.1:0, lets in only the users and public keys its Authorize
// callback accepts (as cloud-init's authorized_keys would), and answers
// "exec" requests from a table of canned replies, sending exit-status the
// way sshd does. The image test's tests (verify) and the Packer plugin
// suites that must reach a build VM over SSH (cloud/azure) share it.
package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

// Reply is the canned answer to one exec request.
type Reply struct {
	Stdout, Stderr string
	Status         uint32
	// Block makes the command write its output, then run until the
	// client closes the session or sends a signal (a hung command).
	Block bool
}

// NotFound is the answer to a command the table does not know, unless
// Config.Default says otherwise.
var NotFound = Reply{Stderr: "sh: 1: command not found\n", Status: 127}

// Config says whom a Server lets in and how it answers.
type Config struct {
	// Authorize says whether user may log in with key; nil lets no one in.
	Authorize func(user string, key ssh.PublicKey) bool
	// Commands are the replies by exact command line.
	Commands map[string]Reply
	// Default answers the commands Commands lacks (nil: NotFound).
	Default *Reply
	// UpAfter: until then every connection is closed at once, as QEMU's
	// user-mode port forward does while the guest's sshd is not yet up.
	UpAfter time.Duration
	// Stall accepts connections and never speaks.
	Stall bool
}

// Only lets in user with the key of the authorized_keys line authorized.
func Only(user, authorized string) (func(string, ssh.PublicKey) bool, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
	if err != nil {
		return nil, fmt.Errorf("sshtest: authorized key: %w", err)
	}
	return func(u string, k ssh.PublicKey) bool {
		return u == user && bytes.Equal(k.Marshal(), key.Marshal())
	}, nil
}

// Server is a running double; see the package comment.
type Server struct {
	cfg  Config
	upAt time.Time
	ln   net.Listener
	ssh  *ssh.ServerConfig
	wg   sync.WaitGroup

	// Port is the port it listens on, on 127.0.0.1.
	Port int

	mu      sync.Mutex
	conns   map[net.Conn]bool
	closed  bool
	execs   []string // commands run, in order
	signals []string // signals received
	refused int      // authentication attempts refused
}

// Start starts a Server for t; it is closed when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartFor starts a Server for t that lets in user with the key of the
// authorized_keys line authorized and answers from commands.
func StartFor(t testing.TB, user, authorized string, commands map[string]Reply) *Server {
	t.Helper()
	only, err := Only(user, authorized)
	if err != nil {
		t.Fatal(err)
	}
	return Start(t, Config{Authorize: only, Commands: commands})
}

// New starts a Server; the caller closes it.
func New(cfg Config) (*Server, error) {
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
	s := &Server{
		cfg: cfg, upAt: time.Now().Add(cfg.UpAfter),
		ln: ln, Port: ln.Addr().(*net.TCPAddr).Port,
		conns: map[net.Conn]bool{},
	}
	s.ssh = &ssh.ServerConfig{
		// Public keys only: no password or keyboard-interactive callback.
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if cfg.Authorize != nil && cfg.Authorize(c.User(), k) {
				return nil, nil
			}
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			return nil, fmt.Errorf("sshtest: key %s for %s refused", ssh.FingerprintSHA256(k), c.User())
		},
	}
	s.ssh.AddHostKey(hostKey)
	s.wg.Go(s.accept)
	return s, nil
}

// Dial logs in to s as user with signer, without checking its host key
// (a test's client, not the product's: verify.WaitForSSH pins the key).
func (s *Server) Dial(user string, signer ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
}

// NewKey makes a throw-away key pair in a folder of t's.
func NewKey(t testing.TB) *sshkey.Pair {
	t.Helper()
	k, err := sshkey.Generate(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

func (s *Server) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		if !s.cfg.Stall && time.Now().Before(s.upAt) {
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

func (s *Server) serve(conn net.Conn) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	if s.cfg.Stall {
		_, _ = io.Copy(io.Discard, conn) // until the client or Close hangs up
		return
	}
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.ssh)
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
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
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
			r := s.record(msg.Command)
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

// record notes an exec and returns its reply.
func (s *Server) record(command string) Reply {
	s.mu.Lock()
	s.execs = append(s.execs, command)
	s.mu.Unlock()
	if r, ok := s.cfg.Commands[command]; ok {
		return r
	}
	if s.cfg.Default != nil {
		return *s.cfg.Default
	}
	return NotFound
}

func (s *Server) exec(ch ssh.Channel, r Reply, gone, killed <-chan struct{}) {
	writeString(ch, r.Stdout)
	writeString(ch.Stderr(), r.Stderr)
	if r.Block {
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
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{r.Status}))
	ch.Close()
}

func writeString(w io.Writer, s string) {
	if s != "" {
		_, _ = w.Write([]byte(s))
	}
}

// Close stops listening and hangs up on every client; it may be called
// more than once.
func (s *Server) Close() {
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

// Log returns the commands run and the signals received, in order, and
// the number of refused authentication attempts.
func (s *Server) Log() (execs, signals []string, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...), append([]string(nil), s.signals...), s.refused
}
