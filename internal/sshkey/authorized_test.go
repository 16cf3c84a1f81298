package sshkey

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestParseAuthorized(t *testing.T) {
	t.Parallel()
	p, err := Generate(t.TempDir(), "c")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p.Signer.PublicKey())))
	tests := []struct {
		name, text, want, wantErr string
	}{
		{name: "plain", text: key, want: key},
		{name: "comment and file's newline", text: key + " me@laptop\n", want: key + " me@laptop"},
		{name: "comment with colon", text: key + " me: admin", want: key + " me: admin"},
		{name: "carriage return", text: key + " x\rruncmd: [id]", wantErr: "control character U+000D"},
		{name: "line break inside", text: key + " x\nruncmd: [id]", wantErr: "control character U+000A"},
		{name: "escape", text: key + " x\x1b[2J", wantErr: "control character"},
		{name: "NEL", text: key + " x\u0085y", wantErr: "control character"},
		{name: "line separator", text: key + " x\u2028y", wantErr: "control character"},
		{name: "two keys", text: key + "\n" + key, wantErr: "control character"},
		{name: "not a key", text: "hello", wantErr: "not an OpenSSH public key"},
		{name: "empty", text: " \n", wantErr: "empty key"},
	}
	for _, tt := range tests {
		got, err := ParseAuthorized(tt.text)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: ParseAuthorized = %q, %v; want an error with %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseAuthorized = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
