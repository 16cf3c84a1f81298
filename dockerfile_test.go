// Package sindripacker_test holds the tests of the files at the top of the
// repository: the Dockerfile, action.yml, the workflows and the README.
// There is no Docker engine on the development machines, so the Dockerfile
// is checked by parsing it with BuildKit's own parser.
package sindripacker_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/sindri-dev/sindri-packer/internal/targets"
	"github.com/sindri-dev/sindri-packer/tools"
)

// dockerfile is the parsed Dockerfile with BuildKit's lint warnings.
type dockerfile struct {
	stages   []instructions.Stage
	meta     []instructions.ArgCommand
	warnings []string
	text     string
}

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d := dockerfile{text: string(data)}
	for _, w := range res.Warnings {
		d.warnings = append(d.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		d.warnings = append(d.warnings, rule+": "+msg+" (line "+strconv.Itoa(line)+")")
	}})
	d.stages, d.meta, err = instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func (d dockerfile) stage(name string) (instructions.Stage, bool) {
	for _, s := range d.stages {
		if s.Name == name {
			return s, true
		}
	}
	return instructions.Stage{}, false
}

// runs returns the shell text of a stage's RUN instructions.
func runs(s instructions.Stage) []string {
	var out []string
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			out = append(out, strings.Join(r.CmdLine, " "))
		}
	}
	return out
}

func copies(s instructions.Stage) []*instructions.CopyCommand {
	var out []*instructions.CopyCommand
	for _, c := range s.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok {
			out = append(out, cp)
		}
	}
	return out
}

