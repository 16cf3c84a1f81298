package verify_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// fakeInSpec copies the test double testdata/fake-inspec (not the real
// tool) into a fresh folder under name ("inspec" or "cinc-auditor"): the
// licence flag depends on the binary's name.
func fakeInSpec(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fake-inspec"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func reportsDir(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "reports"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// options are RunOptions on the fake in the given mode. WorkDir does not
// exist yet and ProfileDir is relative, as RunInSpec must cope with both.
func options(t *testing.T, bin, mode string) verify.RunOptions {
	t.Helper()
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, []byte("not a real key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return verify.RunOptions{
		Bin:        bin,
		ProfileDir: filepath.Join("testdata", "profile"),
		WorkDir:    filepath.Join(t.TempDir(), "work"),
		Target:     verify.Target{Host: "203.0.113.10", Port: 2222, User: "sindri", KeyFile: key},
		Inputs: verify.Inputs{
			SindriVersion:  "3.1.0",
			Profile:        "fullstack",
			Extensions:     []string{"python", "nodejs"},
			CISHardening:   true,
			SSHUser:        "sindri",
			DockerExpected: true,
		},
		Env: []string{"FAKE_INSPEC_MODE=" + mode, "FAKE_INSPEC_REPORTS=" + reportsDir(t)},
	}
}

func parseFile(t *testing.T, name string) *verify.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "reports", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := verify.ParseReport(data)
	if err != nil {
		t.Fatalf("ParseReport(%s): %v", name, err)
	}
	return res
}

// reportFiles are InSpec JSON reports under testdata and what they say.
var reportFiles = []struct {
	file string
	want verify.Result
}{
	{
		file: "pass.json",
		want: verify.Result{
			Status: verify.StatusPassed, Passed: 3,
			Controls: []verify.Control{
				{ID: "sindri-01", Title: "Sindri is installed", Impact: 1, Status: "passed"},
				{ID: "sindri-02", Title: "Sindri version matches", Impact: 0.7, Status: "passed"},
				{ID: "ssh-01", Title: "SSH password authentication is disabled", Impact: 1, Status: "passed"},
			},
			Duration: 2513847 * time.Microsecond,
		},
	},
	{
		// Failures first, by id; then the rest by id. docker-01 has
		// impact 0.0 and still counts as failed, as InSpec counts it.
		// extensions-99 has no results and is not counted at all.
		file: "fail.json",
		want: verify.Result{
			Status: verify.StatusFailed, Passed: 1, Failed: 3, Skipped: 1,
			Controls: []verify.Control{
				{
					ID: "docker-01", Title: "Docker is running (informational)", Impact: 0, Status: "failed",
					Message: "Service docker is expected to be running: expected that `Service docker` is running",
				},
				{
					ID: "sindri-02", Title: "Sindri version matches", Impact: 0.7, Status: "failed",
					Message: "Command: `sindri --version` stdout is expected to cmp == \"3.1.0\": " +
						"expected: \"3.1.0\"\n     got: \"3.0.9\"\n\n(compared using `cmp` matcher)",
				},
				{
					ID: "ssh-01", Title: "SSH hardening", Impact: 1, Status: "failed",
					Message: "SSH Configuration PermitRootLogin is expected to cmp == \"no\": " +
						"expected: \"no\"\n     got: \"yes\"\n\n(compared using `cmp` matcher)",
				},
				{
					ID: "cis-01", Title: "CIS hardening is applied", Impact: 0.5, Status: "skipped",
					Message: "Skipped control due to only_if condition: cis_hardening is false",
				},
				{ID: "sindri-01", Title: "Sindri is installed", Impact: 1, Status: "passed"},
			},
			Duration: 3200 * time.Millisecond,
		},
	},
	{
		// docker-01 has a passed and two skipped results: InSpec counts
		// it as skipped (any skip, no failure). Same skip messages once.
		file: "skip.json",
		want: verify.Result{
			Status: verify.StatusSkipped, Passed: 1, Skipped: 2,
			Controls: []verify.Control{
				{
					ID: "cis-01", Title: "CIS hardening is applied", Impact: 0.5, Status: "skipped",
					Message: "Skipped control due to only_if condition: cis_hardening is false",
				},
				{ID: "docker-01", Title: "Docker", Impact: 0.5, Status: "skipped", Message: "docker_expected is false"},
				{ID: "sindri-01", Title: "Sindri is installed", Impact: 1, Status: "passed"},
			},
			Duration: 750 * time.Millisecond,
		},
	},
	{
		file: "profile-skipped.json",
		want: verify.Result{
			Status: verify.StatusSkipped,
			ProfileSkips: []string{"sindri-image: Skipping profile: 'sindri-image' on unsupported platform: " +
				"'windows_server_2022_datacenter/10.0.20348'."},
			Duration: 10 * time.Millisecond,
		},
	},
}

