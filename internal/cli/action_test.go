package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// runAction runs `sindri-packer action` in-process with the INPUT_* of
// inputs (name → value, as the runner names them) added to environ.
func runAction(t *testing.T, environ []string, inputs map[string]string) result {
	t.Helper()
	env := append([]string{}, environ...)
	for k, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return run(t, env, "action")
}

// The action runs the same command line a user types: its outputs are
// the same bytes as the direct run's.
func TestActionMatrixSameAsCLI(t *testing.T) {
	t.Parallel()
	cfg := configFile(t, multiYAML)

	env, outputs, _ := actionsEnv(t)
	direct := run(t, env, "matrix", "--config", cfg, "--clouds", "aws,gcp", "--per-region")
	direct.check(t, ExitOK, nil, nil)
	want := readOutputs(t, outputs)

	env2, outputs2, _ := actionsEnv(t)
	r := runAction(t, env2, map[string]string{"command": "matrix", "config": cfg, "clouds": "aws, gcp", "per-region": "true"})
	r.check(t, ExitOK, nil, []string{"sindri-packer matrix --per-region --config " + cfg + " --clouds aws,gcp\n"})
	if got := readOutputs(t, outputs2); got != want || !strings.Contains(got, `"region":"us-west-2"`) {
		t.Errorf("GITHUB_OUTPUT through the action:\n%s\ndirect:\n%s", got, want)
	}
	if r.stdout != direct.stdout {
		t.Errorf("stdout through the action %q, direct %q", r.stdout, direct.stdout)
	}
}

func TestActionBadInput(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	env, outputs, _ := actionsEnv(t)
	env = append(env, "PATH="+f.bin)
	r := runAction(t, env, map[string]string{"command": "build", "config": f.config, "parallel": "lots"})
	r.check(t, ExitBadInput,
		[]string{"::error title=sindri-packer input parallel::\"lots\" is not a whole number of at least 1\n"},
		[]string{"error: action: input parallel: \"lots\" is not a whole number"})
	f.noRun(t)
	if _, err := os.Stat(outputs); !os.IsNotExist(err) {
		t.Errorf("outputs written for a bad input (%v)", err)
	}

	r = runAction(t, env, map[string]string{"command": "publish"})
	r.check(t, ExitBadInput, []string{"::error title=sindri-packer input command::\"publish\" is not one of validate, build, test"}, nil)

	r = runAction(t, env, map[string]string{"command": "matrix", "working-directory": filepath.Join(f.bin, "missing")})
	r.check(t, ExitBadInput, []string{"::error title=sindri-packer input working-directory::"}, nil)
}

// TestActionBuild runs a build through the action with the packer test
// double: the token reaches packer as PACKER_GITHUB_API_TOKEN (and
// GITHUB_TOKEN), is masked, stays out of GITHUB_ENV, and the outputs are
// the direct build's. It changes the working directory (working-directory
// input), so it does not run in parallel.
func TestActionBuild(t *testing.T) {
	f := newBuildFixture(t)
	f.wrapPacker(t, "tokens", `"$GITHUB_TOKEN|$PACKER_GITHUB_API_TOKEN"`)

	parent := t.TempDir()
	work := filepath.Join(parent, "infra")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(parent)
	env, outputs, summary := actionsEnv(t)
	ghEnv := filepath.Join(t.TempDir(), "github_env")
	mustWrite(t, ghEnv, "", 0o644)
	env = append(env, "PATH="+f.bin, "GITHUB_ENV="+ghEnv, "GITHUB_RUN_ID=99", "GITHUB_RUN_ATTEMPT=2", "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
	r := runAction(t, env, map[string]string{
		"command": "build", "config": f.config, "working-directory": "infra", "github-token": "ghs_abc123",
		"profile": "minimal", "extensions": "python,node", "skip-tests": "true", "clouds": "all",
	})
	r.check(t, ExitOK, []string{"::add-mask::ghs_abc123\n"},
		[]string{"sindri-packer build --skip-tests --config " + f.config + " --set packer.build.profile=minimal --set packer.build.extensions=[python,node]\n"})
	if strings.Contains(r.stderr, "ghs_abc123") {
		t.Errorf("the token is in the log:\n%s", r)
	}
	// The manifest went to the working directory.
	m, err := os.ReadFile(filepath.Join(work, "sindri-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		RunID  string `json:"run_id"`
		Clouds map[string]struct {
			ConfigHash string `json:"config_hash"`
		} `json:"clouds"`
	}
	if err := json.Unmarshal(m, &man); err != nil {
		t.Fatal(err)
	}
	want := ghaOutput("aws-image-id", fakeAWSImageID) +
		ghaOutput("config-hash", man.Clouds["aws"].ConfigHash) + ghaOutput("config-hashes", `{"aws":"`+man.Clouds["aws"].ConfigHash+`"}`) +
		ghaOutput("image-regions", `{"aws":{"us-east-1":"ami-0aaaaaaa","us-west-2":"ami-0bbbbbbb"}}`) +
		ghaOutput("images", `{"aws":"`+fakeAWSImageID+`"}`) +
		ghaOutput("manifest", "sindri-manifest.json") +
		ghaOutput("test-result", "skipped")
	if got := readOutputs(t, outputs); got != want {
		t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", got, want)
	}
	if man.RunID != "99-2" || !strings.Contains(readFile(t, summary), "### sindri-packer build `99-2`") {
		t.Errorf("run id %q; summary:\n%s", man.RunID, readFile(t, summary))
	}
	if got := readFile(t, ghEnv); got != "" {
		t.Errorf("GITHUB_ENV written: %q (the token must not reach later steps)", got)
	}
	tokens := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(f.bin, "tokens"))), "\n")
	for _, tk := range tokens {
		if tk != "ghs_abc123|ghs_abc123" {
			t.Errorf("packer saw GITHUB_TOKEN|PACKER_GITHUB_API_TOKEN = %q", tk)
		}
	}
	if len(f.buildCalls(t)) != 1 {
		t.Errorf("packer build calls: %q", f.buildCalls(t))
	}
}

