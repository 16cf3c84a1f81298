package packer_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/packer"
)

// parseCase is one machine-readable line and what ParseLine makes of it.
type parseCase struct {
	name    string
	in      string
	want    packer.Line
	ok      bool
	message string
	isError bool
}

// parseCases: the lines are what the real packer 1.9.4 printed for
// `packer build -machine-readable` of testdata/build/tiny.pkr.hcl.
var parseCases = []parseCase{
	{
		name:    "ui say",
		in:      "1795635187,,ui,say,==> null.tiny: Running local shell script: /tmp/packer-shell2379258539\n",
		want:    packer.Line{Time: time.Unix(1795635187, 0), Type: "ui", Data: []string{"say", "==> null.tiny: Running local shell script: /tmp/packer-shell2379258539"}},
		ok:      true,
		message: "==> null.tiny: Running local shell script: /tmp/packer-shell2379258539",
	},
	{
		name:    "escaped comma",
		in:      "1795635187,,ui,message,    null.tiny: greeting=hello%!(PACKER_COMMA) world",
		want:    packer.Line{Time: time.Unix(1795635187, 0), Type: "ui", Data: []string{"message", "    null.tiny: greeting=hello, world"}},
		ok:      true,
		message: "    null.tiny: greeting=hello, world",
	},
	{
		name:    "escaped newline and CRLF ending",
		in:      `1795635187,,ui,say,\n==> Builds finished. The artifacts of successful builds are:` + "\r\n",
		want:    packer.Line{Time: time.Unix(1795635187, 0), Type: "ui", Data: []string{"say", "\n==> Builds finished. The artifacts of successful builds are:"}},
		ok:      true,
		message: "\n==> Builds finished. The artifacts of successful builds are:",
	},
	{
		name:    "ui error",
		in:      "1795635191,,ui,error,Build 'null.tiny' errored after 16 milliseconds 291 microseconds: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
		want:    packer.Line{Time: time.Unix(1795635191, 0), Type: "ui", Data: []string{"error", "Build 'null.tiny' errored after 16 milliseconds 291 microseconds: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"}},
		ok:      true,
		message: "Build 'null.tiny' errored after 16 milliseconds 291 microseconds: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
		isError: true,
	},
	{
		// The per-build error summary is not a ui line: Errors already
		// has its ui twin.
		name:    "build error line",
		in:      "1795635191,null.tiny,error,Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
		want:    packer.Line{Time: time.Unix(1795635191, 0), Target: "null.tiny", Type: "error", Data: []string{"Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"}},
		ok:      true,
		message: "Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
	},
	{
		name:    "artifact file",
		in:      "1795635187,file.out,artifact,0,file,0,tpl/out%!(PACKER_COMMA) one.txt",
		want:    packer.Line{Time: time.Unix(1795635187, 0), Target: "file.out", Type: "artifact", Data: []string{"0", "file", "0", "tpl/out, one.txt"}},
		ok:      true,
		message: "0,file,0,tpl/out, one.txt",
	},
	{
		name:    "artifact-count",
		in:      "1795635187,null.tiny,artifact-count,2",
		want:    packer.Line{Time: time.Unix(1795635187, 0), Target: "null.tiny", Type: "artifact-count", Data: []string{"2"}},
		ok:      true,
		message: "2",
	},
	{
		// An unescaped comma (never written by packer) is kept in the text.
		name:    "ui with a raw comma",
		in:      "1,,ui,say,a,b",
		want:    packer.Line{Time: time.Unix(1, 0), Type: "ui", Data: []string{"say", "a", "b"}},
		ok:      true,
		message: "a,b",
	},
	{
		name: "no data",
		in:   "1795635187,,ui",
		want: packer.Line{Time: time.Unix(1795635187, 0), Type: "ui", Data: []string{}},
		ok:   true,
	},
	{name: "plain text", in: "panic: runtime error: invalid memory address"},
	{name: "two fields", in: "1795635187,ui"},
	{name: "timestamp not a number", in: "2024-01-01,,ui,say,hello"},
	{name: "empty", in: ""},
}

