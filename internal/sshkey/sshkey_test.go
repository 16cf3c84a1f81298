package sshkey

import (
	"os"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	p, err := Generate(dir, "sindri-packer-test")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p.PrivateFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(p.PrivateFile)
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(p.Authorized))
	if err != nil || comment != "sindri-packer-test" || pub.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("authorized line %q: %v", p.Authorized, err)
	}
	if string(pub.Marshal()) != string(signer.PublicKey().Marshal()) || string(p.Signer.PublicKey().Marshal()) != string(pub.Marshal()) {
		t.Error("the halves do not match")
	}
	q, _ := Generate(t.TempDir(), "x")
	if q.Authorized == p.Authorized {
		t.Error("two pairs are the same")
	}
	if _, err := Generate("/nonexistent/dir", "x"); err == nil {
		t.Error("unwritable folder must fail")
	}
}