func TestParseReportFiles(t *testing.T) {
	for _, tt := range reportFiles {
		t.Run(tt.file, func(t *testing.T) {
			got := parseFile(t, tt.file)
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("ParseReport(%s) (-want +got):\n%s", tt.file, d)
			}
		})
	}
}

func TestParseReportDocuments(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    *verify.Result
		wantErr string
	}{
		{name: "malformed", doc: `{"profiles": [`, wantErr: "unexpected end of JSON"},
		{name: "trailing garbage", doc: `{"profiles": []} x`, wantErr: "invalid character"},
		{name: "an array", doc: `[]`, wantErr: "cannot unmarshal array"},
		{name: "null", doc: `null`, wantErr: `no "profiles"`},
		{name: "json-min document", doc: `{"controls": [], "statistics": {"duration": 1}, "version": "6.6.0"}`, wantErr: `no "profiles"`},
		{name: "empty profiles", doc: `{"platform": {}, "profiles": [], "statistics": {"duration": 0}, "version": "6.6.0"}`, wantErr: "no profiles: nothing was tested"},
		{
			name:    "profile failed to load",
			doc:     `{"profiles": [{"name": "sindri-image", "status": "failed", "status_message": "Cannot find inspec.yml", "controls": []}]}`,
			wantErr: "profile sindri-image failed to load: Cannot find inspec.yml",
		},
		{
			name:    "no results anywhere",
			doc:     `{"profiles": [{"name": "p", "status": "loaded", "controls": [{"id": "a", "impact": 1, "results": []}, {"id": "b", "impact": 1}]}]}`,
			wantErr: "no control has results",
		},
		{
			// A wrapper profile lists the controls of the profile it
			// includes; InSpec counts each once. Null title and impact
			// read as empty; a failure without message is its code_desc.
			name: "shared control, nulls, bare failure",
			doc: `{"profiles": [
				{"name": "wrapper", "status": "loaded", "controls": [
					{"id": "x-1", "title": null, "impact": null, "results": [{"status": "failed", "code_desc": "File /x is expected to exist"}]}]},
				{"name": "base", "status": "loaded", "controls": [
					{"id": "x-1", "title": null, "impact": null, "results": [{"status": "failed", "code_desc": "File /x is expected to exist"}]},
					{"id": "x-2", "title": "two", "impact": 0.3, "results": [{"status": "skipped", "code_desc": "No-op"}]}]}],
				"statistics": {"duration": 0.0015}, "version": "5.22.55"}`,
			want: &verify.Result{
				Status: verify.StatusFailed, Failed: 1, Skipped: 1,
				Controls: []verify.Control{
					{ID: "x-1", Status: "failed", Message: "File /x is expected to exist"},
					{ID: "x-2", Title: "two", Impact: 0.3, Status: "skipped"},
				},
				Duration: 1500 * time.Microsecond,
			},
		},
		{
			name: "profile skipped without message",
			doc:  `{"profiles": [{"name": "p", "status": "skipped", "controls": []}], "statistics": {"duration": 0}, "version": "6.6.0"}`,
			want: &verify.Result{Status: verify.StatusSkipped, ProfileSkips: []string{"p: skipped"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.ParseReport([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseReport() error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("ParseReport() = %+v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReport(): %v", err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseReport() (-want +got):\n%s", d)
			}
		})
	}
}

func TestRunInSpecOutcomes(t *testing.T) {
	tests := []struct {
		mode, report string
		exit         int
		log          string
	}{
		{mode: "pass", report: "pass.json", exit: 0, log: "3 successful controls"},
		{mode: "fail", report: "fail.json", exit: 100, log: "3 control failures"},
		{mode: "skip", report: "skip.json", exit: 101, log: "2 controls skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			o := options(t, fakeInSpec(t, "inspec"), tt.mode)
			var log report.Buffer
			o.Log = &log
			got, err := verify.RunInSpec(t.Context(), o)
			if err != nil {
				t.Fatalf("RunInSpec: %v", err)
			}
			want := parseFile(t, tt.report)
			want.ExitCode = tt.exit
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("RunInSpec (-want +got):\n%s", d)
			}
			if !strings.Contains(log.String(), "Profile:   Sindri image checks") || !strings.Contains(log.String(), tt.log) {
				t.Errorf("Log got %q, want the cli reporter's output with %q", log.String(), tt.log)
			}
		})
	}
}