// dockerfileChecks are what the Action's image needs, each returning its
// problems; goMod is the go.mod text (the Go toolchain version).
func dockerfileProblems(d dockerfile, goMod string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, w := range d.warnings {
		add("BuildKit: %s", w)
	}
	var names []string
	for _, s := range d.stages {
		names = append(names, s.Name)
	}
	if want := []string{"build", "tools", "cinc", "runtime"}; !slices.Equal(names, want) {
		add("stages %q, want %q", names, want)
	}
	if len(d.meta) > 0 {
		add("ARG before the first FROM: base images must be literal, pinned tags")
	}

	// Base images: literal, tagged, never latest; Debian by dated tag.
	for i, s := range d.stages {
		if slices.ContainsFunc(d.stages[:i], func(p instructions.Stage) bool { return p.Name == s.BaseName }) {
			continue // an earlier stage
		}
		image, tag, ok := strings.Cut(s.BaseName, ":")
		switch {
		case strings.Contains(s.BaseName, "$"):
			add("stage %s: FROM %s is not literal", s.Name, s.BaseName)
		case !ok || tag == "":
			add("stage %s: FROM %s has no tag", s.Name, s.BaseName)
		case strings.Contains(tag, "latest"):
			add("stage %s: FROM %s uses latest", s.Name, s.BaseName)
		case image == "debian" && !regexp.MustCompile(`^bookworm-[0-9]{8}-slim$`).MatchString(tag):
			add("stage %s: FROM %s: want debian:bookworm-YYYYMMDD-slim (a dated tag)", s.Name, s.BaseName)
		case image == "golang" && !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+-bookworm$`).MatchString(tag):
			add("stage %s: FROM %s: want golang:X.Y.Z-bookworm", s.Name, s.BaseName)
		case image != "debian" && image != "golang":
			add("stage %s: unexpected base image %s", s.Name, s.BaseName)
		}
	}
	if m := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindStringSubmatch(goMod); m != nil {
		for _, name := range []string{"build", "tools"} {
			if s, ok := d.stage(name); ok && s.BaseName != "golang:"+m[1]+"-bookworm" {
				add("stage %s FROM %s, want golang:%s-bookworm (go.mod's version; GOTOOLCHAIN=local)", name, s.BaseName, m[1])
			}
		}
	} else {
		add("go.mod has no go line")
	}

	// Versions: only in FROM lines and tools/versions.env.
	versionLike := regexp.MustCompile(`\b[0-9]+\.[0-9]+\.[0-9]+\b`)
	for _, line := range strings.Split(d.text, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "FROM ") || strings.HasPrefix(l, "#") {
			continue
		}
		if v := versionLike.FindString(l); v != "" {
			add("version literal %s outside tools/versions.env: %s", v, l)
		}
	}
	known := tools.Versions()
	for _, s := range d.stages {
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.ArgCommand:
				for _, a := range c.Args {
					known[a.Key] = ""
				}
			case *instructions.EnvCommand:
				for _, e := range c.Env {
					known[e.Key] = ""
				}
			}
		}
	}
	ref := regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`)
	for _, s := range d.stages {
		for _, r := range runs(s) {
			for _, m := range ref.FindAllStringSubmatch(r, -1) {
				if _, ok := known[m[1]]; !ok {
					add("stage %s uses ${%s}, set nowhere (not in tools/versions.env)", s.Name, m[1])
				}
			}
		}
	}

	// The binary: static, stripped, reproducible paths.
	if b, ok := d.stage("build"); ok {
		found := false
		for _, r := range runs(b) {
			if strings.Contains(r, "go build") {
				found = true
				for _, want := range []string{"-trimpath", `-ldflags="-s -w `, "./cmd/sindri-packer"} {
					if !strings.Contains(r, want) {
						add("go build lacks %q: %s", want, r)
					}
				}
			}
		}
		if !found {
			add("the build stage has no go build")
		}
		if !slices.ContainsFunc(b.Commands, func(c instructions.Command) bool {
			e, ok := c.(*instructions.EnvCommand)
			return ok && slices.ContainsFunc(e.Env, func(kv instructions.KeyValuePair) bool { return kv.Key == "CGO_ENABLED" && kv.Value == "0" })
		}) {
			add("the build stage does not set CGO_ENABLED=0")
		}
	}

	// Packer and the plugins: built by tools/install.sh from versions.env.
	if s, ok := d.stage("tools"); ok {
		var copied []string
		for _, cp := range copies(s) {
			copied = append(copied, cp.SourcePaths...)
		}
		for _, want := range []string{"tools/install.sh", "tools/versions.env"} {
			if !slices.Contains(copied, want) {
				add("the tools stage does not copy %s (copies %q)", want, copied)
			}
		}
		if !slices.ContainsFunc(runs(s), func(r string) bool { return strings.Contains(r, "tools/install.sh --no-apt") }) {
			add("the tools stage does not run tools/install.sh: %q", runs(s))
		}
	}

	// The runtime: what it copies, its environment and entrypoint.
	rt, ok := d.stage("runtime")
	if !ok {
		return problems
	}
	from := map[string]string{} // destination -> stage:source
	for _, cp := range copies(rt) {
		for _, src := range cp.SourcePaths {
			from[cp.DestPath] = cp.From + ":" + src
		}
	}
	for dst, src := range map[string]string{
		"/usr/local/bin/packer":           "tools:/opt/sindri-tools/bin/packer",
		"/usr/local/bin/sindri-packer":    "build:/out/sindri-packer",
		"/usr/local/share/packer-plugins": "tools:/opt/sindri-tools/packer-plugins",
	} {
		if from[dst] != src {
			add("runtime: %s comes from %q, want %q", dst, from[dst], src)
		}
	}
	env := map[string]string{}
	var entrypoint []string
	for _, c := range rt.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				add("ENTRYPOINT in shell form: signals would not reach sindri-packer")
			}
			entrypoint = c.CmdLine
		case *instructions.UserCommand:
			add("USER %s: GitHub runs container actions as root, the workspace is owned by the runner", c.User)
		}
	}
	if env["PACKER_PLUGIN_PATH"] != "/usr/local/share/packer-plugins" || env["CHECKPOINT_DISABLE"] != "1" {
		add("runtime env %v: want PACKER_PLUGIN_PATH=/usr/local/share/packer-plugins and CHECKPOINT_DISABLE=1", env)
	}
	if !slices.Equal(entrypoint, []string{"sindri-packer", "action"}) {
		add("ENTRYPOINT %q, want [sindri-packer action]", entrypoint)
	}
	text := strings.Join(runs(rt), "\n")
	for _, want := range []string{"ca-certificates", "openssh-client", "shellcheck", "--no-install-recommends", "rm -rf /var/lib/apt/lists/*", "cinc-auditor.deb"} {
		if !strings.Contains(text, want) {
			add("runtime RUN lacks %q", want)
		}
	}
	for _, heavy := range []string{"golang", "build-essential", "qemu-system"} {
		if strings.Contains(text, heavy) {
			add("runtime installs %s: keep the image small", heavy)
		}
	}

	// cinc-auditor: the pinned version, checksum verified.
	if s, ok := d.stage("cinc"); ok {
		text := strings.Join(runs(s), "\n")
		for _, want := range []string{". /tmp/versions.env", "v=${CINC_AUDITOR_VERSION}", "sha256sum -c"} {
			if !strings.Contains(text, want) {
				add("cinc stage lacks %q", want)
			}
		}
	}
	return problems
}

