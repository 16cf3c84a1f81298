package sshtest_test

import (
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/sshkey/sshtest"
)

// The double must be as strict as cloud-init's authorized_keys, or the
// image tests would pass with a key Test never authorized.
func TestFakeSSHServerAcceptsOnlyTheKey(t *testing.T) {
	good, other := sshtest.NewKey(t), sshtest.NewKey(t)
	srv := sshtest.StartFor(t, "sindri", good.Authorized, nil)

	c, err := srv.Dial("sindri", good.Signer)
	if err != nil {
		t.Fatalf("the authorized key was refused: %v", err)
	}
	c.Close()
	if c, err := srv.Dial("sindri", other.Signer); err == nil {
		c.Close()
		t.Fatal("a different key was accepted")
	}
	if c, err := srv.Dial("root", good.Signer); err == nil {
		c.Close()
		t.Fatal("the key was accepted for another user")
	}
	if _, _, refused := srv.Log(); refused != 2 {
		t.Errorf("refused %d attempts, want 2", refused)
	}
}

// With no Authorize nobody gets in; a bad authorized_keys line is an error.
func TestNobodyWithoutAuthorize(t *testing.T) {
	key := sshtest.NewKey(t)
	srv := sshtest.Start(t, sshtest.Config{})
	if c, err := srv.Dial("sindri", key.Signer); err == nil {
		c.Close()
		t.Fatal("a key was accepted with no Authorize")
	}
	if _, err := sshtest.Only("sindri", "not a key"); err == nil {
		t.Error("Only accepted a line that is no key")
	}
}

// Unknown commands get NotFound, or Default when set; known ones their reply.
func TestReplies(t *testing.T) {
	key := sshtest.NewKey(t)
	exitOf := func(t *testing.T, srv *sshtest.Server, cmd string) (string, int) {
		t.Helper()
		c, err := srv.Dial("sindri", key.Signer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.CombinedOutput(cmd)
		var ee *ssh.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitStatus()
		default:
			t.Fatal(err)
			return "", -1
		}
	}
	only, err := sshtest.Only("sindri", key.Authorized)
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]sshtest.Reply{"echo hi": {Stdout: "hi\n"}, "false": {Status: 1}}
	srv := sshtest.Start(t, sshtest.Config{Authorize: only, Commands: table})
	for cmd, want := range map[string]struct {
		out  string
		exit int
	}{"echo hi": {"hi\n", 0}, "false": {"", 1}, "nope": {sshtest.NotFound.Stderr, 127}} {
		if out, exit := exitOf(t, srv, cmd); out != want.out || exit != want.exit {
			t.Errorf("%q: %q, exit %d; want %q, exit %d", cmd, out, exit, want.out, want.exit)
		}
	}
	if execs, _, _ := srv.Log(); len(execs) != 3 {
		t.Errorf("execs = %q, want the three commands", execs)
	}
	ok := sshtest.Start(t, sshtest.Config{Authorize: only, Default: &sshtest.Reply{}})
	if out, exit := exitOf(t, ok, "anything"); out != "" || exit != 0 {
		t.Errorf("with Default: %q, exit %d; want nothing, exit 0", out, exit)
	}
}
