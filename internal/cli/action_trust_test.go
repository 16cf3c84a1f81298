package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// prCheck is a pull request check's world: the packer test double on PATH
// answering `packer validate` with output, a pull request event, the
// GitHub API test double, and the token in GITHUB_TOKEN and the input.
func prCheck(t *testing.T, output string, exit int) (env []string, gh *fakePRComments) {
	t.Helper()
	bin := fakeTools(t, output, exit)
	event := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, event, `{"pull_request":{"number":7}}`, 0o644)
	gh = &fakePRComments{}
	srv := gh.server(t)
	env, _, _ = actionsEnv(t)
	return append(env, "PATH="+bin, "HOME="+t.TempDir(), "GITHUB_EVENT_PATH="+event,
		"GITHUB_REPOSITORY=acme/images", "GITHUB_API_URL="+srv.URL, "GITHUB_TOKEN="+prToken), gh
}

const prToken = "ghs_CanaryPrToken0123456789"

// packerEcho is packer validate reporting a checksum file it cannot read,
// naming the file as the template gives it: what real packer does with
// base_image_checksum = "file:./VALUE".
func packerEcho(value string) string {
	return "Error: Failed to read checksum file\n\n  on @OUT@/qemu/sindri.pkr.hcl line 30:\n  (source code not available)\n\nopen ./" + value + ": no such file or directory\n\n"
}

// assertNowhere fails unless secret is in none of the log (but for the
// ::add-mask:: commands the runner takes out) and none of the comments.
func assertNowhere(t *testing.T, secret string, r result, gh *fakePRComments) {
	t.Helper()
	var log []string
	for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			log = append(log, l)
		}
	}
	if strings.Contains(strings.Join(log, "\n"), secret) {
		t.Errorf("%q in the log:\n%s", secret, r)
	}
	for _, body := range gh.posted {
		if strings.Contains(body, secret) {
			t.Errorf("%q in the PR comment:\n%s", secret, body)
		}
	}
}

// Issue 10, item 1: a pull request's sindri.yaml may not expand the
// runner's token into a value packer echoes into the PR comment.
func TestActionTokenNeverReachesCommentOrLog(t *testing.T) {
	t.Parallel()
	env, gh := prCheck(t, packerEcho(prToken), 1)
	cfg := writeConfig(t, "qemu", "base_image_checksum: none", `base_image_checksum: "file:./${GITHUB_TOKEN}"`)
	r := runAction(t, append(env, "GITHUB_WORKSPACE="+filepath.Dir(cfg)), map[string]string{"command": "validate", "config": cfg, "pr-comment": "true", "github-token": prToken})
	r.check(t, ExitBadInput, []string{"packer.base_image_checksum: ${GITHUB_TOKEN}: GITHUB_TOKEN may not be read from sindri.yaml"}, nil)
	assertNowhere(t, prToken, r, gh)
}

// A variable the file may read but whose name looks secret is masked and
// redacted before anything prints: in the log, the annotations and the
// comment sent through the API, where the runner's masking never applies.
func TestActionSecretLookingValueRedactedEverywhere(t *testing.T) {
	t.Parallel()
	const mine = "my-api-token-canary-4242"
	env, gh := prCheck(t, packerEcho(mine), 1)
	cfg := writeConfig(t, "qemu", "base_image_checksum: none", `base_image_checksum: "file:./${MY_API_TOKEN}"`)
	r := runAction(t, append(env, "MY_API_TOKEN="+mine), map[string]string{"command": "validate", "config": cfg, "pr-comment": "true"})
	if r.code != ExitFindings || len(gh.posted) != 1 || !strings.Contains(gh.posted[0], "open ./***: no such file") {
		t.Fatalf("want findings and a comment with the value redacted:\n%s\ncomments %q", r, gh.posted)
	}
	assertNowhere(t, mine, r, gh)
	// The runner is told too, before the first line that could show it.
	if i := strings.Index(r.stdout, "::add-mask::"+mine+"\n"); i < 0 || strings.Contains(r.stdout[:i], "***") {
		t.Errorf("value not masked first:\n%s", r.stdout)
	}
}

