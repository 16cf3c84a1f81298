package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// fakeGitHub speaks GitHub's REST API for
// GET /repos/pacphi/sindri/releases/latest.
type fakeGitHub struct {
	URL   string
	mu    sync.Mutex
	calls []string // "PATH AUTHORIZATION"
}

func newFakeGitHub(t *testing.T, status int, tag string) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.URL.Path+" "+r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte(`{"id":1,"tag_name":"` + tag + `","name":"` + tag + `","draft":false,"prerelease":false}`))
		} else {
			_, _ = w.Write([]byte(`{"message":"` + http.StatusText(status) + `","documentation_url":"https://docs.github.com/rest"}`))
		}
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeGitHub) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// unreachableAPI is a GitHub API that fails the test when asked.
func unreachableAPI(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected GitHub API request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return "GITHUB_API_URL=" + srv.URL
}

// renderedFiles lists the files under dir, relative to it.
func renderedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRenderConcreteVersion(t *testing.T) {
	t.Parallel()
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, cloud, "sindri_version: latest", "sindri_version: 3.0.1")
			out := filepath.Join(t.TempDir(), "out")
			r := run(t, append([]string{unreachableAPI(t)}, cloudEnv...), "render", "--config", cfg, "--out", out)
			r.check(t, ExitOK, nil, nil)

			files := renderedFiles(t, out)
			template := filepath.Join(cloud, "sindri.pkr.hcl")
			if !slices.Contains(files, template) {
				t.Fatalf("rendered %q, want %s among them", files, template)
			}
			var scripts int
			for _, f := range files {
				switch {
				case f == template:
				case filepath.Dir(f) == "scripts" && strings.HasSuffix(f, ".sh"):
					scripts++
				default:
					t.Errorf("unexpected file %s", f)
				}
			}
			if scripts == 0 {
				t.Error("no scripts/*.sh rendered")
			}
			if hcl := readFile(t, filepath.Join(out, template)); !strings.Contains(hcl, "3.0.1") {
				t.Errorf("%s does not install sindri 3.0.1", template)
			}

			// stdout lists exactly the files written.
			var listed []string
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				rel, err := filepath.Rel(out, l)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("listed %q, outside %s", l, out)
				}
				listed = append(listed, rel)
			}
			slices.Sort(listed)
			if !slices.Equal(listed, files) {
				t.Errorf("listed %q, wrote %q", listed, files)
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "aws")
	outs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, out := range outs {
		run(t, nil, "render", "-c", cfg, "--out", out, "--set", "packer.build.sindri_version=3.0.1").check(t, ExitOK, nil, nil)
	}
	for _, f := range renderedFiles(t, outs[0]) {
		if readFile(t, filepath.Join(outs[0], f)) != readFile(t, filepath.Join(outs[1], f)) {
			t.Errorf("%s differs between two renders of the same configuration", f)
		}
	}
}

func TestRenderLatest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int    // of the fake API; 0: no API, SINDRI_LATEST_VERSION set
		tag        string // the fake API's latest release
		token      string
		wantCode   int
		wantVer    string
		wantStderr []string
	}{
		{name: "SINDRI_LATEST_VERSION", wantCode: ExitOK, wantVer: "3.0.1"},
		{name: "GitHub API", status: http.StatusOK, tag: "v3.2.0", wantCode: ExitOK, wantVer: "3.2.0"},
		{name: "GitHub API with token", status: http.StatusOK, tag: "v3.2.0", token: "ghs_test", wantCode: ExitOK, wantVer: "3.2.0"},
		{name: "GitHub API fails", status: http.StatusInternalServerError, wantCode: ExitFailure, wantStderr: []string{"500", "SINDRI_LATEST_VERSION"}},
		{name: "no release", status: http.StatusNotFound, wantCode: ExitFailure, wantStderr: []string{"404", "SINDRI_LATEST_VERSION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, "qemu")
			out := filepath.Join(t.TempDir(), "out")
			var environ []string
			var gh *fakeGitHub
			if tt.status == 0 {
				environ = []string{"SINDRI_LATEST_VERSION=3.0.1", unreachableAPI(t)}
			} else {
				gh = newFakeGitHub(t, tt.status, tt.tag)
				environ = []string{"GITHUB_API_URL=" + gh.URL}
			}
			if tt.token != "" {
				environ = append(environ, "GITHUB_TOKEN="+tt.token)
			}
			r := run(t, environ, "render", "-c", cfg, "--out", out)
			r.check(t, tt.wantCode, nil, tt.wantStderr)
			if gh != nil {
				want := "/repos/pacphi/sindri/releases/latest "
				if tt.token != "" {
					want += "Bearer " + tt.token
				}
				if got := gh.requests(); !slices.Equal(got, []string{want}) {
					t.Errorf("API requests = %q, want %q", got, want)
				}
			}
			if tt.wantCode != ExitOK {
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a failed render wrote %s", out)
				}
				return
			}
			hcl := readFile(t, filepath.Join(out, "qemu", "sindri.pkr.hcl"))
			if !strings.Contains(hcl, tt.wantVer) {
				t.Errorf("rendered template does not install sindri %s", tt.wantVer)
			}
			if strings.Contains(hcl, `"latest"`) || strings.Contains(hcl, "=latest") {
				t.Error(`rendered template still says "latest"`)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	const bad = "memory_mb: lots"
	tests := []struct {
		name    string
		command string
		actions bool // GITHUB_ACTIONS=true
	}{
		{name: "render", command: "render"},
		{name: "render in actions", command: "render", actions: true},
		{name: "validate", command: "validate"},
		{name: "validate in actions", command: "validate", actions: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, "qemu", "memory_mb: 2048", bad)
			line, col := position(t, cfg, bad, "lots")
			environ := []string{unreachableAPI(t), "SINDRI_LATEST_VERSION=3.0.1", "PATH=" + t.TempDir()}
			if tt.actions {
				environ = append(environ, "GITHUB_ACTIONS=true")
			}
			r := run(t, environ, tt.command, "-c", cfg, "--out", filepath.Join(t.TempDir(), "out"))
			r.check(t, ExitBadInput, nil, []string{cfg + ":" + line + ":" + col + ": packer.memory_mb: "})
			annotation := "::error col=" + col + ",file=" + cfg + ",line=" + line + ",title=sindri.yaml::packer.memory_mb: "
			if got := strings.Contains(r.stdout, annotation); got != tt.actions {
				t.Errorf("annotation %q on stdout: %v, want %v\n%s", annotation, got, tt.actions, r)
			}
			if !tt.actions && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing outside Actions", r.stdout)
			}
		})
	}
}

