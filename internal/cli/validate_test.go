package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/toolstest"
)

// fakeTools puts the test doubles of testdata/ (not the real tools) into a
// fresh folder as "packer" and "shellcheck", with what `packer validate`
// is to print and its exit status, and returns the folder for PATH.
func fakeTools(t *testing.T, validateOut string, validateExit int) string {
	t.Helper()
	bin := t.TempDir()
	for name, src := range map[string]string{"packer": "fake-packer", "shellcheck": "fake-shellcheck"} {
		data, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(bin, name), string(data), 0o755)
	}
	mustWrite(t, filepath.Join(bin, "validate.out"), validateOut, 0o644)
	mustWrite(t, filepath.Join(bin, "validate.exit"), strconv.Itoa(validateExit)+"\n", 0o644)
	return bin
}

// fakeCalls returns the argument lists the fake packer in bin was called
// with, sorted.
func fakeCalls(t *testing.T, bin string) [][]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(bin, "call.*"))
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, p := range paths {
		var args []string
		for _, l := range strings.Split(strings.TrimSuffix(readFile(t, p), "\n"), "\n") {
			args = append(args, strings.TrimPrefix(l, "arg:"))
		}
		calls = append(calls, args)
	}
	slices.SortFunc(calls, func(a, b []string) int { return strings.Compare(strings.Join(a, " "), strings.Join(b, " ")) })
	return calls
}

func TestValidateWithoutTools(t *testing.T) {
	t.Parallel()
	onlyPacker := t.TempDir()
	mustWrite(t, filepath.Join(onlyPacker, "packer"), "#!/bin/sh\n", 0o755)
	notExecutable := t.TempDir()
	mustWrite(t, filepath.Join(notExecutable, "packer"), "#!/bin/sh\n", 0o644)
	tests := []struct {
		name string
		path []string // nil: no PATH at all
		want []string
	}{
		{name: "empty folder on PATH", path: []string{"PATH=" + t.TempDir()}, want: []string{"packer not found on PATH", "tools/install.sh"}},
		{name: "no PATH", want: []string{"packer not found on PATH", "tools/install.sh"}},
		{name: "packer not executable", path: []string{"PATH=" + notExecutable}, want: []string{"packer not found on PATH"}},
		{name: "no shellcheck", path: []string{"PATH=" + onlyPacker}, want: []string{"shellcheck not found on PATH", "apt-get install shellcheck"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.path, "validate", "-c", writeConfig(t, "qemu"))
			r.check(t, ExitFailure, nil, tt.want)
		})
	}
}

// validateFinding is real packer 1.9.4 output for a rendered qemu template
// with an unsupported argument added on line 61, with the --out folder
// written as @OUT@.
const validateFinding = "testdata/packer-validate-unsupported-argument.txt"

// fakePackerCases are packer validate's answers (a test double) and what validate makes of them.
var fakePackerCases = []struct {
	name       string
	output     string // validate.out; @OUT@ becomes the --out folder
	exit       int
	actions    bool
	wantCode   int
	wantStdout []string // @OUT@ becomes the --out folder
	wantStderr []string
}{
	{name: "ok", exit: 0, wantCode: ExitOK, wantStdout: []string{"validate: ok (qemu)"}},
	{
		name:       "finding",
		output:     "@" + validateFinding,
		exit:       1,
		wantCode:   ExitFindings,
		wantStdout: []string{`@OUT@/qemu/sindri.pkr.hcl:61:1: Unsupported argument: An argument named "bogus_field" is not expected here. [packer-validate]`},
		wantStderr: []string{"validate: 1 finding(s) in qemu"},
	},
	{
		name:     "finding in actions",
		output:   "@" + validateFinding,
		exit:     1,
		actions:  true,
		wantCode: ExitFindings,
		wantStdout: []string{
			`@OUT@/qemu/sindri.pkr.hcl:61:1: Unsupported argument`,
			`::error col=1,file=@OUT@/qemu/sindri.pkr.hcl,line=61,title=packer-validate::Unsupported argument: An argument named "bogus_field" is not expected here.` + "\n",
		},
	},
	{
		// Packer failing without a diagnostic is a tool failure.
		name:       "crash",
		output:     "panic: runtime error: invalid memory address\n",
		exit:       2,
		wantCode:   ExitFailure,
		wantStderr: []string{"validate: ", "exit 2", "panic: runtime error"},
	},
}