// TestActionBuildFailsNoDeploy: with deploy: true, a failed build runs
// nothing more. (The manifest goes to the working directory: not parallel.)
func TestActionBuildFailsNoDeploy(t *testing.T) {
	f := newBuildFixture(t)
	t.Chdir(t.TempDir())
	f.fail(t, 1, "Build 'amazon-ebs.sindri' errored: boom")
	env, _, _ := actionsEnv(t)
	env = append(env, "PATH="+f.bin, "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
	r := runAction(t, env, map[string]string{"command": "build", "config": f.config, "deploy": "true", "skip-tests": "true"})
	if r.code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s", r.code, r)
	}
	if strings.Contains(r.stderr, "sindri-packer deploy") {
		t.Errorf("deploy ran after a failed build:\n%s", r)
	}
	if _, err := os.Stat("sindri-manifest.json"); err != nil {
		t.Errorf("no manifest of the failed build: %v", err)
	}
}

// fakePRComments is a TEST DOUBLE of the GitHub REST API's issue comments
// for one pull request (acme/images#7), recording what was posted and the
// raw body of every request, whatever its path.
type fakePRComments struct {
	mu     sync.Mutex
	posted []string
	auth   []string
	bodies []string
}

func (f *fakePRComments) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		raw, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, r.Method+" "+r.URL.String()+"\n"+string(raw))
		r.Body = io.NopCloser(bytes.NewReader(raw))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/images/issues/7/comments":
			w.Write([]byte("[]"))
		case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/images/issues/7/comments":
			var c struct {
				Body string `json:"body"`
			}
			json.NewDecoder(r.Body).Decode(&c)
			f.posted = append(f.posted, c.Body)
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":1,"html_url":"https://github.example/acme/images/pull/7#issuecomment-1"}`))
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestActionValidatePRComment(t *testing.T) {
	t.Parallel()
	bin := fakeTools(t, "", 0)
	cfg := configFile(t, awsYAML)
	event := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, event, `{"pull_request":{"number":7}}`, 0o644)
	gh := &fakePRComments{}
	srv := gh.server(t)
	env, _, _ := actionsEnv(t)
	env = append(env, "PATH="+bin, "HOME="+t.TempDir(), "GITHUB_EVENT_PATH="+event,
		"GITHUB_REPOSITORY=acme/images", "GITHUB_API_URL="+srv.URL)
	r := runAction(t, env, map[string]string{"command": "validate", "config": cfg, "pr-comment": "true", "github-token": "ghs_pr"})
	r.check(t, ExitOK, []string{"validate: ok (aws)"}, []string{"pr-comment: https://github.example/acme/images/pull/7#issuecomment-1"})
	if len(gh.posted) != 1 {
		t.Fatalf("posted %q, want one comment", gh.posted)
	}
	body := gh.posted[0]
	for _, want := range []string{"<!-- sindri-packer:validate config=" + cfg + " -->\n", "✅ **sindri-packer validate passed**", "validate: ok (aws)"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "::") {
		t.Errorf("workflow commands in the comment:\n%s", body)
	}
	for _, a := range gh.auth {
		if a != "Bearer ghs_pr" {
			t.Errorf("Authorization %q", a)
		}
	}

	// Not a pull request: a warning, no comment, and validate's result.
	mustWrite(t, event, `{"ref":"refs/heads/main"}`, 0o644)
	r = runAction(t, env, map[string]string{"command": "validate", "config": cfg, "pr-comment": "true"})
	r.check(t, ExitOK, []string{"::warning title=sindri-packer pr-comment::not a pull request event"}, nil)
	if len(gh.posted) != 1 {
		t.Errorf("posted again: %q", gh.posted)
	}
}

