// Package container runs the Action's container image the way the GitHub
// runner runs a Docker action, with podman, against loopback test doubles
// of the GitHub API and of the clouds. Build the image first:
//
//	tools/container-build.sh && SINDRI_CONTAINER_E2E=1 go test ./e2e/container/
//
// The tests run when SINDRI_CONTAINER_E2E=1 (then a missing image or podman
// is a failure) or when the image exists; otherwise they skip, saying why.
package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// podman is how every podman command runs here (rootful, Debian's podman
// in a sandbox: runc and cgroupfs; see tools/container-bases.sh).
var podman = []string{"podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"}

// imageName is the image tools/container-build.sh builds.
func imageName() string {
	if v := os.Getenv("SINDRI_CONTAINER_IMAGE"); v != "" {
		return v
	}
	return "localhost/sindri-packer-action:test"
}

var (
	imageOnce sync.Once
	imageErr  error
)

// requireImage skips the test unless the container journeys are wanted
// (SINDRI_CONTAINER_E2E=1, which makes a missing image a failure) or the
// image exists.
func requireImage(t *testing.T) string {
	t.Helper()
	image := imageName()
	imageOnce.Do(func() {
		if _, err := exec.LookPath("podman"); err != nil {
			imageErr = fmt.Errorf("podman is not installed (tools/container-bases.sh --setup installs it)")
			return
		}
		cmd := exec.Command(podman[0], append(podman[1:], "image", "inspect", "--format", "{{.Id}}", image)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("image %s is not built (tools/container-build.sh builds it): %v: %s", image, err, bytes.TrimSpace(out))
		}
	})
	if imageErr != nil {
		if os.Getenv("SINDRI_CONTAINER_E2E") == "1" {
			t.Fatal(imageErr)
		}
		t.Skipf("container journey: %v; set SINDRI_CONTAINER_E2E=1 to require it", imageErr)
	}
	return image
}

// knownBroken are journeys that fail today on the product (not on this
// harness), by test name, with the issue that tracks them. They are
// skipped unless SINDRI_RUN_KNOWN_BROKEN=1; a fix removes its entry.
var knownBroken = map[string]string{}

// skipKnownBroken skips a journey listed in knownBroken.
func skipKnownBroken(t *testing.T) {
	t.Helper()
	if why, ok := knownBroken[t.Name()]; ok && os.Getenv("SINDRI_RUN_KNOWN_BROKEN") != "1" {
		t.Skipf("known broken, %s (SINDRI_RUN_KNOWN_BROKEN=1 runs it)", why)
	}
}

// actionInput is one input of action.yml.
type actionInput struct {
	Default *string `yaml:"default"`
}

