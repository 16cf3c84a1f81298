package verify

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/report"
)

// WaitForSSH dials until an SSH session with the key opens, backing off
// from 1 s to 10 s between attempts, until timeout. A test instance is
// fresh and reached over loopback or its own address, so its host key is
// not pinned: it was generated at its first boot a moment ago.
func WaitForSSH(ctx context.Context, host string, port int, user string, signer ssh.Signer, timeout time.Duration) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // fresh one-off instance, see above
		Timeout:         15 * time.Second,
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	wait := time.Second
	var last error
	for {
		client, err := dial(ctx, addr, cfg)
		if err == nil {
			return client, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, ctx.Err())
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("ssh %s@%s: not reachable within %s: %w", user, addr, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func dial(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake takes no context: closing the connection on cancel
	// ends it, where cfg.Timeout alone would hold a Ctrl-C for 15 s.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() { // cancelled: conn is closed, or about to be
		if err == nil {
			c.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// Run runs one command over SSH and returns its combined output.
func Run(ctx context.Context, client *ssh.Client, command string) (string, error) {
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	// The session copies stdout and stderr in two goroutines, which may
	// still be writing when a cancel returns.
	var out report.Buffer
	sess.Stdout, sess.Stderr = &out, &out
	done := make(chan error, 1)
	go func() { done <- sess.Run(command) }()
	select {
	case err := <-done:
		return out.String(), err
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return out.String(), ctx.Err()
	}
}
