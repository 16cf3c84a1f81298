// Package sshkey makes the one-off ed25519 key pairs that builds and image
// tests use (generated per run, written 0600, deleted with the run) and
// checks the public keys users hand to deploy.
package sshkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
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

// ParseAuthorized checks text as one OpenSSH authorized_keys line (a user's
// deploy key) and returns it without surrounding white space. A control
// character anywhere is refused: the key goes into cloud-init's YAML, where
// a carriage return or line break would start text of its own.
func ParseAuthorized(text string) (string, error) {
	line := strings.TrimSpace(text)
	if line == "" {
		return "", errors.New("empty key")
	}
	for i, r := range line {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return "", fmt.Errorf("control character %U at byte %d (one line of text only)", r, i)
		}
	}
	if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
		return "", fmt.Errorf("not an OpenSSH public key: %w", err)
	} else if len(rest) > 0 {
		return "", errors.New("more than one key")
	}
	return line, nil
}