// readActionYML decodes the repository's action.yml into v.
func readActionYML(t *testing.T, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// actionInputs reads the inputs and their defaults from action.yml, as the
// runner does before it starts the container.
func actionInputs(t *testing.T) map[string]actionInput {
	t.Helper()
	var a struct {
		Inputs map[string]actionInput `yaml:"inputs"`
		Runs   struct {
			Using      string   `yaml:"using"`
			Entrypoint string   `yaml:"entrypoint"`
			Args       []string `yaml:"args"`
		} `yaml:"runs"`
	}
	readActionYML(t, &a)
	if a.Runs.Using != "docker" || a.Runs.Entrypoint != "sindri-packer" || !slices.Equal(a.Runs.Args, []string{"action"}) {
		t.Fatalf("action.yml runs %+v: this harness runs a docker action with entrypoint sindri-packer and args [action]", a.Runs)
	}
	return a.Inputs
}

// job is one job on a runner: a workspace (the checkout) and the runner's
// temporary folders, shared by its steps as on a real runner.
type job struct {
	t         *testing.T
	image     string
	workspace string // mounted at /github/workspace
	temp      string // RUNNER_TEMP: _github_home, _github_workflow, _runner_file_commands
	api       *githubAPI
	event     string // GITHUB_EVENT_NAME
	payload   map[string]any
	// env is the job's env: (the cloud test doubles' variables, ...).
	env map[string]string
	// mounts are extra host paths mounted at the same path (credential
	// files the cloud doubles write).
	mounts []string
	inputs map[string]actionInput
	steps  int
}

const (
	repository = "acme/images"
	headSHA    = "0123456789abcdef0123456789abcdef01234567"
	runID      = "4242"
	token      = "ghs_containerE2Etoken0000000000000000"
	prNumber   = 7
)

// newJob is a job triggered by event ("pull_request" or "push").
func newJob(t *testing.T, event string) *job {
	t.Helper()
	j := &job{t: t, image: requireImage(t), workspace: t.TempDir(), temp: t.TempDir(), api: newGitHubAPI(t),
		event: event, env: map[string]string{}, inputs: actionInputs(t)}
	j.payload = map[string]any{"repository": map[string]any{"full_name": repository}}
	if event == "pull_request" {
		j.payload["action"] = "synchronize"
		j.payload["number"] = prNumber
		j.payload["pull_request"] = map[string]any{"number": prNumber, "head": map[string]any{"sha": headSHA}}
	} else {
		j.payload["ref"] = "refs/heads/main"
		j.payload["after"] = headSHA
	}
	for _, d := range []string{"_github_home", "_github_workflow", "_runner_file_commands"} {
		if err := os.MkdirAll(filepath.Join(j.temp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// useFake adds a cloud test double's variables to the job's env and mounts
// the files they name (credential files in the test's temporary folders).
func (j *job) useFake(env map[string]string) {
	for k, v := range env {
		j.env[k] = v
		if filepath.IsAbs(v) && v != os.DevNull {
			if _, err := os.Stat(v); err == nil {
				j.mounts = append(j.mounts, filepath.Dir(v))
			}
		}
	}
}

// write puts a file into the workspace.
func (j *job) write(rel, content string) {
	j.t.Helper()
	p := filepath.Join(j.workspace, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		j.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		j.t.Fatal(err)
	}
}

func (j *job) read(rel string) string {
	j.t.Helper()
	b, err := os.ReadFile(filepath.Join(j.workspace, rel))
	if err != nil {
		j.t.Fatal(err)
	}
	return string(b)
}

// stepResult is what a step left: its exit code and log, its outputs as
// the runner parses GITHUB_OUTPUT, the summary, env and state files, and
// the annotations of its log.
type stepResult struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
	exported       map[string]string // GITHUB_ENV
	annotations    []annotation
}

func (r stepResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s--- outputs: %v\n--- summary:\n%s", r.code, r.stdout, r.stderr, r.outputs, r.summary)
}

// run runs the Action as a step `uses: sindri-dev/sindri-packer-action@v1`
// with: with, exactly as the runner runs a Docker action: every input of
// action.yml as INPUT_<NAME> (upper case, spaces as _, hyphens kept), its
// default when with: does not give it (github-token: the job's token);
// the workspace at /github/workspace as the working directory; HOME,
// the event payload and the file commands under /github; the GITHUB_*,
// RUNNER_* and CI variables; entrypoint and args from action.yml. The one
// difference: --network=host instead of the runner's job network, so the
// container reaches the test doubles on the loopback interface.
func (j *job) run(with map[string]string) stepResult {
	j.t.Helper()
	j.steps++
	inputs := j.stepInputs(with)
	id := fmt.Sprintf("%08x-step%d", os.Getpid(), j.steps)
	files := map[string]string{
		"GITHUB_OUTPUT": "set_output_" + id, "GITHUB_STEP_SUMMARY": "step_summary_" + id,
		"GITHUB_ENV": "set_env_" + id, "GITHUB_STATE": "save_state_" + id, "GITHUB_PATH": "add_path_" + id,
	}
	env := j.stepEnv(files, inputs)
	res := j.podman(env, j.stepArgs(env)...)
	read := func(k string) string {
		b, err := os.ReadFile(filepath.Join(j.temp, "_runner_file_commands", files[k]))
		if err != nil {
			j.t.Fatal(err)
		}
		return string(b)
	}
	var err error
	if res.outputs, err = parseFileCommand(read("GITHUB_OUTPUT")); err != nil {
		j.t.Fatalf("GITHUB_OUTPUT: %v (the runner fails the step)\n%s", err, res)
	}
	if res.exported, err = parseFileCommand(read("GITHUB_ENV")); err != nil {
		j.t.Fatalf("GITHUB_ENV: %v (the runner fails the step)\n%s", err, res)
	}
	res.summary = read("GITHUB_STEP_SUMMARY")
	res.annotations = parseAnnotations(res.stdout)
	j.t.Logf("step %d: %v: exit %d", j.steps, with, res.code)
	return res
}

// stepInputs is every input of action.yml with its default (github-token:
// the job's token), overridden by with; a with: that is not an input is a
// mistake of the test.
func (j *job) stepInputs(with map[string]string) map[string]string {
	j.t.Helper()
	inputs := map[string]string{}
	for name, in := range j.inputs {
		v := ""
		if in.Default != nil {
			v = *in.Default
		}
		if v == "${{ github.token }}" {
			v = token
		}
		inputs[name] = v
	}
	for k, v := range with {
		if _, ok := j.inputs[k]; !ok {
			j.t.Fatalf("with: %s is not an input of action.yml", k)
		}
		inputs[k] = v
	}
	return inputs
}

// stepEnv is the step's environment: the job's env, the file commands
// (created empty, as the runner does), the event payload written where
// GITHUB_EVENT_PATH points, the runner's variables and the inputs as
// INPUT_<NAME>.
func (j *job) stepEnv(files, inputs map[string]string) map[string]string {
	j.t.Helper()
	env := map[string]string{}
	for k, v := range j.env {
		env[k] = v
	}
	for k, f := range files {
		if err := os.WriteFile(filepath.Join(j.temp, "_runner_file_commands", f), nil, 0o644); err != nil {
			j.t.Fatal(err)
		}
		env[k] = "/github/file_commands/" + f
	}
	payload, err := json.Marshal(j.payload)
	if err != nil {
		j.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j.temp, "_github_workflow", "event.json"), payload, 0o644); err != nil {
		j.t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": "/github/home", "GITHUB_WORKSPACE": "/github/workspace", "GITHUB_EVENT_PATH": "/github/workflow/event.json",
		"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": j.event, "GITHUB_REPOSITORY": repository,
		"GITHUB_REPOSITORY_OWNER": strings.Split(repository, "/")[0], "GITHUB_SHA": headSHA, "GITHUB_RUN_ID": runID,
		"GITHUB_RUN_NUMBER": "12", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "sindri", "GITHUB_WORKFLOW": "sindri",
		"GITHUB_ACTION": "__sindri-dev_sindri-packer-action", "GITHUB_ACTOR": "octocat", "GITHUB_REF": "refs/heads/main",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": j.api.URL, "GITHUB_GRAPHQL_URL": j.api.URL + "/graphql",
		"GITHUB_RETENTION_DAYS": "90", "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "GitHub Actions 1",
		"RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TEMP": "/home/runner/work/_temp", "RUNNER_WORKSPACE": "/home/runner/work/images",
		"RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
	} {
		env[k] = v
	}
	if j.event == "pull_request" {
		env["GITHUB_REF"] = fmt.Sprintf("refs/pull/%d/merge", prNumber)
		env["GITHUB_HEAD_REF"], env["GITHUB_BASE_REF"] = "feature", "main"
	}
	for name, v := range inputs {
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	return env
}

// stepArgs is podman's command line for the step: the runner's mounts,
// the credential files' folders read-only, every variable of env by name
// (podman takes the value from its own environment, as the runner does)
// and entrypoint and args from action.yml.
func (j *job) stepArgs(env map[string]string) []string {
	args := []string{"run", "--rm", "--network=host", "--workdir", "/github/workspace",
		"-v", filepath.Join(j.temp, "_github_home") + ":/github/home",
		"-v", filepath.Join(j.temp, "_github_workflow") + ":/github/workflow",
		"-v", filepath.Join(j.temp, "_runner_file_commands") + ":/github/file_commands",
		"-v", j.workspace + ":/github/workspace"}
	for _, m := range j.mounts {
		args = append(args, "-v", m+":"+m+":ro")
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-e", k) // the value from podman's environment, as the runner does
	}
	return append(args, "--entrypoint", "sindri-packer", j.image, "action")
}

// cli runs the image's sindri-packer with args in the workspace, as a user
// would run the CLI locally (init) before committing.
func (j *job) cli(args ...string) stepResult {
	j.t.Helper()
	a := []string{"run", "--rm", "--network=host", "--workdir", "/github/workspace", "-v", j.workspace + ":/github/workspace",
		"--entrypoint", "sindri-packer", j.image}
	return j.podman(nil, append(a, args...)...)
}

func (j *job) podman(env map[string]string, args ...string) stepResult {
	j.t.Helper()
	cmd := exec.Command(podman[0], append(podman[1:], args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := stepResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		j.t.Fatal(err)
	}
	// podman's own failures (125-127) are the harness's, not the product's.
	if res.code >= 125 {
		j.t.Fatalf("podman %s: exit %d: %s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

// parseFileCommand parses GITHUB_OUTPUT or GITHUB_ENV as the runner does
// (SetOutputFileCommand / SetEnvFileCommand): `name=value` lines, and
// `name<<DELIMITER` ... `DELIMITER` blocks whose value is the lines in
// between; anything else fails the step.
func parseFileCommand(text string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" {
			continue
		}
		eq, heredoc := strings.Index(l, "="), strings.Index(l, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			if eq == 0 {
				return nil, fmt.Errorf("line %d: empty name: %q", line, l)
			}
			out[l[:eq]] = l[eq+1:]
		case heredoc > 0:
			name, delim := l[:heredoc], l[heredoc+2:]
			if delim == "" {
				return nil, fmt.Errorf("line %d: empty delimiter: %q", line, l)
			}
			var value []string
			closed := false
			for sc.Scan() {
				line++
				if sc.Text() == delim {
					closed = true
					break
				}
				value = append(value, sc.Text())
			}
			if !closed {
				return nil, fmt.Errorf("matching delimiter %q of %s not found", delim, name)
			}
			out[name] = strings.Join(value, "\n")
		default:
			return nil, fmt.Errorf("line %d: invalid format %q", line, l)
		}
	}
	return out, sc.Err()
}

// annotation is one ::error/::warning/::notice workflow command.
type annotation struct {
	level, file, title, message string
	line                        int
}

var commandRE = regexp.MustCompile(`^::(error|warning|notice)(?: ([^:]*))?::(.*)$`)

// parseAnnotations reads the annotation commands of a step's log, with
// the runner's escapes (%25 %0D %0A in messages, also %3A %2C in values).
func parseAnnotations(log string) []annotation {
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	var out []annotation
	for _, l := range strings.Split(log, "\n") {
		m := commandRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a := annotation{level: m[1], message: unescape.Replace(m[3])}
		for _, kv := range strings.Split(m[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = unescape.Replace(v)
			switch k {
			case "file":
				a.file = v
			case "title":
				a.title = v
			case "line":
				a.line, _ = strconv.Atoi(v)
			}
		}
		out = append(out, a)
	}
	return out
}

// githubAPI is a loopback test double of the GitHub REST API: the pull
// request comments of one repository, and the latest Sindri release.
type githubAPI struct {
	*httptest.Server
	mu       sync.Mutex
	comments map[int64]comment
	nextID   int64
	requests []string // "METHOD path"
}

type comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	issue   int
}

var commentsPath = regexp.MustCompile(`^/repos/` + repository + `/issues/([0-9]+)/comments$`)
var commentPath = regexp.MustCompile(`^/repos/` + repository + `/issues/comments/([0-9]+)$`)

// sindriRelease is what the double answers for the latest Sindri release.
const sindriRelease = "v3.0.1"

func newGitHubAPI(t *testing.T) *githubAPI {
	a := &githubAPI{comments: map[int64]comment{}, nextID: 100}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *githubAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/repos/pacphi/sindri/releases/latest" {
		fmt.Fprintf(w, `{"tag_name":%q,"name":%q}`, sindriRelease, sindriRelease)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"message":"Problems parsing JSON"}`, http.StatusBadRequest)
			return
		}
	}
	if m := commentsPath.FindStringSubmatch(r.URL.Path); m != nil {
		issue, _ := strconv.Atoi(m[1])
		switch r.Method {
		case http.MethodGet:
			list := []comment{}
			for _, c := range a.comments {
				if c.issue == issue {
					list = append(list, c)
				}
			}
			sort.Slice(list, func(i, k int) bool { return list[i].ID < list[k].ID })
			_ = json.NewEncoder(w).Encode(list)
		case http.MethodPost:
			a.nextID++
			c := comment{ID: a.nextID, Body: body.Body, issue: issue,
				HTMLURL: fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", repository, issue, a.nextID)}
			a.comments[c.ID] = c
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(c)
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
		return
	}
	if m := commentPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPatch {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		c, ok := a.comments[id]
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		c.Body = body.Body
		a.comments[id] = c
		_ = json.NewEncoder(w).Encode(c)
		return
	}
	http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
}

// prComments returns the bodies of the comments on the pull request.
func (a *githubAPI) prComments() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []int64
	for id, c := range a.comments {
		if c.issue == prNumber {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []string
	for _, id := range ids {
		out = append(out, a.comments[id].Body)
	}
	return out
}
