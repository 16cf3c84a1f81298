package gha_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/gha"
)

var offRunner = env(nil)

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   func(string) string
		value string
		want  string
	}{
		{name: "one line", env: onRunner, value: "s3cr3t", want: "::add-mask::s3cr3t\n"},
		{
			// The runner masks per line: a multi-line secret (a PEM key)
			// is masked line by line, blank lines skipped.
			name:  "multi-line, blank lines skipped",
			env:   onRunner,
			value: "-----BEGIN KEY-----\nAAAA\n\n   \nBBBB\n-----END KEY-----\n",
			want: "::add-mask::-----BEGIN KEY-----\n::add-mask::AAAA\n::add-mask::BBBB\n::add-mask::-----END KEY-----\n" +
				// and its one-line forms (a secret pasted with \n escapes)
				`::add-mask::-----BEGIN KEY-----\nAAAA\n\n\nBBBB\n-----END KEY-----` + "\n" +
				`::add-mask::-----BEGIN KEY-----\nAAAA\n\n   \nBBBB\n-----END KEY-----` + "\n",
		},
		{name: "empty", env: onRunner, value: "", want: ""},
		{name: "only blanks", env: onRunner, value: " \n\t\n", want: ""},
		{name: "outside Actions", env: offRunner, value: "s3cr3t\nline two", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			gha.New(tt.env, &out).Mask(tt.value)
			if got := out.String(); got != tt.want {
				t.Errorf("wrote\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	t.Run("inside Actions", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		r := gha.New(onRunner, &out)
		r.Start("packer build aws")
		out.WriteString("log line\n")
		r.End()
		want := "::group::packer build aws\nlog line\n::endgroup::\n"
		if got := out.String(); got != want {
			t.Errorf("wrote\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("outside Actions", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		r := gha.New(offRunner, &out)
		r.Start("packer build aws")
		r.End()
		if out.Len() != 0 {
			t.Errorf("wrote %q outside GitHub Actions, want nothing", out.String())
		}
	})
}

// heredoc is how go-githubactions writes a value to $GITHUB_OUTPUT:
// name<<_GitHubActionsFileCommandDelimeter_ ... with a random delimiter.
var heredoc = regexp.MustCompile(`^([^<\n]+)<<(\S+)\n((?s:.*))\n(\S+)\n$`)

func TestSetOutputAndSummary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outFile := filepath.Join(dir, "output")
	sumFile := filepath.Join(dir, "summary")
	var cmds bytes.Buffer
	r := gha.New(env(map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       outFile,
		"GITHUB_STEP_SUMMARY": sumFile,
	}), &cmds)
	value := "{\"aws\": \"ami-1\"}\nsecond line"
	if err := r.SetOutput("images", value); err != nil {
		t.Fatalf("SetOutput: %v", err)
	}
	if err := r.AddSummary("| cloud | image |\n"); err != nil {
		t.Fatalf("AddSummary: %v", err)
	}
	if err := r.AddSummary("| aws | ami-1 |\n"); err != nil {
		t.Fatalf("AddSummary: %v", err)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	m := heredoc.FindStringSubmatch(string(data))
	if m == nil || m[1] != "images" || m[3] != value || m[2] != m[4] {
		t.Errorf("$GITHUB_OUTPUT holds %q, want images=%q as a heredoc", data, value)
	}
	sum, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(sum), "| cloud | image |\n\n| aws | ami-1 |\n\n"; got != want {
		t.Errorf("summary = %q, want %q (appended)", got, want)
	}
	if cmds.Len() != 0 {
		t.Errorf("wrote workflow commands %q; outputs and summaries go to files", cmds.String())
	}
}

// go-githubactions panics when it cannot write the file; a runner with a
// broken GITHUB_OUTPUT gets an error instead.
func TestOutputFileErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no such folder", "file")
	r := gha.New(env(map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       missing,
		"GITHUB_STEP_SUMMARY": missing,
	}), &bytes.Buffer{})
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{name: "SetOutput", call: func() error { return r.SetOutput("images", "{}") }, want: "github actions output images"},
		{name: "AddSummary", call: func() error { return r.AddSummary("| a |") }, want: "github actions step summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s panicked: %v", tt.name, p)
					}
				}()
				err = tt.call()
			}()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "no such file or directory") {
				t.Errorf("error = %v, want one containing %q and the cause", err, tt.want)
			}
		})
	}
}

// Outside Actions the files are never touched, even when named.
func TestOutputFilesOutsideActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	r := gha.New(env(map[string]string{"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum}), &bytes.Buffer{})
	if err := r.SetOutput("images", "{}"); err != nil {
		t.Error(err)
	}
	if err := r.AddSummary("| a |"); err != nil {
		t.Error(err)
	}
	for _, f := range []string{out, sum} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s was written outside GitHub Actions (%v)", f, err)
		}
	}
}