func TestValidateWithFakePacker(t *testing.T) {
	t.Parallel()
	tests := fakePackerCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			sub := func(s string) string { return strings.ReplaceAll(s, "@OUT@", out) }
			output := tt.output
			if file, ok := strings.CutPrefix(output, "@"); ok {
				output = readFile(t, file)
			}
			bin := fakeTools(t, sub(output), tt.exit)
			environ := []string{"PATH=" + bin}
			if tt.actions {
				environ = append(environ, "GITHUB_ACTIONS=true")
			}
			r := run(t, environ, "validate", "-c", writeConfig(t, "qemu"), "--out", out)
			var stdout []string
			for _, s := range tt.wantStdout {
				stdout = append(stdout, sub(s))
			}
			r.check(t, tt.wantCode, stdout, tt.wantStderr)
			if !tt.actions && strings.Contains(r.stdout, "::error") {
				t.Errorf("annotations outside GitHub Actions:\n%s", r)
			}

			// packer ran on the files rendered into --out.
			calls := fakeCalls(t, bin)
			want := [][]string{{"fmt", "-check", "-recursive", out}, {"validate", filepath.Join(out, "qemu")}}
			if tt.wantCode == ExitFailure {
				// A failing packer validate cancels the fmt check, which
				// may or may not have started.
				calls = slices.DeleteFunc(calls, func(c []string) bool { return c[0] == "fmt" })
				want = want[1:]
			}
			if !slices.EqualFunc(calls, want, slices.Equal) {
				t.Errorf("packer calls = %q, want %q", calls, want)
			}
			if _, err := os.Stat(filepath.Join(out, "qemu", "sindri.pkr.hcl")); err != nil {
				t.Errorf("--out does not keep the rendered template: %v", err)
			}
		})
	}
}

func TestValidateSyntaxOnly(t *testing.T) {
	t.Parallel()
	bin := fakeTools(t, "", 0)
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, []string{"PATH=" + bin}, "validate", "-c", writeConfig(t, "qemu"), "--out", out, "--syntax-only")
	r.check(t, ExitOK, []string{"validate: ok (qemu)"}, nil)
	if calls := fakeCalls(t, bin); !slices.ContainsFunc(calls, func(c []string) bool {
		return slices.Equal(c, []string{"validate", "-syntax-only", filepath.Join(out, "qemu")})
	}) {
		t.Errorf("packer calls = %q, want a validate -syntax-only", calls)
	}
}

// validate keeps results of content-only checks in the user's cache folder.
func TestValidateCacheFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     func(home, xdg string) []string
		noCache bool
		want    func(home, xdg string) string // the cache folder; "" for none
	}{
		{
			name: "XDG_CACHE_HOME",
			env:  func(home, xdg string) []string { return []string{"HOME=" + home, "XDG_CACHE_HOME=" + xdg} },
			want: func(home, xdg string) string { return filepath.Join(xdg, "sindri-packer", "validate") },
		},
		{
			name: "HOME",
			env:  func(home, xdg string) []string { return []string{"HOME=" + home} },
			want: func(home, xdg string) string { return filepath.Join(home, ".cache", "sindri-packer", "validate") },
		},
		{
			name:    "--no-cache",
			env:     func(home, xdg string) []string { return []string{"HOME=" + home, "XDG_CACHE_HOME=" + xdg} },
			noCache: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home, xdg := t.TempDir(), t.TempDir()
			args := []string{"validate", "-c", writeConfig(t, "qemu")}
			if tt.noCache {
				args = append(args, "--no-cache")
			}
			r := run(t, append(tt.env(home, xdg), "PATH="+fakeTools(t, "", 0)), args...)
			r.check(t, ExitOK, []string{"validate: ok (qemu)"}, nil)
			want := ""
			if tt.want != nil {
				want = tt.want(home, xdg)
			}
			for _, dir := range []string{filepath.Join(xdg, "sindri-packer", "validate"), filepath.Join(home, ".cache", "sindri-packer", "validate")} {
				entries, err := os.ReadDir(dir)
				if used := err == nil && len(entries) > 0; used != (dir == want) {
					t.Errorf("cache folder %s used: %v, want %v", dir, used, dir == want)
				}
			}
		})
	}
}

// realToolsEnv returns an environment with the tools that tools/install.sh
// installs (as `source tools/env.sh` sets it up) and shellcheck. It skips
// when they are missing, except on CI (CI=true), which installs them.
func realToolsEnv(t *testing.T) []string {
	t.Helper()
	bin, plugins := toolstest.Packer(t)
	toolstest.LookPath(t, "shellcheck")
	return []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PACKER_PLUGIN_PATH=" + plugins,
		"CHECKPOINT_DISABLE=1",
		"HOME=" + t.TempDir(),
	}
}

