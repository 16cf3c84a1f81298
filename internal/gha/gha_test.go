package gha_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/gha"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

var onRunner = env(map[string]string{"GITHUB_ACTIONS": "true"})

// The expected lines follow the runner's workflow-command syntax as
// go-githubactions writes it: properties sorted by name, "%", CR, LF, ":"
// and "," escaped in properties, "%", CR and LF escaped in the message.
func TestErrorAnnotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a    gha.Annotation
		want string
	}{
		{
			name: "every field",
			a:    gha.Annotation{File: "sindri.yaml", Line: 12, Col: 5, Title: "sindri.yaml", Message: "packer.memory_mb: expected an integer"},
			want: "::error col=5,file=sindri.yaml,line=12,title=sindri.yaml::packer.memory_mb: expected an integer\n",
		},
		{
			name: "message escaping",
			a:    gha.Annotation{File: "f", Line: 1, Col: 1, Title: "t", Message: "first line\nsecond, 100% sure: yes\r\n"},
			want: "::error col=1,file=f,line=1,title=t::first line%0Asecond, 100%25 sure: yes%0D%0A\n",
		},
		{
			name: "property escaping",
			a:    gha.Annotation{File: "dir,with:odd%chars/a.hcl", Line: 2, Col: 3, Title: "packer-validate: 50%\ndone", Message: "m"},
			want: "::error col=3,file=dir%2Cwith%3Aodd%25chars/a.hcl,line=2,title=packer-validate%3A 50%25%0Adone::m\n",
		},
		{
			name: "format verbs are text",
			a:    gha.Annotation{File: "f", Line: 1, Col: 1, Title: "t", Message: "want %s got %d"},
			want: "::error col=1,file=f,line=1,title=t::want %25s got %25d\n",
		},
		{
			name: "file without position",
			a:    gha.Annotation{File: "rendered/scripts/init.sh", Title: "packer-fmt", Message: "not formatted"},
			want: "::error file=rendered/scripts/init.sh,title=packer-fmt::not formatted\n",
		},
		{
			name: "line without column",
			a:    gha.Annotation{File: "f", Line: 7, Message: "m"},
			want: "::error file=f,line=7::m\n",
		},
		{
			name: "message only",
			a:    gha.Annotation{Message: "something failed"},
			want: "::error::something failed\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r := gha.New(onRunner, &out)
			if !r.Enabled() {
				t.Fatal("Enabled() = false with GITHUB_ACTIONS=true")
			}
			r.Error(tt.a)
			if got := out.String(); got != tt.want {
				t.Errorf("wrote\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestErrorOutsideActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{name: "unset", env: nil},
		{name: "false", env: map[string]string{"GITHUB_ACTIONS": "false"}},
		{name: "not exactly true", env: map[string]string{"GITHUB_ACTIONS": "1"}},
		{name: "other runner variables only", env: map[string]string{"CI": "true", "GITHUB_WORKSPACE": "/w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r := gha.New(env(tt.env), &out)
			if r.Enabled() {
				t.Error("Enabled() = true outside GitHub Actions")
			}
			r.Error(gha.Annotation{File: "f", Line: 1, Col: 1, Title: "t", Message: "m"})
			if out.Len() != 0 {
				t.Errorf("wrote %q outside GitHub Actions, want nothing", out.String())
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

// go-githubactions panics when its writer fails; an annotation is not worth
// crashing the command for.
func TestErrorWithFailingWriter(t *testing.T) {
	t.Parallel()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Error panicked: %v", p)
		}
	}()
	gha.New(onRunner, failingWriter{}).Error(gha.Annotation{Message: "m"})
}

// Old self-hosted runners have no GITHUB_OUTPUT / GITHUB_STEP_SUMMARY: the
// outputs and summary are skipped, not an error.
func TestNoOutputFilesIsNotAnError(t *testing.T) {
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	var out bytes.Buffer
	r := gha.New(func(k string) string { return env[k] }, &out)
	if err := r.SetOutput("images", "{}"); err != nil {
		t.Errorf("SetOutput: %v", err)
	}
	if err := r.AddSummary("| a |"); err != nil {
		t.Errorf("AddSummary: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}
