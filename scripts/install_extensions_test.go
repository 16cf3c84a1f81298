package scripts

// Behaviour tests of install-extensions.sh with a recording fake sindri
// (testdata/sindri-recorder) run as the current user in a temp home.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type extensionsHost struct {
	home, calls string
	env         map[string]string
}

func newExtensionsHost(t *testing.T) *extensionsHost {
	t.Helper()
	root := t.TempDir()
	h := &extensionsHost{home: filepath.Join(root, "home")}
	h.calls = filepath.Join(h.home, "sindri-calls")
	if err := os.Mkdir(h.home, 0o755); err != nil {
		t.Fatal(err)
	}
	fake, err := os.ReadFile(filepath.Join("testdata", "sindri-recorder"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "sindri")
	if err := os.Mkdir(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, fake, 0o755); err != nil {
		t.Fatal(err)
	}
	h.env = map[string]string{
		"HOME":             root, // not the user's home: the script must set it
		"SINDRI_USER":      currentUser(t),
		"SINDRI_USER_HOME": h.home,
		"SINDRI_BIN":       bin,
	}
	return h
}

func (h *extensionsHost) run(t *testing.T, extra map[string]string) result {
	t.Helper()
	env := map[string]string{}
	for k, v := range h.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return runScript(t, "install-extensions.sh", env)
}

// recorded returns the fake's calls; each ran in the user's home with
// HOME set to it (the record file is written to $HOME).
func (h *extensionsHost) recorded(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(h.calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		cwd, args, _ := strings.Cut(line, "|")
		if cwd != h.home {
			t.Errorf("sindri ran in %s, want the user's home %s", cwd, h.home)
		}
		calls = append(calls, args)
	}
	return calls
}

func TestInstallExtensions(t *testing.T) {
	tests := []struct {
		name       string
		profile    string
		extensions string
		want       []string
	}{
		{
			name:       "profile then extensions in order, de-duplicated",
			profile:    "fullstack",
			extensions: "python, node,claude-code  python\tgo1.22\nnode,,",
			want: []string{
				"profile install fullstack -y",
				"extension install python -y",
				"extension install node -y",
				"extension install claude-code -y",
				"extension install go1.22 -y",
				"doctor --help", "doctor",
			},
		},
		{
			name:       "extensions only",
			extensions: "rust",
			want:       []string{"extension install rust -y", "doctor --help", "doctor"},
		},
		{
			name:    "profile only, whitespace trimmed",
			profile: " minimal\n",
			want:    []string{"profile install minimal -y", "doctor --help", "doctor"},
		},
		{
			name:       "nothing to do",
			extensions: " , ,\t",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newExtensionsHost(t)
			r := h.run(t, map[string]string{"SINDRI_PROFILE": tc.profile, "SINDRI_EXTENSIONS": tc.extensions})
			if r.code != 0 {
				t.Fatalf("failed: %s", r)
			}
			if got := h.recorded(t); !slices.Equal(got, tc.want) {
				t.Errorf("sindri calls:\n got %q\nwant %q", got, tc.want)
			}
			if tc.want == nil && !strings.Contains(r.stdout, "nothing to do") {
				t.Errorf("no 'nothing to do' log line:\n%s", r)
			}
		})
	}
}

func TestInstallExtensionsNothingSetNeedsNoSindri(t *testing.T) {
	h := newExtensionsHost(t)
	r := h.run(t, map[string]string{"SINDRI_BIN": "/nonexistent/sindri"})
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("with nothing to install: %s", r)
	}
}

// TestInstallExtensionsRefusesBadNames: every name is checked before
// anything runs, so a bad one anywhere in the list installs nothing.
func TestInstallExtensionsRefusesBadNames(t *testing.T) {
	tests := []struct {
		name       string
		profile    string
		extensions string
		message    string
	}{
		{"upper case", "", "python,Node", "invalid extension name 'Node'"},
		{"command substitution", "minimal", "python $(touch pwned)", "invalid extension name '$(touch'"},
		{"semicolon", "", "node;rm", "invalid extension name 'node;rm'"},
		{"path", "", "python ../etc", "invalid extension name '../etc'"},
		{"option", "", "python -force", "invalid extension name '-force'"},
		{"quote", "", `it's`, `invalid extension name 'it's'`},
		{"bad profile after good extensions", "Full/Stack", "python node", "invalid profile name 'Full/Stack'"},
		{"option as profile", "--force", "", "invalid profile name '--force'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newExtensionsHost(t)
			r := h.run(t, map[string]string{"SINDRI_PROFILE": tc.profile, "SINDRI_EXTENSIONS": tc.extensions})
			if r.code == 0 {
				t.Fatalf("accepted: %s", r)
			}
			if !strings.Contains(r.stderr, "[install-extensions.sh] ERROR: "+tc.message) {
				t.Errorf("stderr lacks %q:\n%s", tc.message, r)
			}
			if calls := h.recorded(t); len(calls) != 0 {
				t.Errorf("sindri ran before the names were checked: %q", calls)
			}
			if _, err := os.Stat(filepath.Join(h.home, "pwned")); err == nil {
				t.Error("a name was evaluated as shell code")
			}
		})
	}
}

func TestInstallExtensionsStopsAtAFailure(t *testing.T) {
	h := newExtensionsHost(t)
	r := h.run(t, map[string]string{"SINDRI_EXTENSIONS": "python broken node"})
	if r.code == 0 {
		t.Fatalf("succeeded although an extension failed: %s", r)
	}
	if !strings.Contains(r.stderr, "ERROR: extension 'broken' failed to install") {
		t.Errorf("stderr does not name the failed extension:\n%s", r)
	}
	want := []string{"extension install python -y", "extension install broken -y"}
	if got := h.recorded(t); !slices.Equal(got, want) {
		t.Errorf("sindri calls %q, want %q", got, want)
	}
}

func TestInstallExtensionsNeedsSindri(t *testing.T) {
	h := newExtensionsHost(t)
	r := h.run(t, map[string]string{"SINDRI_EXTENSIONS": "python", "SINDRI_BIN": filepath.Join(h.home, "missing")})
	if r.code == 0 || !strings.Contains(r.stderr, "not found or not executable") {
		t.Errorf("without sindri: %s", r)
	}
}

// issue 14: the design's install step ends with `sindri doctor`. It runs as
// the user after the installs when the release has the command; a release
// without it is skipped, and problems it reports are a warning.
func TestInstallExtensionsEndsWithDoctor(t *testing.T) {
	tests := []struct {
		doctor   string
		want     []string
		log, err string
	}{
		{"", []string{"extension install rust -y", "doctor --help", "doctor"}, "sindri doctor passed", ""},
		{"absent", []string{"extension install rust -y", "doctor --help"}, "has no doctor command; skipping it", ""},
		{"fails", []string{"extension install rust -y", "doctor --help", "doctor"}, "done", "WARNING: sindri doctor reported problems (exit 1)"},
	}
	for _, tc := range tests {
		t.Run("doctor "+tc.doctor, func(t *testing.T) {
			h := newExtensionsHost(t)
			r := h.run(t, map[string]string{"SINDRI_EXTENSIONS": "rust", "RECORDER_DOCTOR": tc.doctor})
			if r.code != 0 {
				t.Fatalf("failed: %s", r)
			}
			if got := h.recorded(t); !slices.Equal(got, tc.want) {
				t.Errorf("sindri calls %q, want %q", got, tc.want)
			}
			if !strings.Contains(r.stdout, tc.log) || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("want %q in stdout and %q in stderr:\n%s", tc.log, tc.err, r)
			}
		})
	}
}