func TestValidateRealTools(t *testing.T) {
	t.Parallel()
	environ := realToolsEnv(t)
	cfg := initConfig(t, "qemu")
	r := run(t, environ, "validate", "-c", cfg)
	r.check(t, ExitOK, []string{"validate: ok (qemu)\n"}, nil)
}

// TestValidateRealToolsOffline: sindri-packer validate of a configuration
// whose checksum file is on a local server never asks that server (it did:
// packer validate downloads a file: checksum), prints a notice at the
// field's line and passes.
func TestValidateRealToolsOffline(t *testing.T) {
	t.Parallel()
	environ := realToolsEnv(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	cfg := configFile(t, "provider: packer\npacker:\n  cloud: qemu\n  base_image: "+srv.URL+"/base.qcow2\n  base_image_checksum: \"file:"+srv.URL+"/SHA256SUMS\"\n")
	r := run(t, environ, "validate", "-c", cfg)
	r.check(t, ExitOK, []string{cfg + ":5:24: notice: packer.base_image_checksum: ", "validate: ok (qemu)\n"}, nil)
	if n := hits.Load(); n != 0 {
		t.Errorf("validate fetched from the server %d time(s)", n)
	}
}

// TestValidateRealToolsFindingOnTheField: a builder error is one short
// line at the sindri.yaml field, inside Actions too (it was packer's whole
// debug log, on the rendered template).
func TestValidateRealToolsFindingOnTheField(t *testing.T) {
	t.Parallel()
	environ := realToolsEnv(t)
	cfg := configFile(t, "provider: packer\npacker:\n  cloud: aws\n  kms_key_id: \"not a key\"\n")
	r := run(t, append(environ, "GITHUB_ACTIONS=true"), "validate", "-c", cfg)
	r.check(t, ExitFindings, []string{
		cfg + `:4:15: packer.kms_key_id: "not a key" is not a valid KMS Key Id. (packer validate aws, rendered/aws/sindri.pkr.hcl:`,
		"::error col=15,file=" + cfg + ",line=4,title=packer-validate::packer.kms_key_id: ",
	}, []string{"validate: 1 finding(s) in aws"})
	if n := strings.Count(r.stdout, "\n"); n > 2 || strings.Contains(r.stdout, "TRACE") || strings.Contains(r.stdout, os.TempDir()+"/sindri-validate") {
		t.Errorf("finding is more than packer's message:\n%s", r.stdout)
	}
}

// A pull request check needs no cloud values: validate and matrix on what
// `init --cloud X` wrote pass with no environment, a notice naming each
// variable and its field at file:line standing in for it; build still
// needs the real values (exit 2).
func TestInitConfigChecksWithoutCloudValues(t *testing.T) {
	t.Parallel()
	wantVars := map[string][]string{
		"azure": {"AZURE_SUBSCRIPTION_ID"},
		"gcp":   {"GCP_PROJECT_ID"},
		"oci":   {"OCI_COMPARTMENT_OCID", "OCI_SUBNET_OCID"},
	}
	for _, cloud := range config.Clouds {
		t.Run(cloud, func(t *testing.T) {
			t.Parallel()
			file := initConfig(t, cloud)
			env := []string{"PATH=" + fakeTools(t, "", 0)}
			var notices []string
			for _, v := range wantVars[cloud] {
				notices = append(notices, "notice: "+file+":", v+" is not set")
			}
			r := run(t, env, "validate", "-c", file, "--out", filepath.Join(t.TempDir(), "out"))
			r.check(t, ExitOK, []string{"validate: ok (" + cloud + ")"}, notices)
			if len(wantVars[cloud]) == 0 && strings.Contains(r.stderr, "notice:") {
				t.Errorf("notice without a placeholder:\n%s", r.stderr)
			}
			run(t, env, "matrix", "-c", file).check(t, ExitOK, []string{`"cloud":"` + cloud + `"`}, notices)
			if len(wantVars[cloud]) > 0 {
				r := run(t, env, "build", "-c", file)
				r.check(t, ExitBadInput, nil, []string{wantVars[cloud][0] + " is not set"})
			}
		})
	}
}

// Refused variables stay refused in placeholder mode, and a field with no
// placeholder form still needs its variable.
func TestValidatePlaceholdersKeepRefusals(t *testing.T) {
	t.Parallel()
	env := []string{"PATH=" + fakeTools(t, "", 0)}
	for name, set := range map[string]string{
		"refused":        "packer.project_id=${GITHUB_TOKEN}",
		"no placeholder": "packer.zone=${SOME_ZONE}",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := initConfig(t, "gcp")
			r := run(t, env, "validate", "-c", file, "--set", set, "--out", filepath.Join(t.TempDir(), "out"))
			want := map[string]string{"refused": "GITHUB_TOKEN may not be read", "no placeholder": "SOME_ZONE is not set"}[name]
			r.check(t, ExitBadInput, nil, []string{want})
			if strings.Contains(r.stderr, "placeholder") {
				t.Errorf("got a placeholder:\n%s", r.stderr)
			}
		})
	}
}