func TestValidateComment(t *testing.T) {
	t.Parallel()
	out := "::error file=a.hcl,line=1::x\na.hcl:1:1: packer-validate: bad\n"
	for code, want := range map[int]string{
		ExitOK:       "✅ **sindri-packer validate passed**\n\n```text\na.hcl:1:1: packer-validate: bad\n```\n",
		ExitFindings: "❌ **sindri-packer validate found problems**\n\n```text\na.hcl:1:1: packer-validate: bad\n```\n",
		ExitFailure:  "⚠️ **sindri-packer validate could not run** (exit 3)\n\n```text\na.hcl:1:1: packer-validate: bad\n```\n",
	} {
		if got := validateComment(out, code, commentRun{}); got != want {
			t.Errorf("exit %d: %q, want %q", code, got, want)
		}
	}
}

// The entrypoint exchanges the job's OIDC token for Azure (the container
// cannot see an az login) and masks it; a refused exchange stops the run.
func TestActionAzureOIDC(t *testing.T) {
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "") // restored afterwards: the entrypoint sets it
	var audience, auth string
	// A test double of the Actions runtime's OIDC token endpoint.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		audience, auth = r.URL.Query().Get("audience"), r.Header.Get("Authorization")
		if auth != "Bearer runtime-token" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"value":"eyJ.job-oidc-token.sig"}`))
	}))
	defer srv.Close()
	cfg := configFile(t, multiYAML)
	env, _, _ := actionsEnv(t)
	env = append(env, "AZURE_CLIENT_ID=app", "AZURE_TENANT_ID=tenant", "ACTIONS_ID_TOKEN_REQUEST_URL="+srv.URL+"/?api-version=2.0")
	r := runAction(t, append(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=runtime-token"), map[string]string{"command": "matrix", "config": cfg})
	r.check(t, ExitOK, []string{"::add-mask::eyJ.job-oidc-token.sig"}, nil)
	if audience != "api://AzureADTokenExchange" {
		t.Errorf("audience %q", audience)
	}
	r = runAction(t, append(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong"), map[string]string{"command": "matrix", "config": cfg})
	r.check(t, ExitFailure, []string{"::error title=sindri-packer credentials::"}, []string{"id-token: write"})
}

// actionInputs turns inputs (name → value) into INPUT_* variables.
func actionInputs(environ []string, inputs map[string]string) []string {
	env := append([]string{}, environ...)
	for k, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return env
}

// TestActionLifecycle runs the deployment lifecycle and the images
// inventory through the Action as a workflow would: status, stop, start,
// destroy (which cannot answer a prompt in a job), images list, delete and
// deprecate, and doctor, each the same command line a user types.
func TestActionLifecycle(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.images = []cloud.Image{{ID: "ami-1", Created: time.Now()}, {ID: "ami-2", Created: time.Now()}}
	act := func(inputs map[string]string) result {
		inputs["config"] = cfg
		return runWith(t, fake, "", actionInputs(env, inputs), "action")
	}
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-0abc").check(t, 0, []string{"deployed build-test"}, nil)
	act(map[string]string{"command": "status"}).check(t, 0, []string{"i-001", "running"}, []string{"sindri-packer status --config " + cfg + "\n"})
	act(map[string]string{"command": "stop"}).check(t, 0, []string{"stop: aws i-001"}, nil)
	act(map[string]string{"command": "start", "clouds": "aws"}).check(t, 0, []string{"start: aws i-001"}, nil)
	// No stdin: destroy must not ask.
	act(map[string]string{"command": "destroy"}).check(t, 0, []string{"destroyed aws i-001"}, []string{"sindri-packer destroy --yes --config " + cfg + "\n"})
	if len(fake.instances) != 0 {
		t.Errorf("instances left after destroy: %v", fake.instances)
	}
	act(map[string]string{"command": "images"}).check(t, 0, []string{"ami-1", "ami-2"}, []string{"sindri-packer images list --config " + cfg + "\n"})
	act(map[string]string{"command": "images", "images-action": "deprecate", "image": "ami-2"}).check(t, 0, []string{"deprecated aws ami-2"}, nil)
	act(map[string]string{"command": "images", "images-action": "delete", "image": "ami-1"}).check(t, 0, []string{"deleted aws ami-1"}, nil)
	if got := fake.callsWith("DeleteImage"); len(got) != 1 {
		t.Errorf("delete calls %v, want ami-1 deleted", got)
	}
	act(map[string]string{"command": "images", "images-action": "purge"}).check(t, 2, nil,
		[]string{"input images-action: \"purge\" is not one of list, delete, deprecate"})
	// doctor runs (the in-memory cloud has no packer on PATH: not ready).
	r := act(map[string]string{"command": "doctor"})
	if r.code == 2 || !strings.Contains(r.stderr, "sindri-packer doctor --config "+cfg+"\n") || !strings.Contains(r.stdout, "credentials") {
		t.Errorf("doctor through the action: %s", r)
	}
}

// Issue 12 item 8: the Action's working-directory and bridged credentials
// are values passed down (Command.Dir, Command.Environ), not changes to
// the process: the entrypoint used os.Chdir and os.Setenv, so one run
// moved every later one (and every test) and left its credential file's
// path in the process environment. The config and the manifest are still
// in the working directory, and packer still sees the bridged credentials.
func TestActionLeavesTheProcessAlone(t *testing.T) {
	f := newBuildFixture(t)
	f.wrapPacker(t, "oci-config", `"$OCI_CLI_CONFIG_FILE"`)
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(ws, "infra", "sindri.yaml"), readFile(t, f.config), 0o644)
	cwd, _ := os.Getwd()
	before, hadBefore := os.LookupEnv("OCI_CLI_CONFIG_FILE")
	env, _, _ := actionsEnv(t)
	env = append(env, "PATH="+f.bin, "HOME="+t.TempDir(), "GITHUB_WORKSPACE="+ws, "OCI_CLI_CONFIG_FILE=", "OCI_CONFIG_FILE=",
		"OCI_CLI_USER=ocid1.user.oc1..u", "OCI_CLI_TENANCY=ocid1.tenancy.oc1..t", "OCI_CLI_FINGERPRINT=aa:bb",
		"OCI_CLI_KEY_CONTENT=not-a-real-key", "OCI_CLI_REGION=us-ashburn-1")
	// The entrypoint's own folder is the workspace, as in a runner's
	// container; working-directory is relative to it.
	var out, errb bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &errb, Dir: ws, Context: t.Context(), Targets: f.targets(),
		Environ: append(slices.Clone(testEnv), actionInputs(env, map[string]string{"command": "build", "working-directory": "infra", "skip-tests": "true"})...)}
	r := result{c.Main([]string{"sindri-packer", "action"}), out.String(), errb.String()}
	r.check(t, ExitOK, nil, nil)
	if _, err := os.Stat(filepath.Join(ws, "infra", "sindri-manifest.json")); err != nil {
		t.Errorf("the manifest is not in the working directory: %v", err)
	}
	if now, _ := os.Getwd(); now != cwd {
		t.Errorf("the process's working directory moved to %s", now)
	}
	if now, has := os.LookupEnv("OCI_CLI_CONFIG_FILE"); now != before || has != hadBefore {
		t.Errorf("the process environment changed: OCI_CLI_CONFIG_FILE=%q", now)
	}
	if seen := strings.TrimSpace(readFile(t, filepath.Join(f.bin, "oci-config"))); !strings.Contains(seen, "sindri-credentials-") {
		t.Errorf("packer did not get the bridged OCI config: OCI_CLI_CONFIG_FILE=%q", seen)
	}
}

// wrapPacker puts a wrapper around the fixture's packer test double that
// appends what (a shell word, e.g. "$GITHUB_TOKEN") to the file record in
// the fixture's bin folder at every run, then runs the double.
func (f buildFixture) wrapPacker(t *testing.T, record, what string) {
	t.Helper()
	if err := os.Rename(filepath.Join(f.bin, "packer"), filepath.Join(f.bin, "fake-packer-build")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(f.bin, "packer"), "#!/bin/sh\n# test double wrapper: records what packer sees\n"+
		"printf '%s\\n' "+what+" >>\"${0%/*}/"+record+"\"\nexec \"${0%/*}/fake-packer-build\" \"$@\"\n", 0o755)
}