func TestParseLine(t *testing.T) {
	t.Parallel()
	for _, tt := range parseCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := packer.ParseLine(tt.in)
			if ok != tt.ok {
				t.Fatalf("ParseLine(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if !ok {
				return
			}
			if !got.Time.Equal(tt.want.Time) || got.Target != tt.want.Target || got.Type != tt.want.Type || !slices.Equal(got.Data, tt.want.Data) {
				t.Errorf("ParseLine(%q) =\n%#v\nwant\n%#v", tt.in, got, tt.want)
			}
			if m := got.Message(); m != tt.message {
				t.Errorf("Message() = %q, want %q", m, tt.message)
			}
			if e := got.IsError(); e != tt.isError {
				t.Errorf("IsError() = %v, want %v", e, tt.isError)
			}
		})
	}
}

// Build's command line, checked on the fake packer: fixed flags first,
// -var sorted by name, -var-file in the given order, the folder last.
func TestBuildArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    packer.BuildOptions
		want []string
	}{
		{
			name: "defaults",
			o:    packer.BuildOptions{Dir: "tpl"},
			want: []string{"build", "-machine-readable", "-color=false", "-timestamp-ui=false", "-on-error=cleanup", "tpl"},
		},
		{
			name: "everything",
			o: packer.BuildOptions{
				Dir:      "my tpl",
				Vars:     map[string]string{"zone": "b", "arch": "x86_64", "name": "a=b c"},
				VarFiles: []string{"z.pkrvars.hcl", "a.pkrvars.hcl"},
				OnError:  "abort",
			},
			want: []string{
				"build", "-machine-readable", "-color=false", "-timestamp-ui=false", "-on-error=abort",
				"-var", "arch=x86_64", "-var", "name=a=b c", "-var", "zone=b",
				"-var-file=z.pkrvars.hcl", "-var-file=a.pkrvars.hcl", "my tpl",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, rec := fakeRunner(t, "FAKE_PACKER_STDOUT=1,,ui,say,ok\n")
			res, err := r.Build(t.Context(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 || res.Cancelled || len(res.Errors) != 0 || len(res.Artifacts) != 0 {
				t.Errorf("result = %+v", res)
			}
			if got := readRecord(t, rec).args; !slices.Equal(got, tt.want) {
				t.Errorf("arguments = %q\nwant        %q", got, tt.want)
			}
		})
	}
}

// Build reads artifacts, errors and the exit code from the fake's output,
// real packer lines included; lines that are not machine-readable are
// skipped, and a line longer than bufio's default 64 KiB still counts.
func TestBuildResultFromOutput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100*1024)
	stdout := strings.Join([]string{
		"1795635191,,ui,say,==> null.tiny: Running local shell script: /tmp/packer-shell2435809393",
		"this line is not machine-readable",
		"1795635191,,ui,error,Build 'null.tiny' errored: Script exited with non-zero exit status: 1",
		"1795635191,null.tiny,error,Script exited with non-zero exit status: 1",
		"1795635187,file.out,artifact,0,builder-id,packer.file",
		"1795635187,file.out,artifact,0,id,File",
		"1795635187,file.out,artifact,0,string,Stored file: tpl/out%!(PACKER_COMMA) one.txt",
		"1795635187,file.out,artifact,0,files-count,2",
		"1795635187,file.out,artifact,0,file,0,tpl/out%!(PACKER_COMMA) one.txt",
		"1795635187,file.out,artifact,0,file,1,tpl/two.txt",
		"1795635187,file.out,artifact,0,end",
		"1795635187,null.tiny,artifact,0,builder-id,fnoeding.null",
		"1795635187,null.tiny,artifact,0,id," + long,
		"1795635187,null.tiny,artifact,0,file",
		"1795635187,file.out,artifact,1,builder-id,packer.post-processor.manifest",
		"1795635187,file.out,artifact,1,id,us-east-1:ami-1%!(PACKER_COMMA)us-west-2:ami-2",
		"1795635191,,ui,error,--> null.tiny: Script exited with non-zero exit status: 1",
	}, "\n") + "\n"
	r, _ := fakeRunner(t, "FAKE_PACKER_STDOUT="+stdout, "FAKE_PACKER_STDERR=some stderr", "FAKE_PACKER_EXIT=1")
	var mu sync.Mutex
	var seen []packer.Line
	res, err := r.Build(t.Context(), packer.BuildOptions{Dir: "tpl", OnLine: func(l packer.Line) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, l)
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := packer.BuildResult{
		ExitCode: 1,
		Artifacts: []packer.Artifact{
			{Target: "file.out", Builder: "packer.file", ID: "File", String: "Stored file: tpl/out, one.txt", Files: []string{"tpl/out, one.txt", "tpl/two.txt"}},
			{Target: "null.tiny", Builder: "fnoeding.null", ID: long},
			{Target: "file.out", Builder: "packer.post-processor.manifest", ID: "us-east-1:ami-1,us-west-2:ami-2"},
		},
		Errors: []string{
			"Build 'null.tiny' errored: Script exited with non-zero exit status: 1",
			"--> null.tiny: Script exited with non-zero exit status: 1",
		},
		Stderr: "some stderr",
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result =\n%+v\nwant\n%+v", res, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 16 { // every line but the one that is not machine-readable
		t.Errorf("OnLine saw %d lines, want 16", len(seen))
	}
}

