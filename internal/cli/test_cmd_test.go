package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/pipeline"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

func TestTestCommandBadInput(t *testing.T) {
	t.Parallel()
	aws := writeConfig(t, "aws")
	tests := []argsCase{ // want: in stderr
		{name: "no flags", args: nil, want: []string{"test: --cloud and --image are required"}},
		{name: "no --image", args: []string{"--cloud", "aws"}, want: []string{"test: --cloud and --image are required"}},
		{name: "no --cloud", args: []string{"--image", "ami-1"}, want: []string{"test: --cloud and --image are required"}},
		{name: "cloud not configured", args: []string{"--cloud", "gcp", "--image", "x"}, want: []string{"gcp is not configured in " + aws, "configured: aws"}},
		{name: "unknown cloud", args: []string{"--cloud", "mars", "--image", "x"}, want: []string{`unknown cloud "mars"`}},
		{name: "stray argument", args: []string{"--cloud", "aws", "--image", "x", "extra"}, want: []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, []string{"PATH=" + t.TempDir()}, append([]string{"test", "-c", aws}, tt.args...)...)
			r.check(t, ExitBadInput, nil, tt.want)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

// A cloud whose target cannot boot temporary instances yet is a tool
// failure, not bad input: the configuration is fine.
func TestTestCommandCloudWithoutInstances(t *testing.T) {
	t.Parallel()
	aws := writeConfig(t, "aws")
	// The aws target with only its Packer side: no instances.
	r := runTargets(t, packerOnly, []string{"PATH=" + t.TempDir()}, "test", "-c", aws, "--cloud", "aws", "--image", "ami-0123", "--sindri-version", "3.0.1")
	r.check(t, ExitFailure, nil, []string{"test: temporary instances for aws are not available yet"})
}

func TestTestCommandRequireInSpec(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "qemu")
	image := filepath.Join(t.TempDir(), "image.qcow2")
	mustWrite(t, image, "qcow2", 0o644)
	r := run(t, []string{"PATH=" + t.TempDir()}, "test", "-c", cfg, "--cloud", "qemu", "--image", image,
		"--set", "packer.build.sindri_version=3.0.1", "--require-inspec")
	r.check(t, ExitFailure, nil, []string{"--require-inspec: neither inspec nor cinc-auditor is on PATH"})
}

// Not parallel: it points TMPDIR at a folder of its own to see that the
// test's work folder (key, seed, overlay) is removed.
func TestTestCommandImageMissing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cfg := writeConfig(t, "qemu")
	image := filepath.Join(t.TempDir(), "missing.qcow2")
	r := run(t, []string{"PATH=" + t.TempDir()}, "test", "-c", cfg, "--cloud", "qemu", "--image", image,
		"--set", "packer.build.sindri_version=3.0.1")
	r.check(t, ExitFailure, nil, []string{"launch test instance", image, "no such file or directory"})
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("the test left %v in TMPDIR", left)
	}
}