// Issue 10, item 10: an OCI key pasted into a secret on one line (\n
// escapes) is masked line by line as it is written to the key file.
func TestActionMasksOneLineOCIKeyLineByLine(t *testing.T) {
	t.Parallel()
	cfg := configFile(t, awsYAML)
	env, _, _ := actionsEnv(t)
	key := `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFcanary1\nBKcwggSjAgEAAoIBAQC7canaryline2\n-----END PRIVATE KEY-----`
	env = append(env, "OCI_CLI_USER=ocid1.user.oc1..u", "OCI_CLI_TENANCY=ocid1.tenancy.oc1..t", "OCI_CLI_FINGERPRINT=aa:bb",
		"OCI_CLI_REGION=us-ashburn-1", "OCI_CLI_KEY_CONTENT="+key)
	r := runAction(t, env, map[string]string{"command": "matrix", "config": cfg})
	r.check(t, ExitOK, []string{"::add-mask::MIIEvQIBADANBgkqhkiG9w0BAQEFcanary1\n", "::add-mask::BKcwggSjAgEAAoIBAQC7canaryline2\n"}, nil)
}

// Issue 10, item 6: working-directory and config stay in the workspace
// (symlinks resolved); a refused file's content is never echoed.
func TestActionConfinesInputsToWorkspace(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	shadow := filepath.Join(outside, "shadow")
	mustWrite(t, shadow, "root:$6$canary-shadow-hash:19000:0:99999:7:::\n", 0o600)
	ws := t.TempDir()
	if err := os.Symlink(shadow, filepath.Join(ws, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(ws, "away")); err != nil {
		t.Fatal(err)
	}
	env, _, _ := actionsEnv(t)
	env = append(env, "GITHUB_WORKSPACE="+ws)
	tests := []struct {
		name   string
		inputs map[string]string
		input  string
	}{
		{"config absolute", map[string]string{"command": "matrix", "config": shadow}, "config"},
		{"config symlink", map[string]string{"command": "matrix", "config": filepath.Join(ws, "link.yaml")}, "config"},
		{"config dot-dot", map[string]string{"command": "matrix", "config": filepath.Join(ws, "..", filepath.Base(outside), "shadow")}, "config"},
		{"config device", map[string]string{"command": "matrix", "config": "/dev/zero"}, "config"},
		{"working-directory absolute", map[string]string{"command": "matrix", "working-directory": "/etc"}, "working-directory"},
		{"working-directory symlink", map[string]string{"command": "matrix", "working-directory": filepath.Join(ws, "away")}, "working-directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAction(t, env, tt.inputs)
			r.check(t, ExitBadInput, []string{"::error title=sindri-packer input " + tt.input + "::"}, []string{"input " + tt.input + ": "})
			if strings.Contains(r.stdout+r.stderr, "canary-shadow-hash") {
				t.Errorf("content echoed:\n%s", r)
			}
		})
	}
}

// As the Action, the files sindri.yaml names stay in the workspace too.
func TestActionConfinesConfigFilesToWorkspace(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "site.yml")
	mustWrite(t, outside, "- hosts: all\n", 0o644)
	ws := t.TempDir()
	cfg := filepath.Join(ws, "sindri.yaml")
	mustWrite(t, cfg, awsYAML+"    ansible_playbook: "+outside+"\n", 0o644)
	env, _, _ := actionsEnv(t)
	r := runAction(t, append(env, "GITHUB_WORKSPACE="+ws), map[string]string{"command": "matrix", "config": cfg})
	// Annotation paths are relative to the workspace, where GitHub places them.
	r.check(t, ExitBadInput, []string{"::error col=23,file=sindri.yaml,line=10,title=sindri.yaml::packer.build.ansible_playbook: " + outside + " is outside the workspace"}, nil)
	// The same file from the command line is the user's own business.
	run(t, nil, "matrix", "--config", cfg).check(t, ExitOK, nil, nil)
}

// runQuick runs a command and fails the test when it does not return
// promptly: opening a named pipe blocks until a writer comes, and the
// process then ignored SIGINT/SIGTERM.
func runQuick(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- run(t, environ, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("sindri-packer %s hung: a named pipe was opened", strings.Join(args, " "))
		return result{}
	}
}