// Only the last 64 KiB of stderr are kept: enough for a crash's panic.
func TestBuildStderrTail(t *testing.T) {
	t.Parallel()
	stderr := "HEAD" + strings.Repeat("x", 70*1024) + "TAIL"
	r, _ := fakeRunner(t, "FAKE_PACKER_STDERR="+stderr, "FAKE_PACKER_EXIT=2")
	res, err := r.Build(t.Context(), packer.BuildOptions{Dir: "tpl"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 {
		t.Errorf("exit code = %d, want 2", res.ExitCode)
	}
	if len(res.Stderr) != 64*1024 || !strings.HasSuffix(res.Stderr, "xTAIL") || strings.Contains(res.Stderr, "HEAD") {
		t.Errorf("stderr is %d bytes (want %d), ends %q", len(res.Stderr), 64*1024, res.Stderr[max(0, len(res.Stderr)-8):])
	}
}

func TestBuildMissingBinary(t *testing.T) {
	t.Parallel()
	r := &packer.Runner{Bin: filepath.Join(t.TempDir(), "packer"), Dir: t.TempDir()}
	_, err := r.Build(t.Context(), packer.BuildOptions{Dir: "tpl"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "packer build tpl") {
		t.Errorf("error = %v, want one naming the build and wrapping fs.ErrNotExist", err)
	}
}

// processesMentioning returns the command lines of running processes that
// contain s, waiting up to two seconds for killed ones to go.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	var found []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		found = nil
		dirs, err := os.ReadDir("/proc")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		for _, d := range dirs {
			if d.Name()[0] < '0' || d.Name()[0] > '9' {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
			if err != nil || !strings.Contains(string(cmdline), s) {
				continue
			}
			found = append(found, d.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
	}
}

// A packer that ignores the interrupt is killed, with what it started,
// once Grace has passed.
func TestBuildGraceExpiryKills(t *testing.T) {
	t.Parallel()
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-packer-ignores-interrupt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &packer.Runner{Bin: bin, Dir: t.TempDir()}
	const grace = 500 * time.Millisecond
	res, start := cancelWhenWaiting(t, r, dir, grace)
	took := time.Since(start)
	if !res.Cancelled || res.ExitCode != 1 {
		t.Errorf("result = %+v, want Cancelled and exit 1 (killed)", res)
	}
	if took < grace {
		t.Errorf("Build returned after %s, before the %s grace", took, grace)
	}
	if took > 10*time.Second {
		t.Errorf("Build returned after %s; it should kill packer once the %s grace is over", took, grace)
	}
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Errorf("processes left after Build returned:\n%s", strings.Join(left, "\n"))
	}
}

// realBuild copies testdata/build into a fresh folder and returns a Runner
// on the real packer (with a PATH for shell-local) and that folder.
func realBuild(t *testing.T) (*packer.Runner, string) {
	t.Helper()
	r := realPacker(t)
	r.Env = append(r.Env, "PATH=/usr/bin:/bin")
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "build", "tiny.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiny.pkr.hcl"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r.Dir = t.TempDir()
	return r, dir
}

// messages returns the ui text of lines, one string per line.
func messages(lines []packer.Line) string {
	var b strings.Builder
	for _, l := range lines {
		if l.Type == "ui" {
			b.WriteString(l.Message() + "\n")
		}
	}
	return b.String()
}

// collect is an OnLine that keeps the lines.
type collect struct {
	mu    sync.Mutex
	lines []packer.Line
}

func (c *collect) add(l packer.Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
}

func (c *collect) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return messages(c.lines)
}

func TestBuildRealPackerSuccess(t *testing.T) {
	t.Parallel()
	r, dir := realBuild(t)
	varFile, err := filepath.Abs(filepath.Join("testdata", "build", "vars.pkrvars.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	build := func(greeting string) (packer.BuildResult, string) {
		t.Helper()
		var lines collect
		res, err := r.Build(t.Context(), packer.BuildOptions{
			Dir:      dir,
			Vars:     map[string]string{"greeting": greeting},
			VarFiles: []string{varFile},
			OnLine:   lines.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.Cancelled || len(res.Errors) != 0 {
			t.Fatalf("build failed: %+v\n%s", res, lines.text())
		}
		return res, lines.text()
	}

	res, text := build("hello, world")
	for _, want := range []string{
		"null.tiny: greeting=hello, world", // -var, comma unescaped
		"file.out: greeting=hello, world",
		"null.tiny: from_file=a, b", // -var-file
	} {
		if !strings.Contains(text, want) {
			t.Errorf("packer's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "error cleanup ran") {
		t.Errorf("the error-cleanup provisioner ran on success:\n%s", text)
	}
	// Each build has its own artifact and the manifest post-processor's.
	out := filepath.Join(dir, "out, one.txt")
	null := packer.Artifact{Target: "null.tiny", Builder: "fnoeding.null", ID: "Null", String: "Did not export anything. This is the null builder"}
	file := packer.Artifact{Target: "file.out", Builder: "packer.file", ID: "File", String: "Stored file: " + out, Files: []string{out}}
	arts := slices.Clone(res.Artifacts)
	slices.SortStableFunc(arts, func(a, b packer.Artifact) int { return strings.Compare(b.Target, a.Target) })
	if want := []packer.Artifact{null, null, file, file}; !reflect.DeepEqual(arts, want) {
		t.Errorf("artifacts =\n%+v\nwant\n%+v", arts, want)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "made by packer" {
		t.Errorf("the file builder's output: %q, %v", b, err)
	}

	// The manifest post-processor appends; ReadManifest keeps only the
	// last run.
	manifest := filepath.Join(dir, "manifest.json")
	if _, text := build("second run"); !strings.Contains(text, "greeting=second run") {
		t.Errorf("second build:\n%s", text)
	}
	builds, err := packer.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(builds, func(a, b packer.ManifestBuild) int { return strings.Compare(a.Name, b.Name) })
	if len(builds) != 2 {
		t.Fatalf("ReadManifest = %+v, want the two builds of the last run", builds)
	}
	for i, want := range []struct{ name, typ, id string }{{"out", "file", "File"}, {"tiny", "null", "Null"}} {
		b := builds[i]
		if b.Name != want.name || b.BuilderType != want.typ || b.ArtifactID != want.id || b.CustomData["greeting"] != "second run" || b.PackerRunUUID == "" {
			t.Errorf("build %d = %+v", i, b)
		}
	}
	if f := builds[0].Files; len(f) != 1 || f[0].Name != out || f[0].Size != int64(len("made by packer")) {
		t.Errorf("files of the file build = %+v", f)
	}
	raw, _ := os.ReadFile(manifest)
	if n := strings.Count(string(raw), `"packer_run_uuid"`); n != 4 {
		t.Errorf("the manifest holds %d builds, want 4 over the two runs (the test needs the appended runs):\n%s", n, raw)
	}
}

func TestBuildRealPackerFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		onError string
		want    []string // in the ui text
		wantNot []string
	}{
		{onError: "", want: []string{"error cleanup ran"}, wantNot: []string{"aborting"}},
		{onError: "abort", want: []string{`Step "StepProvision" failed, aborting...`}, wantNot: []string{"error cleanup ran"}},
	}
	for _, tt := range tests {
		t.Run("on-error="+tt.onError, func(t *testing.T) {
			t.Parallel()
			r, dir := realBuild(t)
			var lines collect
			res, err := r.Build(t.Context(), packer.BuildOptions{
				Dir:     dir,
				Vars:    map[string]string{"fail": "true"},
				OnError: tt.onError,
				OnLine:  lines.add,
			})
			if err != nil {
				t.Fatal(err)
			}
			text := lines.text()
			if res.ExitCode != 1 || res.Cancelled || len(res.Artifacts) != 0 {
				t.Errorf("result = %+v, want exit 1 and no artifact\n%s", res, text)
			}
			const msg = "Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"
			if !slices.Contains(res.Errors, "--> null.tiny: "+msg) || !slices.Contains(res.Errors, "--> file.out: "+msg) {
				t.Errorf("Errors = %q, want packer's per-build summary lines", res.Errors)
			}
			for _, e := range res.Errors {
				if strings.Contains(e, "about to fail") {
					t.Errorf("Errors holds a provisioner's plain output: %q", e)
				}
			}
			for _, s := range tt.want {
				if !strings.Contains(text, s) {
					t.Errorf("output lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(text, s) {
					t.Errorf("output has %q:\n%s", s, text)
				}
			}
		})
	}
}

// Cancelling the context interrupts packer, which cancels its builds
// cleanly; Build returns promptly and nothing it started is left.
func TestBuildRealPackerCancelled(t *testing.T) {
	t.Parallel()
	r, dir := realBuild(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var lines collect
	var once sync.Once
	var cancelledAt time.Time
	res, err := r.Build(ctx, packer.BuildOptions{
		Dir:   dir,
		Vars:  map[string]string{"block": "true"},
		Grace: time.Minute,
		OnLine: func(l packer.Line) {
			lines.add(l)
			// Both builds are blocked in their provisioner.
			if strings.Count(lines.text(), ": blocking") == 2 {
				once.Do(func() { cancelledAt = time.Now(); cancel() })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	text := lines.text()
	if cancelledAt.IsZero() {
		t.Fatalf("the builds never blocked: %+v\n%s", res, text)
	}
	if took := time.Since(cancelledAt); took > 20*time.Second {
		t.Errorf("Build returned %s after the cancel", took)
	}
	if !res.Cancelled || res.ExitCode != 1 {
		t.Errorf("result = %+v, want Cancelled and exit 1", res)
	}
	for _, s := range []string{"Cancelling build after receiving interrupt", "Cleanly cancelled builds after being interrupted."} {
		if !strings.Contains(text, s) {
			t.Errorf("packer's output lacks %q:\n%s", s, text)
		}
	}
	if !slices.Contains(res.Errors, "Cancelling build after receiving interrupt") {
		t.Errorf("Errors = %q", res.Errors)
	}
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Errorf("processes left after Build returned:\n%s", strings.Join(left, "\n"))
	}
}

// A packer that stops cleanly on the interrupt, leaving a child that
// ignores it and holds packer's output open: Build returns once packer has
// gone, without waiting out Grace, and the child is killed too.
func TestBuildInterruptedPackerLeavesAChild(t *testing.T) {
	t.Parallel()
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-packer-leaves-child"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := &packer.Runner{Bin: bin, Dir: t.TempDir(), Env: []string{"PATH=/usr/bin:/bin"}}
	res, start := cancelWhenWaiting(t, r, dir, time.Minute)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Build returned %s after the cancel; packer was gone long before the 1m grace", took)
	}
	if !res.Cancelled || res.ExitCode != 1 {
		t.Errorf("result = %+v, want Cancelled and exit 1", res)
	}
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Errorf("processes left after Build returned:\n%s", strings.Join(left, "\n"))
	}
}

// cancelWhenWaiting runs a fake packer that says "fake: waiting" and
// cancels the build at that line; start is when it did.
func cancelWhenWaiting(t *testing.T, r *packer.Runner, dir string, grace time.Duration) (res packer.BuildResult, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err := r.Build(ctx, packer.BuildOptions{Dir: dir, Grace: grace, OnLine: func(l packer.Line) {
		if strings.Contains(l.Message(), "fake: waiting") {
			start = time.Now()
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if start.IsZero() {
		t.Fatalf("the fake never started waiting: %+v", res)
	}
	return res, start
}
