package packer_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/packer"
)

// fakePacker is the test double for packer in testdata/ (not the real tool).
func fakePacker(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "fake-packer"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// record is what the fake packer wrote about one call.
type record struct {
	pwd  string
	args []string
	env  map[string]string
}

// shellEnv are variables a POSIX shell exports on its own; they tell
// nothing about what the caller passed.
var shellEnv = []string{"PWD", "OLDPWD", "SHLVL", "_"}

func readRecord(t *testing.T, path string) record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the fake packer did not record its call: %v", err)
	}
	r := record{env: map[string]string{}}
	last := "" // the variable a multi-line value continues
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "pwd:"):
			r.pwd = strings.TrimPrefix(line, "pwd:")
		case strings.HasPrefix(line, "arg:"):
			r.args = append(r.args, strings.TrimPrefix(line, "arg:"))
		case envLine.MatchString(line):
			k, v, _ := strings.Cut(line, "=")
			r.env[k], last = v, k
		case last != "":
			r.env[last] += "\n" + line
		default:
			t.Fatalf("unexpected record line %q", line)
		}
	}
	for _, k := range shellEnv {
		delete(r.env, k)
	}
	return r
}

var envLine = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// fakeRunner returns a Runner on the fake packer whose environment is env
// plus where to record, and the record file.
func fakeRunner(t *testing.T, env ...string) (*packer.Runner, string) {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "record")
	return &packer.Runner{
		Bin: fakePacker(t),
		Env: append([]string{"FAKE_PACKER_RECORD=" + rec}, env...),
		Dir: t.TempDir(),
	}, rec
}

// printed is what the fake packer prints and exits with.
type printed struct{ exit, stdout, stderr string }

// runner is a fakeRunner whose packer prints p.
func (p printed) runner(t *testing.T) (*packer.Runner, string) {
	t.Helper()
	return fakeRunner(t, "FAKE_PACKER_EXIT="+p.exit, "FAKE_PACKER_STDOUT="+p.stdout, "FAKE_PACKER_STDERR="+p.stderr)
}

func TestValidateArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		syntaxOnly bool
		vars       map[string]string
		want       []string
	}{
		{name: "full", want: []string{"validate", "DIR"}},
		{name: "syntax only", syntaxOnly: true, want: []string{"validate", "-syntax-only", "DIR"}},
		{
			name: "vars sorted by name",
			vars: map[string]string{"zone": "b", "arch": "x86_64", "name": "a=b c", "image": ""},
			want: []string{"validate", "-var", "arch=x86_64", "-var", "image=", "-var", "name=a=b c", "-var", "zone=b", "DIR"},
		},
		{
			name:       "syntax only with vars",
			syntaxOnly: true,
			vars:       map[string]string{"b": "2", "a": "1"},
			want:       []string{"validate", "-syntax-only", "-var", "a=1", "-var", "b=2", "DIR"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, rec := fakeRunner(t, "FAKE_PACKER_STDOUT=The configuration is valid.\n")
			dir := filepath.Join(t.TempDir(), "my templates")
			res, err := r.Validate(t.Context(), dir, tt.syntaxOnly, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 || res.Stdout != "The configuration is valid.\n" || res.Stderr != "" {
				t.Errorf("result = %+v", res)
			}
			want := slices.Clone(tt.want)
			want[len(want)-1] = dir
			if got := readRecord(t, rec).args; !slices.Equal(got, want) {
				t.Errorf("arguments = %q\nwant        %q", got, want)
			}
		})
	}
}

func TestRunResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want packer.Result
	}{
		{name: "success", env: []string{"FAKE_PACKER_STDOUT=out\n"}, want: packer.Result{Stdout: "out\n"}},
		{
			name: "non-zero exit is a result, not an error",
			env:  []string{"FAKE_PACKER_EXIT=7", "FAKE_PACKER_STDOUT=to stdout", "FAKE_PACKER_STDERR=to stderr"},
			want: packer.Result{ExitCode: 7, Stdout: "to stdout", Stderr: "to stderr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, rec := fakeRunner(t, tt.env...)
			res, err := r.Run(t.Context(), "build", "-force", ".")
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Errorf("result = %+v, want %+v", res, tt.want)
			}
			if got := readRecord(t, rec).args; !slices.Equal(got, []string{"build", "-force", "."}) {
				t.Errorf("arguments = %q", got)
			}
		})
	}
}