// position returns the 1-based line of the line in file that contains
// text, and the column of sub in it, as strings.
func position(t *testing.T, file, text, sub string) (string, string) {
	t.Helper()
	for i, l := range strings.Split(readFile(t, file), "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1), strconv.Itoa(strings.Index(l, sub) + 1)
		}
	}
	t.Fatalf("%s has no line with %q", file, text)
	return "", ""
}

func TestInputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cloud string // the config file's template
		args  []string
		env   []string
		want  []string
	}{
		{name: "missing file", args: []string{"-c", "MISSING"}, want: []string{"no such file", "sindri-packer init --cloud"}},
		{name: "unset environment variable", cloud: "azure", want: []string{"AZURE_SUBSCRIPTION_ID is not set"}},
		{name: "unknown cloud", cloud: "qemu", args: []string{"--clouds", "mars"}, want: []string{`--clouds: unknown cloud "mars"`}},
		{name: "unconfigured cloud", cloud: "qemu", args: []string{"--clouds", "aws"}, want: []string{"--clouds: aws is not configured", "configured: qemu"}},
		{name: "one of several unconfigured", cloud: "qemu", args: []string{"--clouds", "qemu,gcp"}, want: []string{"gcp is not configured"}},
		{name: "no cloud", cloud: "qemu", args: []string{"--clouds", " , "}, want: []string{"--clouds: no cloud given"}},
		{name: "set without =", cloud: "qemu", args: []string{"--set", "packer.build.profile"}, want: []string{"--set", "expected path=value"}},
		{name: "set to a bad value", cloud: "qemu", args: []string{"--set", "packer.memory_mb=lots"}, want: []string{"--set: packer.memory_mb: expected an integer"}},
	}
	for _, command := range []string{"render", "validate"} {
		for _, tt := range tests {
			if command == "validate" && tt.name == "unset environment variable" {
				// validate checks with a placeholder (TestInitConfigChecksWithoutCloudValues).
				continue
			}
			t.Run(command+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				args := []string{command, "--out", filepath.Join(t.TempDir(), "out")}
				if tt.cloud != "" {
					args = append(args, "-c", writeConfig(t, tt.cloud))
				}
				for _, a := range tt.args {
					if a == "MISSING" {
						a = filepath.Join(t.TempDir(), "sindri.yaml")
					}
					args = append(args, a)
				}
				// No tools on PATH: bad input must be reported before any is needed.
				environ := append([]string{unreachableAPI(t), "SINDRI_LATEST_VERSION=3.0.1", "PATH=" + t.TempDir()}, tt.env...)
				r := run(t, environ, args...)
				r.check(t, ExitBadInput, nil, tt.want)
			})
		}
	}
}

func TestCloudsAndSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantVer string
	}{
		{name: "all", args: []string{"--clouds", "all"}, wantVer: "3.0.1"},
		{name: "named, repeated, spaced", args: []string{"--clouds", "qemu, qemu,"}, wantVer: "3.0.1"},
		{name: "set version", args: []string{"--set", "packer.build.sindri_version=v3.0.7"}, wantVer: "3.0.7"},
		{name: "last set wins", args: []string{"--set", "packer.build.sindri_version=3.0.7", "--set", "packer.build.sindri_version=3.0.8"}, wantVer: "3.0.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			cfg := writeConfig(t, "qemu")
			r := run(t, []string{"SINDRI_LATEST_VERSION=3.0.1", unreachableAPI(t)}, append([]string{"render", "-c", cfg, "--out", out}, tt.args...)...)
			r.check(t, ExitOK, nil, nil)
			if n := strings.Count(r.stdout, filepath.Join("qemu", "sindri.pkr.hcl")); n != 1 {
				t.Errorf("qemu template listed %d times, want once\n%s", n, r)
			}
			if hcl := readFile(t, filepath.Join(out, "qemu", "sindri.pkr.hcl")); !strings.Contains(hcl, tt.wantVer) {
				t.Errorf("rendered template does not install sindri %s", tt.wantVer)
			}
		})
	}
}

func TestRenderOutputNotWritable(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "a-file")
	mustWrite(t, out, "", 0o644)
	r := run(t, nil, "render", "-c", writeConfig(t, "qemu"), "--out", out, "--set", "packer.build.sindri_version=3.0.1")
	r.check(t, ExitFailure, nil, []string{"render: ", out})
}