func TestRunInSpecErrors(t *testing.T) {
	tests := []struct {
		mode    string
		env     []string
		want    []string
		notWant []string
	}{
		{
			mode: "crash",
			want: []string{
				"inspec exec: exit 1 (usage error or crash)",
				"--- stderr (end) ---",
				"Train::Transports::SSHFailed",
				"Authentication failed for user ssh://sindri@203.0.113.10:2222",
			},
			// Only the tail of a long trace: its first lines are dropped.
			notWant: []string{"command.rb:0:", "--- stdout"},
		},
		{
			mode: "license",
			want: []string{
				"exit 172 (the Chef licence was not accepted)",
				"ERROR: License acceptance is required",
				"--- stdout (end) ---",
				"Chef InSpec cannot execute without accepting the license",
			},
		},
		{mode: "noreport", want: []string{"exit 0 but no report", "no such file"}},
		{mode: "killed", want: []string{"inspec exec: signal: killed", "(no output)"}},
		{mode: "custom", env: []string{"FAKE_INSPEC_EXIT=174"}, want: []string{"exit 174 (InSpec 6 needs a Chef licence key (CHEF_LICENSE_KEY); cinc-auditor needs none)"}},
		{mode: "custom", env: []string{"FAKE_INSPEC_EXIT=5"}, want: []string{"exit 5 (profile signature missing or invalid)"}},
		{mode: "custom", env: []string{"FAKE_INSPEC_EXIT=2", "FAKE_INSPEC_COPY=pass.json"}, want: []string{"exit 2 (unexpected)"}},
		{mode: "garbage", want: []string{"exit 0:", "inspec.json", "unexpected end of JSON", "(no output)"}},
		{mode: "no-such-mode", want: []string{"exit 1", "unknown FAKE_INSPEC_MODE 'no-such-mode'"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode+strings.Join(tt.env, ","), func(t *testing.T) {
			o := options(t, fakeInSpec(t, "inspec"), tt.mode)
			o.Env = append(o.Env, tt.env...)
			res, err := verify.RunInSpec(t.Context(), o)
			if err == nil {
				t.Fatalf("RunInSpec = %+v, want an error", res)
			}
			if res != nil {
				t.Errorf("RunInSpec returned %+v with the error, want nil", res)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error has %q:\n%v", w, err)
				}
			}
		})
	}
}