// The PR comment of a config error carries the diagnostics (stderr), the
// run link and the pull request's head commit, under a marker of its
// config path; the annotation and the job summary use the path from the
// repository root, also from a working folder.
func TestActionValidateCommentAndAnnotationsFromRoot(t *testing.T) {
	ws := t.TempDir()
	cfg := filepath.Join(ws, "images", "sindri.yaml")
	for _, d := range []string{"images", "other"} {
		if err := os.Mkdir(filepath.Join(ws, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, cfg, strings.Replace(awsYAML, "  region: us-east-1\n", "  region: us-east-1\n  instance_typo: x\n", 1), 0o644)
	good := filepath.Join(ws, "other", "sindri.yaml")
	mustWrite(t, good, awsYAML, 0o644)
	event := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, event, `{"pull_request":{"number":7,"head":{"sha":"abc1234def5678"}}}`, 0o644)
	gh := &fakePRComments{}
	srv := gh.server(t)
	env, _, summary := actionsEnv(t)
	env = append(env, "PATH="+fakeTools(t, "", 0), "HOME="+t.TempDir(), "GITHUB_EVENT_PATH="+event, "GITHUB_WORKSPACE="+ws,
		"GITHUB_REPOSITORY=acme/images", "GITHUB_API_URL="+srv.URL, "GITHUB_SERVER_URL=https://github.com", "GITHUB_RUN_ID=42", "GITHUB_SHA=fffffff")
	t.Chdir(filepath.Join(ws, "images"))
	r := runAction(t, env, map[string]string{"command": "validate", "config": "sindri.yaml", "pr-comment": "true", "github-token": "ghs_pr"})
	r.check(t, ExitBadInput, []string{"::error col=3,file=images/sindri.yaml,line=6,title=sindri.yaml::packer.instance_typo"}, nil)
	r = runAction(t, env, map[string]string{"command": "validate", "config": good, "pr-comment": "true", "github-token": "ghs_pr"})
	r.check(t, ExitOK, nil, nil)
	if len(gh.posted) != 2 {
		t.Fatalf("posted %q, want one comment per config", gh.posted)
	}
	for _, want := range []string{"<!-- sindri-packer:validate config=images/sindri.yaml -->\n", "could not run** (exit 2)",
		"images/sindri.yaml:6:3: packer.instance_typo", "https://github.com/acme/images/actions/runs/42", "abc1234def5678"} {
		if !strings.Contains(gh.posted[0], want) {
			t.Errorf("comment lacks %q:\n%s", want, gh.posted[0])
		}
	}
	if !strings.HasPrefix(gh.posted[1], "<!-- sindri-packer:validate config=other/sindri.yaml -->\n") {
		t.Errorf("second config's comment:\n%s", gh.posted[1])
	}
	if s := readFile(t, summary); !strings.Contains(s, "✅ sindri-packer validate passed (aws)") {
		t.Errorf("job summary %q", s)
	}
}

// In Actions validate lints the workflows of the repository root, not a
// .github/workflows beside a config in a subfolder, and annotates them at
// their path from the root.
func TestValidateLintsRootWorkflows(t *testing.T) {
	ws := t.TempDir()
	for _, d := range []string{"images/.github/workflows", ".github/workflows"} {
		if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(ws, "images", "sindri.yaml"), awsYAML, 0o644)
	bad := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/sindri-packer@v1\n      - run: echo ${{ github.evnt.x }}\n"
	mustWrite(t, filepath.Join(ws, ".github", "workflows", "images.yml"), bad, 0o644)
	mustWrite(t, filepath.Join(ws, "images", ".github", "workflows", "stray.yml"), bad, 0o644)
	env, _, _ := actionsEnv(t)
	env = append(env, "PATH="+fakeTools(t, "", 0), "GITHUB_WORKSPACE="+ws)
	r := run(t, env, "validate", "-c", filepath.Join(ws, "images", "sindri.yaml"), "--out", filepath.Join(t.TempDir(), "out"))
	r.check(t, ExitFindings, []string{"file=.github/workflows/images.yml,line=7", `property "evnt" is not defined`}, nil)
	if strings.Contains(r.stdout, "stray.yml") {
		t.Errorf("linted the config folder's .github/workflows:\n%s", r.stdout)
	}
}
