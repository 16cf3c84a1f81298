// Package sshkey makes the one-off ed25519 key pairs that builds and image
// tests use: generated per run, written 0600, deleted with the run.
package sshkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Pair is a generated key pair.
type Pair struct {
	// Authorized is the public key as an authorized_keys line.
	Authorized string
	// PrivateFile is the path of the private key (OpenSSH format, 0600).
	PrivateFile string
	// Signer authenticates with the key.
	Signer ssh.Signer
}

// Generate writes a fresh ed25519 key pair into dir as id_ed25519.
func Generate(dir, comment string) (*Pair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
	return &Pair{Authorized: line, PrivateFile: path, Signer: signer}, nil
}