func readGoMod(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	for _, p := range dockerfileProblems(parseDockerfile(t, "Dockerfile"), readGoMod(t)) {
		t.Error(p)
	}
}

// TestDockerfilePlugins: install.sh builds every PACKER_PLUGIN_<NAME>_VERSION
// of versions.env into the image, and that must be exactly the plugins the
// templates require.
func TestDockerfilePlugins(t *testing.T) {
	t.Parallel()
	var pinned, required []string
	for k := range tools.Versions() {
		if n, ok := strings.CutPrefix(k, "PACKER_PLUGIN_"); ok && strings.HasSuffix(n, "_VERSION") {
			pinned = append(pinned, strings.ToLower(strings.TrimSuffix(n, "_VERSION")))
		}
	}
	for _, b := range targets.Builders() {
		p := b.Plugin()
		if !slices.Contains(required, p.Name) {
			required = append(required, p.Name)
		}
		if p.Source != "github.com/hashicorp/"+p.Name {
			t.Errorf("plugin %s from %s: install.sh installs github.com/hashicorp/<name> only", p.Name, p.Source)
		}
		if p.Version != tools.PluginVersion(p.Name) {
			t.Errorf("plugin %s: template requires %s, image has %s", p.Name, p.Version, tools.PluginVersion(p.Name))
		}
	}
	sort.Strings(pinned)
	sort.Strings(required)
	if !slices.Equal(pinned, required) {
		t.Errorf("plugins installed into the image %q, plugins the templates require %q", pinned, required)
	}
	if v := tools.Versions()["CINC_AUDITOR_VERSION"]; !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Errorf("CINC_AUDITOR_VERSION = %q in tools/versions.env, want X.Y.Z", v)
	}
}

// TestDockerfileBadCases runs the checks over broken Dockerfiles, each with
// the problems expected beside it (testdata/dockerfile/NAME.Dockerfile and
// NAME.want), so the checks are known to fail when they should.
func TestDockerfileBadCases(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/dockerfile/*.Dockerfile")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			got := dockerfileProblems(parseDockerfile(t, f), readGoMod(t))
			wantData, err := os.ReadFile(strings.TrimSuffix(f, ".Dockerfile") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range strings.Split(strings.TrimSpace(string(wantData)), "\n") {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
					t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// TestContainerTestBuild: the image the container journeys run
// (tools/container-build.sh) is the Dockerfile's, with only the cinc stage
// replaced by the stand-in (cinc.sh is unreachable there) and labels that
// say so.
func TestContainerTestBuild(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash")
	}
	out, err := exec.Command("bash", "tools/container-build.sh", "--print-dockerfile").Output()
	if err != nil {
		t.Fatalf("tools/container-build.sh --print-dockerfile: %v", err)
	}
	path := filepath.Join(t.TempDir(), "Dockerfile.test")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	real, test := parseDockerfile(t, "Dockerfile"), parseDockerfile(t, path)
	if len(test.warnings) > 0 {
		t.Errorf("BuildKit warnings on the test Dockerfile: %q", test.warnings)
	}
	if len(real.stages) != len(test.stages) {
		t.Fatalf("test Dockerfile has %d stages, the Dockerfile %d", len(test.stages), len(real.stages))
	}
	lines := func(s instructions.Stage) []string {
		var out []string
		for _, c := range s.Commands {
			out = append(out, fmt.Sprint(c))
		}
		return out
	}
	for i, r := range real.stages {
		s := test.stages[i]
		if s.Name != r.Name || s.BaseName != r.BaseName {
			t.Errorf("stage %d: %s FROM %s, the Dockerfile's is %s FROM %s", i, s.Name, s.BaseName, r.Name, r.BaseName)
			continue
		}
		got, want := lines(s), lines(r)
		switch s.Name {
		case "cinc":
			text := strings.Join(got, "\n")
			if !strings.Contains(text, "STAND-IN") || strings.Contains(text, "omnitruck") || !strings.Contains(text, "/out/cinc-auditor.deb") {
				t.Errorf("the test build's cinc stage is not the labelled stand-in producing /out/cinc-auditor.deb:\n%s", text)
			}
		case "runtime":
			if len(got) != len(want)+1 || !slices.Equal(got[:len(want)], want) || !strings.Contains(got[len(want)], "dev.sindri.cinc-auditor") {
				t.Errorf("runtime stage: want the Dockerfile's plus one LABEL naming the stand-in; got:\n%s", strings.Join(got, "\n"))
			}
		default:
			if !slices.Equal(got, want) {
				t.Errorf("stage %s differs from the Dockerfile's:\n%s\nwant:\n%s", s.Name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}