func TestAnnotateTest(t *testing.T) {
	t.Parallel()
	onRunner := func(k string) string {
		if k == "GITHUB_ACTIONS" {
			return "true"
		}
		return ""
	}
	rep := &verify.Report{
		Status: "failed",
		Checks: []verify.Check{
			{Name: "cloud-init", Passed: true, Message: "done"},
			{Name: "sindri --version", Passed: false, Message: "got 3.0.0, want 3.0.1"},
			{Name: "sshd", Passed: false, Message: "PermitRootLogin yes\nPasswordAuthentication yes"},
		},
		InSpec: &verify.Result{
			Status: "failed",
			Controls: []verify.Control{
				{ID: "sindri-01", Title: "sindri installed", Status: "failed", Message: "expected file to exist"},
				{ID: "sindri-02", Title: "ssh hardened", Status: "passed"},
				{ID: "sindri-03", Title: "docker", Status: "skipped", Message: "no docker extension"},
			},
		},
	}
	tests := []struct {
		name   string
		getenv func(string) string
		rep    *verify.Report
		want   string
	}{
		{
			name:   "failures only, titles name the cloud and the check or control",
			getenv: onRunner,
			rep:    rep,
			want: "::error title=image test qemu%3A sindri --version::got 3.0.0, want 3.0.1\n" +
				"::error title=image test qemu%3A sshd::PermitRootLogin yes%0APasswordAuthentication yes\n" +
				"::error title=image test qemu%3A sindri-01 sindri installed::expected file to exist\n",
		},
		{
			name:   "passed",
			getenv: onRunner,
			rep:    &verify.Report{Status: "passed", Checks: []verify.Check{{Name: "cloud-init", Passed: true}}, InSpec: &verify.Result{Status: "passed", Controls: []verify.Control{{ID: "sindri-02", Status: "passed"}}}},
		},
		{name: "no report", getenv: onRunner, rep: nil},
		{name: "outside Actions", getenv: func(string) string { return "" }, rep: rep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			annotateTest(gha.New(tt.getenv, &out), "qemu", tt.rep)
			if got := out.String(); got != tt.want {
				t.Errorf("annotations:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTestResult(t *testing.T) {
	t.Parallel()
	passed := &verify.Report{Status: "passed"}
	failed := &verify.Report{Status: "failed"}
	tests := []struct {
		name   string
		clouds map[string]*pipeline.CloudResult
		want   string
	}{
		{name: "no clouds", clouds: map[string]*pipeline.CloudResult{}, want: "skipped"},
		{name: "no tests ran", clouds: map[string]*pipeline.CloudResult{"aws": {TestSkipped: "--skip-tests"}, "qemu": {}}, want: "skipped"},
		{name: "one passed, one not tested", clouds: map[string]*pipeline.CloudResult{"aws": {}, "qemu": {Test: passed}}, want: "passed"},
		{name: "all passed", clouds: map[string]*pipeline.CloudResult{"aws": {Test: passed}, "qemu": {Test: passed}}, want: "passed"},
		{name: "one failed", clouds: map[string]*pipeline.CloudResult{"aws": {Test: passed}, "gcp": {}, "qemu": {Test: failed}}, want: "failed"},
		{name: "failed first", clouds: map[string]*pipeline.CloudResult{"aws": {Test: failed}, "qemu": {Test: passed}}, want: "failed"},
		{name: "neither passed nor failed counts as failed", clouds: map[string]*pipeline.CloudResult{"qemu": {Test: &verify.Report{Status: "error"}}}, want: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := testResult(&pipeline.Manifest{Clouds: tt.clouds}); got != tt.want {
				t.Errorf("testResult = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeQEMUOnPath puts the test doubles in testdata/fake-qemu first on the
// process's PATH (Launch runs qemu from there; xorriso, real, stays
// reachable) and returns the file the fake qemu writes its process ID to.
// The tests using it cannot be parallel.
func fakeQEMUOnPath(t *testing.T) (pidFile string) {
	t.Helper()
	if _, err := exec.LookPath("xorriso"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("xorriso needed on CI: %v", err)
		}
		t.Skipf("xorriso not installed: %v", err)
	}
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-qemu"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	pidFile = filepath.Join(t.TempDir(), "qemu.pid")
	t.Setenv("FAKE_QEMU_PID", pidFile)
	return pidFile
}

// qemuGone fails the test unless the fake qemu has exited.
func qemuGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake qemu never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(stat), ") Z ") {
		t.Errorf("the test instance (pid %d) still runs: %s", pid, stat)
	}
}

// An instance that never answers SSH fails the ssh check: the report is
// printed, annotated and set as the step's test-result, and the instance is
// destroyed.
func TestTestCommandSSHNeverUp(t *testing.T) {
	pidFile := fakeQEMUOnPath(t)
	cfg := writeConfig(t, "qemu", "accelerator: auto", "accelerator: tcg")
	image := filepath.Join(t.TempDir(), "image.qcow2")
	mustWrite(t, image, "qcow2", 0o644)
	env, outputs, summary := actionsEnv(t)
	r := run(t, append(env, "PATH="+t.TempDir()), "test", "-c", cfg, "--cloud", "qemu", "--image", image,
		"--set", "packer.build.sindri_version=3.0.1", "--boot-timeout", "500ms")
	r.check(t, ExitFindings,
		[]string{"::error title=image test qemu%3A ssh::", "not reachable within 500ms", "fake console: the guest never booted"},
		[]string{"booting a test instance from " + image, "destroyed"})
	qemuGone(t, pidFile)
	if got := readOutputs(t, outputs); got != ghaOutput("test-result", "failed") {
		t.Errorf("outputs = %q, want test-result=failed", got)
	}
	if got := readFile(t, summary); !strings.Contains(got, "qemu") || !strings.Contains(r.stdout, strings.TrimSpace(got)) {
		t.Errorf("summary %q is not the report printed on stdout:\n%s", got, r.stdout)
	}
}

// --timeout ends the test like Ctrl-C: the instance is destroyed and the
// run fails without a report.
func TestTestCommandTimeout(t *testing.T) {
	pidFile := fakeQEMUOnPath(t)
	cfg := writeConfig(t, "qemu", "accelerator: auto", "accelerator: tcg")
	image := filepath.Join(t.TempDir(), "image.qcow2")
	mustWrite(t, image, "qcow2", 0o644)
	start := time.Now()
	r := run(t, []string{"PATH=" + t.TempDir()}, "test", "-c", cfg, "--cloud", "qemu", "--image", image,
		"--set", "packer.build.sindri_version=3.0.1", "--timeout", "1500ms", "--boot-timeout", "10m")
	r.check(t, ExitFindings, nil, []string{"test interrupted; the test instance was destroyed"})
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the test ran %s past a 1.5 s --timeout", took)
	}
	qemuGone(t, pidFile)
}

// releaseAPI is a GitHub releases API that `test` must never ask: it
// counts the requests and names a release no image holds.
func releaseAPI(t *testing.T) (url string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"tag_name": "v9.9.9"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// storedImage puts a qemu image into the config's local store with
// image.json recording sindriVersion, and returns its path.
func storedImage(t *testing.T, cfg, sindriVersion string) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfg), ".cache", "images", "0123abcd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "image.json"),
		`{"config_hash": "0123abcd", "name": "sindri-1", "sindri_version": "`+sindriVersion+`", "run_id": "1-1", "created": "2026-01-02T03:04:05Z"}`, 0o644)
	image := filepath.Join(dir, "image.qcow2")
	mustWrite(t, image, "qcow2", 0o644)
	return image
}

// issue 15: `test --image X` resolved sindri_version: latest through
// GitHub although the image records the release it holds, and failed
// offline before booting anything. It takes the image's record now, or
// --sindri-version, and asks no one.
func TestTestCommandSindriVersionNeverFromNetwork(t *testing.T) {
	fakeQEMUOnPath(t)
	api, hits := releaseAPI(t)
	cfg := writeConfig(t, "qemu", "accelerator: auto", "accelerator: tcg")
	noRecord := filepath.Join(t.TempDir(), "loose.qcow2")
	mustWrite(t, noRecord, "qcow2", 0o644)
	tests := []struct {
		name  string
		image func(t *testing.T) string
		args  []string
		code  int
		want  []string // in stderr
	}{
		{
			name: "the image's record", image: func(t *testing.T) string { return storedImage(t, cfg, "3.0.7") },
			code: ExitFindings, want: []string{"testing for Sindri 3.0.7 (recorded on the image)", "booting a test instance"},
		},
		{
			name: "the flag wins over the record", image: func(t *testing.T) string { return storedImage(t, cfg, "3.0.7") },
			args: []string{"--sindri-version", "v3.0.8"},
			code: ExitFindings, want: []string{"testing for Sindri 3.0.8 (--sindri-version)"},
		},
		{
			name: "a concrete version in sindri.yaml", image: func(t *testing.T) string { return noRecord },
			args: []string{"--set", "packer.build.sindri_version=3.0.1"},
			code: ExitFindings, want: []string{"testing for Sindri 3.0.1 (build.sindri_version in " + cfg + ")"},
		},
		{
			name: "no record and latest", image: func(t *testing.T) string { return noRecord },
			code: ExitBadInput,
			want: []string{"test: the Sindri version of " + noRecord + " is unknown", `build.sindri_version in ` + cfg + ` is "latest"`, "pass --sindri-version"},
		},
		{
			name: "latest as the flag", image: func(t *testing.T) string { return noRecord }, args: []string{"--sindri-version", "latest"},
			code: ExitBadInput, want: []string{`test: --sindri-version: want a release like 3.0.1, got "latest"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"test", "-c", cfg, "--cloud", "qemu", "--image", tt.image(t), "--boot-timeout", "300ms"}, tt.args...)
			r := run(t, []string{"PATH=" + t.TempDir(), "GITHUB_API_URL=" + api, "HOME=" + t.TempDir()}, args...)
			r.check(t, tt.code, nil, tt.want)
			if tt.code == ExitBadInput && strings.Contains(r.stderr, "booting") {
				t.Errorf("bad input, yet an instance was started:\n%s", r.stderr)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("test asked the releases API %d times", n)
	}
}

// TestTestCommandExpectsWhatTheBuildExpects: `sindri-packer test` tests an
// image against the same inputs as the build's test stage, both from
// verify.InputsFor: with the docker extension the image must run docker
// (the command left DockerExpected out and passed an image without it).
// Not parallel: it substitutes runImageTest.
func TestTestCommandExpectsWhatTheBuildExpects(t *testing.T) {
	var got []verify.TestOptions
	old := runImageTest
	runImageTest = func(_ context.Context, o verify.TestOptions) (*verify.Report, error) {
		got = append(got, o)
		return &verify.Report{Status: "passed"}, nil
	}
	t.Cleanup(func() { runImageTest = old })
	cfgPath := writeConfig(t, "qemu", "      - python\n", "      - python\n      - docker\n")
	image := filepath.Join(t.TempDir(), "image.qcow2")
	mustWrite(t, image, "qcow2", 0o644)
	run(t, []string{"PATH=" + t.TempDir()}, "test", "-c", cfgPath, "--cloud", "qemu", "--image", image,
		"--sindri-version", "3.0.1").check(t, 0, nil, nil)
	if len(got) != 1 {
		t.Fatalf("%d image tests, want 1", len(got))
	}
	cfg, err := config.Load(cfgPath, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Inputs.SSHUser == "" {
		t.Error("no login user")
	}
	want := verify.InputsFor(cfg, "3.0.1", got[0].Inputs.SSHUser)
	if !want.DockerExpected {
		t.Fatal("the build's inputs do not expect docker with the docker extension")
	}
	if !reflect.DeepEqual(got[0].Inputs, want) {
		t.Errorf("test command inputs %+v,\nthe build's %+v", got[0].Inputs, want)
	}
}