// Issue 10, item 7: a named pipe (or a device, or a folder) where a file
// belongs is bad input, found without opening it.
func TestNonRegularPathsAreBadInputAndDoNotHang(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	f := newBuildFixture(t)
	cfg := writeConfig(t, "qemu", "base_image: .cache/base/debian-12-base.qcow2", "base_image: "+fifo)
	env := []string{"PATH=" + f.bin, "HOME=" + t.TempDir(), "SINDRI_LATEST_VERSION=3.0.1"}
	runQuick(t, env, "build", "--dry-run", "--config", cfg).check(t, ExitBadInput, nil,
		[]string{"packer.base_image: " + fifo + " is a named pipe (FIFO), not a regular file"})
	runQuick(t, env, "validate", "--config", fifo).check(t, ExitBadInput, nil, []string{fifo + ": this is a named pipe (FIFO), not a regular file"})
	runQuick(t, env, "build", "--dry-run", "--config", f.config, "--var-file", fifo).check(t, ExitBadInput, nil,
		[]string{"--var-file: " + fifo + " is a named pipe (FIFO), not a regular file"})
	runQuick(t, env, "build", "--dry-run", "--config", f.config, "--var-file", dir).check(t, ExitBadInput, nil,
		[]string{"--var-file: " + dir + " is a folder, not a regular file"})
}

// Issue 10, item 13: a cloud API that fails is exit 3 in cleanup and
// repave, as in every other command.
func TestCleanupAndRepaveAPIFailureExit3(t *testing.T) {
	t.Parallel()
	t.Run("cleanup lists", func(t *testing.T) {
		fake, cfg, env := lifecycleWorld(t)
		fake.fail["Leftovers"] = errorString("RequestLimitExceeded")
		runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, ExitFailure, nil, []string{"list leftovers: aws: RequestLimitExceeded", "cleanup: 1 cloud API call(s) failed"})
	})
	t.Run("cleanup deletes", func(t *testing.T) {
		fake, cfg, env := lifecycleWorld(t)
		fake.leftovers = []cloud.Resource{{Kind: cloud.KindInstance, ID: "i-3", Created: time.Now().Add(-5 * time.Hour)}}
		fake.fail["DeleteResource"] = errorString("UnauthorizedOperation")
		runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, ExitFailure, nil, []string{"delete instance i-3: aws: UnauthorizedOperation"})
	})
	for _, method := range []string{"ListImages", "DeprecateImage", "DeleteImage", "ListInstances"} {
		t.Run("repave "+method, func(t *testing.T) {
			f, fake, env := repaveWorld(t)
			fake.fail[method] = errorString("InternalError")
			f.repave(t, t.Context(), fake, env).check(t, ExitFailure, nil, []string{"repave: 1 cloud API call(s) failed"})
		})
	}
}

// Issue 10, item 13: a value the command refuses is reported against the
// Action input that gave it, and a clouds input naming no cloud is refused.
func TestActionNamesTheInputBehindARefusedFlag(t *testing.T) {
	t.Parallel()
	cfg := configFile(t, awsYAML)
	env, _, _ := actionsEnv(t)
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"clouds not configured", map[string]string{"command": "matrix", "config": cfg, "clouds": "gcp"},
			"::error title=sindri-packer input clouds::--clouds: gcp is not configured in " + cfg},
		{"set refused by the config", map[string]string{"command": "matrix", "config": cfg, "set": "packer.volume_size=tiny"},
			"::error title=sindri-packer input set::packer.volume_size: expected an integer"},
		{"config missing", map[string]string{"command": "matrix", "config": cfg + ".missing"},
			"::error title=sindri-packer input config::no such file"},
		{"clouds naming none", map[string]string{"command": "matrix", "config": cfg, "clouds": " , "},
			"::error title=sindri-packer input clouds::\",\" names no cloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAction(t, env, tt.inputs).check(t, ExitBadInput, []string{tt.want}, nil)
		})
	}
	// Given empty, as the runner passes an input set to '': every
	// configured cloud, like leaving it out (its default is all).
	runAction(t, env, map[string]string{"command": "matrix", "config": cfg, "clouds": ""}).check(t, ExitOK, []string{`"cloud":"aws"`}, nil)
}
