package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

// TestCanaryNowhereOnTheActionPath is issue 10's canary run: a canary in
// every credential variable, in GITHUB_TOKEN and the github-token input,
// and in a secret-looking variable a hostile sindri.yaml expands into a
// value packer echoes. validate, build against the five cloud doubles, the
// PR comment and the Action entrypoint then run, and the canary is in no
// log line (bar the ::add-mask:: commands the runner consumes), no file any
// of them wrote, and no request body sent to the GitHub API.
func TestCanaryNowhereOnTheActionPath(t *testing.T) {
	const userSecret = "user-deploy-token-CANARY-91"
	aws, az, gcp, oci, ali := awsfake.New(t), azurefake.New(t), gcpfake.New(t), ocifake.New(t), alibabafake.New(t)
	fakes := []cloudtest.Fake{aws, az, gcp, oci, ali}
	secrets := []string{canary, userSecret, awsfake.SecretAccessKey, alibabafake.AccessKeySecret}
	for _, f := range fakes {
		for k, v := range f.Env() {
			t.Setenv(k, v)
		}
	}
	for _, k := range canaryEnv {
		t.Setenv(k, canary)
	}
	t.Setenv("MY_DEPLOY_TOKEN", userSecret)

	ws := t.TempDir()
	home := t.TempDir()
	// validate's packer (a test double) echoes the checksum file it could
	// not read, as real packer does; build's reports AMIs.
	validateBin := fakeTools(t, packerEcho(userSecret), 1)
	buildBin := t.TempDir()
	mustWrite(t, filepath.Join(buildBin, "packer"), readFile(t, filepath.Join("testdata", "fake-packer-build")), 0o755)

	hostile := qemuWithChecksum(t, filepath.Join(ws, "pr"), `"file:./${MY_DEPLOY_TOKEN}"`)
	stealer := qemuWithChecksum(t, filepath.Join(ws, "steal"), `"file:./${GITHUB_TOKEN}${AWS_SESSION_TOKEN}"`)
	multi := filepath.Join(ws, "sindri.yaml")
	mustWrite(t, multi, fiveCloudsYAML(gcp), 0o644)

	gh := &fakePRComments{}
	srv := gh.server(t)
	event := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, event, `{"pull_request":{"number":7}}`, 0o644)
	runner, outputs, summary := actionsEnv(t)
	runner = append(runner, "HOME="+home, "GITHUB_WORKSPACE="+ws, "GITHUB_EVENT_PATH="+event,
		"GITHUB_REPOSITORY=acme/images", "GITHUB_API_URL="+srv.URL)
	env := func(bin string) []string {
		return append(append(os.Environ(), runner...), "PATH="+bin)
	}

	// The Action writes sindri-manifest.json where it runs: the workspace,
	// as on a runner, so the scan below sees it.
	t.Chdir(ws)
	var logs []result
	add := func(r result, wantCode int, what string) {
		t.Helper()
		if r.code != wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", what, r.code, wantCode, r)
		}
		logs = append(logs, r)
	}
	manifest := filepath.Join(ws, "sindri-manifest.json")
	add(run(t, env(validateBin), "validate", "-c", hostile), ExitFindings, "validate of the hostile config")
	add(run(t, env(validateBin), "validate", "-c", stealer), ExitBadInput, "validate of a config reading GITHUB_TOKEN")
	add(run(t, env(buildBin), "build", "--skip-tests", "--debug", "-c", multi, "--clouds", "aws", "--manifest", manifest), ExitOK, "build against the EC2 double")
	// The packer double reports AMIs for every cloud: the four others fail
	// their image-ID check, which exercises every cloud's error path.
	add(run(t, env(buildBin), "build", "--skip-tests", "--debug", "-c", multi, "--manifest", filepath.Join(ws, "all.json")), ExitFindings, "build against the five doubles")
	add(runAction(t, env(validateBin), map[string]string{"command": "validate", "config": hostile, "pr-comment": "true", "github-token": canary}),
		ExitFindings, "the Action's validate with a PR comment")
	add(runAction(t, env(validateBin), map[string]string{"command": "validate", "config": stealer, "pr-comment": "true", "github-token": canary}),
		ExitBadInput, "the Action's validate of a config reading GITHUB_TOKEN")
	add(runAction(t, env(buildBin), map[string]string{"command": "build", "config": multi, "clouds": "aws", "skip-tests": "true", "github-token": canary}),
		ExitOK, "the Action's build against the doubles")

	if len(gh.bodies) == 0 {
		t.Fatal("no request reached the GitHub API double: the PR comment path was not exercised")
	}
	files := scanForSecrets(t, secrets, logs, gh.bodies, fakes, ws, home, validateBin, buildBin, filepath.Dir(outputs), filepath.Dir(summary))
	if readFile(t, outputs) == "" || !strings.Contains(readFile(t, manifest), "ami-") || !strings.Contains(readFile(t, filepath.Join(ws, "sindri-manifest.json")), "ami-") {
		t.Errorf("the build wrote no outputs or no manifest: the test is not exercising them")
	}
	t.Logf("%d runs, %d GitHub API requests, %d files checked", len(logs), len(gh.bodies), files)
}

// scanForSecrets fails the test for every secret in a run's log (bar the
// ::add-mask:: commands the runner consumes), a GitHub API request body, a
// cloud API request or a file below roots; it returns how many files it
// read.
func scanForSecrets(t *testing.T, secrets []string, logs []result, bodies []string, fakes []cloudtest.Fake, roots ...string) int {
	t.Helper()
	found := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows a secret %q:\n%s", where, s, text)
			}
		}
	}
	for i, r := range logs {
		found("log of run "+string(rune('a'+i)), withoutMaskCommands(r.stdout+r.stderr))
	}
	for _, b := range bodies {
		found("a GitHub API request", b)
	}
	for _, f := range fakes {
		found("a cloud API request", strings.Join(f.Requests(), "\n"))
	}
	files := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if d.Name() == "validate.out" {
				return nil // the packer double's own script of what to echo
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			found("file "+path, string(data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// qemuWithChecksum writes dir/sindri.yaml, a qemu configuration whose
// base_image_checksum is checksum, and returns its path.
func qemuWithChecksum(t *testing.T, dir, checksum string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sindri.yaml")
	mustWrite(t, p, strings.Replace(readFile(t, writeConfig(t, "qemu")), "base_image_checksum: none", "base_image_checksum: "+checksum, 1), 0o644)
	return p
}