// The environment of a run is exactly Runner.Env: nothing of the test
// process (HOME, PATH, credentials) reaches packer.
func TestRunEnvIsTheWholeEnvironment(t *testing.T) {
	t.Setenv("SINDRI_TEST_CANARY", "must-not-leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")

	t.Run("explicit", func(t *testing.T) {
		r, rec := fakeRunner(t, "PACKER_PLUGIN_PATH=/plugins", "HOME=/nowhere", "WITH_SPACE=a b")
		if _, err := r.Run(t.Context(), "version"); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"FAKE_PACKER_RECORD": rec,
			"PACKER_PLUGIN_PATH": "/plugins",
			"HOME":               "/nowhere",
			"WITH_SPACE":         "a b",
		}
		if got := readRecord(t, rec).env; !maps.Equal(got, want) {
			t.Errorf("environment = %q\nwant          %q", got, want)
		}
	})
	t.Run("nil means empty, not inherited", func(t *testing.T) {
		dir := t.TempDir()
		r := &packer.Runner{Bin: fakePacker(t), Dir: dir}
		if _, err := r.Run(t.Context(), "version"); err != nil {
			t.Fatal(err)
		}
		// Without FAKE_PACKER_RECORD the fake records into its working folder.
		if got := readRecord(t, filepath.Join(dir, "fake-packer.record")).env; len(got) != 0 {
			t.Errorf("environment = %v, want empty", got)
		}
	})
}

func TestRunDir(t *testing.T) {
	t.Parallel()
	r, rec := fakeRunner(t)
	want, err := filepath.EvalSymlinks(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), "validate", "."); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, rec).pwd; got != want {
		t.Errorf("working folder = %q, want %q", got, want)
	}
}

func TestFmtCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		printed
		want    []string
		wantErr []string // substrings of the error
	}{
		{name: "formatted", printed: printed{exit: "0"}},
		{
			name:    "needs formatting",
			printed: printed{exit: "3", stdout: "/out/aws/sindri.pkr.hcl\n/out/my dir/sindri.pkr.hcl\n"},
			want:    []string{"/out/aws/sindri.pkr.hcl", "/out/my dir/sindri.pkr.hcl"},
		},
		{
			// Real packer 1.9.4 output for a file it cannot parse.
			name: "parse error",
			printed: printed{
				exit:   "1",
				stdout: "/out/qemu/a.pkr.hcl\n",
				stderr: "Error: encountered an error while formatting /out/qemu/b.pkr.hcl\n\nfailed to parse HCL /out/qemu/b.pkr.hcl\n\n\n",
			},
			wantErr: []string{"exit 1", "failed to parse HCL /out/qemu/b.pkr.hcl", "/out/qemu/a.pkr.hcl"},
		},
		{name: "unexpected exit", printed: printed{exit: "2", stdout: "something odd"}, wantErr: []string{"exit 2", "something odd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, rec := tt.runner(t)
			got, err := r.FmtCheck(t.Context(), "/out")
			if args := readRecord(t, rec).args; !slices.Equal(args, []string{"fmt", "-check", "-recursive", "/out"}) {
				t.Errorf("arguments = %q", args)
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("FmtCheck = %q, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FmtCheck = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		printed
		want    string
		wantErr string
	}{
		{name: "packer 1.9.4", printed: printed{exit: "0", stdout: "Packer v1.9.4\n"}, want: "1.9.4"},
		{
			name:    "with an update notice",
			printed: printed{exit: "0", stdout: "Packer v1.9.4\n\nYour version of Packer is out of date! The latest version\nis 1.11.2. You can update by downloading from www.packer.io/downloads\n"},
			want:    "1.9.4",
		},
		{name: "no v", printed: printed{exit: "0", stdout: "Packer 1.10.0-dev\n"}, want: "1.10.0"},
		{name: "garbage", printed: printed{exit: "0", stdout: "hello\n"}, wantErr: `unexpected output "hello\n"`},
		{name: "failure", printed: printed{exit: "1", stderr: "plugin exploded\n"}, wantErr: "exit 1: plugin exploded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, rec := tt.runner(t)
			got, err := r.Version(t.Context())
			if args := readRecord(t, rec).args; !slices.Equal(args, []string{"version"}) {
				t.Errorf("arguments = %q", args)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Version = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Version = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	t.Parallel()
	r := &packer.Runner{Bin: filepath.Join(t.TempDir(), "packer"), Dir: t.TempDir()}
	tests := []struct {
		name string
		call func() error
	}{
		{name: "Run", call: func() error { _, err := r.Run(t.Context(), "version"); return err }},
		{name: "Validate", call: func() error { _, err := r.Validate(t.Context(), ".", false, nil); return err }},
		{name: "FmtCheck", call: func() error { _, err := r.FmtCheck(t.Context(), "."); return err }},
		{name: "Version", call: func() error { _, err := r.Version(t.Context()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	t.Run("before start", func(t *testing.T) {
		t.Parallel()
		r, _ := fakeRunner(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.Validate(ctx, ".", false, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want one wrapping context.Canceled", err)
		}
	})
	t.Run("while running", func(t *testing.T) {
		t.Parallel()
		r, rec := fakeRunner(t, "FAKE_PACKER_SLEEP=30")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			// Cancel once the fake has started.
			for ctx.Err() == nil {
				if _, err := os.Stat(rec); err == nil {
					cancel()
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		start := time.Now()
		_, err := r.Run(ctx, "build", ".")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want one wrapping context.Canceled", err)
		}
		if err != nil && !strings.Contains(err.Error(), "packer build .") {
			t.Errorf("error %q does not name the command", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Run returned after %s; cancelling should stop packer", d)
		}
	})
}