// When the exit code and the report disagree, the stricter status wins
// (a disagreement never passes an image) and the error says so.
func TestRunInSpecExitMismatch(t *testing.T) {
	tests := []struct {
		name         string
		report, exit string
		wantStatus   string
		wantFailed   int
		wantErr      string
	}{
		{
			name: "failures in the report, exit 0", report: "fail.json", exit: "0",
			wantStatus: "failed", wantFailed: 3,
			wantErr: "exit 0 means passed, the report says failed (3 failed, 1 skipped); taking failed",
		},
		{
			name: "exit 100, a clean report", report: "pass.json", exit: "100",
			wantStatus: "failed", wantFailed: 0,
			wantErr: "exit 100 means failed, the report says passed (0 failed, 0 skipped); taking failed",
		},
		{
			name: "exit 101, a clean report", report: "pass.json", exit: "101",
			wantStatus: "skipped", wantFailed: 0,
			wantErr: "exit 101 means skipped, the report says passed (0 failed, 0 skipped); taking skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, fakeInSpec(t, "inspec"), "custom")
			o.Env = append(o.Env, "FAKE_INSPEC_COPY="+tt.report, "FAKE_INSPEC_EXIT="+tt.exit)
			res, err := verify.RunInSpec(t.Context(), o)
			if !errors.Is(err, verify.ErrExitMismatch) {
				t.Fatalf("RunInSpec error = %v, want ErrExitMismatch", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if res == nil {
				t.Fatal("RunInSpec returned no Result with the mismatch")
			}
			if res.Status != tt.wantStatus || res.ExitCode != atoi(t, tt.exit) || res.Failed != tt.wantFailed {
				t.Errorf("Result = status %s exit %d failed %d, want %s %s %d",
					res.Status, res.ExitCode, res.Failed, tt.wantStatus, tt.exit, tt.wantFailed)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A report an earlier run left in WorkDir is not read as this run's.
func TestRunInSpecStaleReport(t *testing.T) {
	o := options(t, fakeInSpec(t, "inspec"), "noreport")
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join("testdata", "reports", "pass.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.WorkDir, verify.ReportFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := verify.RunInSpec(t.Context(), o); err == nil || !strings.Contains(err.Error(), "no report") {
		t.Fatalf("RunInSpec = %+v, %v; want a no-report error", res, err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the fake did not record: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// The command line is exactly the documented one; only a binary named
// inspec gets --chef-license.
func TestRunInSpecArguments(t *testing.T) {
	profile, err := filepath.Abs(filepath.Join("testdata", "profile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"inspec", "cinc-auditor"} {
		t.Run(name, func(t *testing.T) {
			o := options(t, fakeInSpec(t, name), "pass")
			if _, err := verify.RunInSpec(t.Context(), o); err != nil {
				t.Fatalf("RunInSpec: %v", err)
			}
			want := []string{
				"exec", profile,
				"-t", "ssh://sindri@203.0.113.10:2222",
				"-i", o.Target.KeyFile,
				"--sudo",
				"--input-file", filepath.Join(o.WorkDir, "inputs.yml"),
				"--reporter", "json:" + filepath.Join(o.WorkDir, "inspec.json"), "cli",
				"--no-color",
			}
			if name == "inspec" {
				want = append(want, "--chef-license", "accept-silent")
			}
			got := readLines(t, filepath.Join(o.WorkDir, "fake-inspec.args"))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("arguments (-want +got):\n%s", d)
			}
		})
	}
}

// An IPv6 host is bracketed and a zero port means 22.
func TestRunInSpecIPv6Target(t *testing.T) {
	o := options(t, fakeInSpec(t, "cinc-auditor"), "pass")
	o.Target.Host, o.Target.Port = "2001:db8::7", 0
	if _, err := verify.RunInSpec(t.Context(), o); err != nil {
		t.Fatalf("RunInSpec: %v", err)
	}
	args := readLines(t, filepath.Join(o.WorkDir, "fake-inspec.args"))
	if i := slices.Index(args, "-t"); i < 0 || args[i+1] != "ssh://sindri@[2001:db8::7]:22" {
		t.Errorf("arguments %q, want -t ssh://sindri@[2001:db8::7]:22", args)
	}
}

// shellEnv are variables a POSIX shell sets on its own.
var shellEnv = []string{"PWD", "OLDPWD", "SHLVL", "_"}

// inspec's environment is RunOptions.Env and nothing of ours.
func TestRunInSpecEnvironment(t *testing.T) {
	t.Setenv("SINDRI_TEST_CANARY", "must-not-leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
	o := options(t, fakeInSpec(t, "inspec"), "pass")
	if _, err := verify.RunInSpec(t.Context(), o); err != nil {
		t.Fatalf("RunInSpec: %v", err)
	}
	var got []string
	for _, l := range readLines(t, filepath.Join(o.WorkDir, "fake-inspec.env")) {
		k, _, _ := strings.Cut(l, "=")
		if !slices.Contains(shellEnv, k) {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(o.Env))
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("environment (-want +got):\n%s", d)
	}
}

func TestRunInSpecInputsFile(t *testing.T) {
	tests := []struct {
		name   string
		inputs verify.Inputs
		want   string
	}{
		{
			name: "full",
			inputs: verify.Inputs{
				SindriVersion: "3.1.0", Profile: "fullstack", Extensions: []string{"python", "nodejs"},
				CISHardening: true, SSHUser: "sindri", DockerExpected: true,
			},
			want: "sindri_version: 3.1.0\nprofile: fullstack\nextensions:\n    - python\n    - nodejs\n" +
				"cis_hardening: true\nssh_user: sindri\ndocker_expected: true\n",
		},
		{
			// No extensions is an empty list, not null; a version that
			// reads as a number stays a string.
			name:   "empty",
			inputs: verify.Inputs{SindriVersion: "3.0", Profile: "minimal", SSHUser: "ubuntu"},
			want: "sindri_version: \"3.0\"\nprofile: minimal\nextensions: []\n" +
				"cis_hardening: false\nssh_user: ubuntu\ndocker_expected: false\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, fakeInSpec(t, "inspec"), "pass")
			o.Inputs = tt.inputs
			if _, err := verify.RunInSpec(t.Context(), o); err != nil {
				t.Fatalf("RunInSpec: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(o.WorkDir, verify.InputsFile))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, string(got)); d != "" {
				t.Errorf("inputs.yml (-want +got):\n%s", d)
			}
		})
	}
}

// Cancelling kills inspec and the children it started: RunInSpec returns
// long before the 10 minutes the fake sleeps, and before the WaitDelay
// safety net (5 s) would have cut the pipes a surviving child holds.
func TestRunInSpecCancel(t *testing.T) {
	o := options(t, fakeInSpec(t, "inspec"), "hang")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := verify.RunInSpec(ctx, o)
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunInSpec = %+v, %v; want an error wrapping context.Canceled", res, err)
	}
	if took > 4*time.Second {
		t.Errorf("RunInSpec took %v after cancel, want prompt", took)
	}
}

func TestRunInSpecDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := verify.RunInSpec(ctx, options(t, fakeInSpec(t, "inspec"), "hang"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RunInSpec error = %v, want context.DeadlineExceeded", err)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("log is gone") }

// A log that fails does not fail the run.
func TestRunInSpecBrokenLog(t *testing.T) {
	o := options(t, fakeInSpec(t, "inspec"), "pass")
	o.Log = brokenWriter{}
	if res, err := verify.RunInSpec(t.Context(), o); err != nil || res.Status != verify.StatusPassed {
		t.Fatalf("RunInSpec = %+v, %v; want passed", res, err)
	}
}

func TestRunInSpecBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*verify.RunOptions)
		wantErr string
	}{
		{name: "no bin", change: func(o *verify.RunOptions) { o.Bin = "" }, wantErr: "Bin is empty"},
		{name: "no profile", change: func(o *verify.RunOptions) { o.ProfileDir = "" }, wantErr: "ProfileDir is empty"},
		{name: "no work dir", change: func(o *verify.RunOptions) { o.WorkDir = "" }, wantErr: "WorkDir is empty"},
		{name: "no host", change: func(o *verify.RunOptions) { o.Target.Host = "" }, wantErr: "Target.Host is empty"},
		{name: "no user", change: func(o *verify.RunOptions) { o.Target.User = "" }, wantErr: "Target.User is empty"},
		{name: "no key", change: func(o *verify.RunOptions) { o.Target.KeyFile = "" }, wantErr: "Target.KeyFile is empty"},
		{name: "bad port", change: func(o *verify.RunOptions) { o.Target.Port = 70000 }, wantErr: "Target.Port 70000 out of range"},
		{
			name:    "missing binary",
			change:  func(o *verify.RunOptions) { o.Bin = filepath.Join(t.TempDir(), "inspec") },
			wantErr: "no such file",
		},
		{
			name:    "binary not on PATH",
			change:  func(o *verify.RunOptions) { o.Bin = "sindri-no-such-inspec" },
			wantErr: exec.ErrNotFound.Error(),
		},
		{
			name: "work dir under a file",
			change: func(o *verify.RunOptions) {
				f := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				o.WorkDir = filepath.Join(f, "work")
			},
			wantErr: "not a directory",
		},
		{
			name: "inputs.yml is a folder",
			change: func(o *verify.RunOptions) {
				if err := os.MkdirAll(filepath.Join(o.WorkDir, verify.InputsFile), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "is a directory",
		},
		{
			name: "old report cannot be removed",
			change: func(o *verify.RunOptions) {
				if err := os.MkdirAll(filepath.Join(o.WorkDir, verify.ReportFile, "x"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "directory not empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, fakeInSpec(t, "inspec"), "pass")
			tt.change(&o)
			res, err := verify.RunInSpec(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("RunInSpec = %+v, %v; want an error containing %q", res, err, tt.wantErr)
			}
		})
	}
}

// The double is only worth something if it refuses what real inspec
// would not get from RunInSpec.
func TestFakeInSpecIsStrict(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	inputs := filepath.Join(dir, "inputs.yml")
	for _, f := range []string{key, inputs} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	profile := filepath.Join("testdata", "profile")
	ok := []string{"exec", profile, "-t", "ssh://u@h:22", "-i", key, "--sudo",
		"--input-file", inputs, "--reporter", "json:" + filepath.Join(dir, "r.json"), "cli", "--no-color"}
	without := func(drop ...string) []string {
		var out []string
		for i := 0; i < len(ok); i++ {
			if slices.Contains(drop, ok[i]) {
				if ok[i] != "--sudo" && ok[i] != "--no-color" {
					i++ // and its value
				}
				continue
			}
			out = append(out, ok[i])
		}
		return out
	}
	replace := func(old, new string) []string {
		out := slices.Clone(ok)
		out[slices.Index(out, old)] = new
		return out
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "not exec", args: append([]string{"check"}, ok[1:]...), wantErr: "first argument must be exec"},
		{name: "no profile", args: append([]string{"exec"}, ok[2:]...), wantErr: "missing PROFILE"},
		{name: "no target", args: without("-t"), wantErr: "-t must be ssh://"},
		{name: "target not ssh", args: replace("ssh://u@h:22", "winrm://u@h"), wantErr: "-t must be ssh://"},
		{name: "no key", args: without("-i"), wantErr: "missing -i KEY"},
		{name: "no sudo", args: without("--sudo"), wantErr: "missing --sudo"},
		{name: "no input file", args: without("--input-file"), wantErr: "--input-file '' is not a file"},
		{name: "json to stdout", args: replace("json:"+filepath.Join(dir, "r.json"), "json"), wantErr: "without :PATH"},
		{name: "relative report", args: replace("json:"+filepath.Join(dir, "r.json"), "json:r.json"), wantErr: "not absolute"},
		{name: "bad licence", args: append(slices.Clone(ok), "--chef-license", "accept"), wantErr: "want accept-silent"},
		{name: "dangling -i", args: append(slices.Clone(ok), "-i"), wantErr: "-i needs a value"},
		{name: "unknown flag", args: append(slices.Clone(ok), "--controls", "x"), wantErr: "unexpected argument '--controls'"},
		{name: "all fine, no mode", args: ok, wantErr: "unknown FAKE_INSPEC_MODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join("testdata", "fake-inspec"), tt.args...)
			cmd.Env = []string{}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("fake-inspec %q: %v, want exit 1", tt.args, err)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestFindInSpec(t *testing.T) {
	root := t.TempDir()
	mk := func(dir, name string, mode os.FileMode) {
		t.Helper()
		d := filepath.Join(root, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("cinc", "cinc-auditor", 0o755)
	mk("chef", "inspec", 0o755)
	mk("noexec", "inspec", 0o644)
	if err := os.MkdirAll(filepath.Join(root, "dirs", "inspec"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := func(dirs ...string) string {
		var out []string
		for _, d := range dirs {
			if filepath.IsAbs(d) || d == "" || d == "." {
				out = append(out, d)
			} else {
				out = append(out, filepath.Join(root, d))
			}
		}
		return strings.Join(out, string(filepath.ListSeparator))
	}
	tests := []struct {
		name string
		path string
		want string // "" means ErrNotFound
	}{
		{name: "inspec wins even after cinc-auditor", path: p("cinc", "chef"), want: filepath.Join(root, "chef", "inspec")},
		{name: "cinc-auditor alone", path: p("cinc"), want: filepath.Join(root, "cinc", "cinc-auditor")},
		{name: "not executable, nor a folder", path: p("noexec", "dirs", "cinc"), want: filepath.Join(root, "cinc", "cinc-auditor")},
		{name: "neither", path: p("noexec", "dirs", "missing"), want: ""},
		{name: "empty PATH", path: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.FindInSpec(tt.path)
			if tt.want == "" {
				if !errors.Is(err, verify.ErrNotFound) {
					t.Fatalf("FindInSpec = %q, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FindInSpec = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// Relative PATH entries ("", ".", "bin") are never searched.
func TestFindInSpecIgnoresRelativeEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inspec"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	path := strings.Join([]string{"", ".", "bin"}, string(filepath.ListSeparator))
	if got, err := verify.FindInSpec(path); !errors.Is(err, verify.ErrNotFound) {
		t.Fatalf("FindInSpec(%q) = %q, %v; want ErrNotFound", path, got, err)
	}
}

func TestFindInSpecMessage(t *testing.T) {
	_, err := verify.FindInSpec("")
	for _, w := range []string{"inspec", "cinc-auditor", "PATH", "RubyGems", "Chef", "Cinc"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

// ParseReport never panics, and whatever it accepts is consistent: the
// counts add up to the controls, failures come first, the status follows
// the counts.
func FuzzParseReport(f *testing.F) {
	for _, name := range []string{"pass.json", "fail.json", "skip.json", "profile-skipped.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "reports", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"profiles": [{"name": "p", "controls": [{"id": "a", "results": [{"status": "bogus"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := verify.ParseReport(data)
		if err != nil {
			return
		}
		if res.Passed+res.Failed+res.Skipped != len(res.Controls) {
			t.Fatalf("counts %d+%d+%d != %d controls", res.Passed, res.Failed, res.Skipped, len(res.Controls))
		}
		if len(res.Controls) == 0 && len(res.ProfileSkips) == 0 {
			t.Fatal("accepted a report where nothing was tested")
		}
		for i := 1; i < len(res.Controls); i++ {
			if res.Controls[i].Status == verify.StatusFailed && res.Controls[i-1].Status != verify.StatusFailed {
				t.Fatalf("failure %s after non-failure %s", res.Controls[i].ID, res.Controls[i-1].ID)
			}
		}
		want := verify.StatusPassed
		switch {
		case res.Failed > 0:
			want = verify.StatusFailed
		case res.Skipped > 0 || len(res.ProfileSkips) > 0:
			want = verify.StatusSkipped
		}
		if res.Status != want {
			t.Fatalf("status %s, counts say %s", res.Status, want)
		}
	})
}
