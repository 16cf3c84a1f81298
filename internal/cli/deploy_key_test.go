package cli

import (
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

// Issue 10 item 8: a deploy key whose comment holds a carriage return
// passed the check and, pasted into cloud-init's YAML, added top-level keys
// (runcmd); it is bad input now and nothing is launched. A comment with
// ": " is a fine key and launches with exactly that key.
func TestDeployKeyWithControlCharacterRefused(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	key, err := sshkey.Generate(t.TempDir(), "c")
	if err != nil {
		t.Fatal(err)
	}
	base := strings.Fields(key.Authorized)[0] + " " + strings.Fields(key.Authorized)[1]
	for _, bad := range []string{base + " x\rruncmd: [id]", base + " x\u2028runcmd: [id]"} {
		runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-public-key", bad).
			check(t, 2, nil, []string{"--ssh-public-key is not an OpenSSH public key: control character"})
	}
	if len(fake.launched) != 0 {
		t.Fatalf("launched %d instances for a refused key", len(fake.launched))
	}
	colon := base + " me: admin"
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-public-key", colon).check(t, 0, nil, nil)
	if len(fake.launched) != 1 || fake.launched[0].PublicKey != colon {
		t.Fatalf("launched %+v, want one instance with the key %q", fake.launched, colon)
	}
}
