// Package action maps the GitHub Action's inputs (INPUT_* variables, read
// with go-githubactions' GetInput) onto the command lines a user would type,
// so the Action and the CLI share one code path. It validates every input
// before anything runs and names the input that is wrong.
package action

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Commands are the values of the command input.
var Commands = []string{"validate", "build", "test", "deploy", "repave", "cleanup", "matrix", "summarize",
	"status", "stop", "start", "destroy", "images", "doctor"}

// ImagesActions are the values of the images-action input: the
// subcommand of images the Action runs.
var ImagesActions = []string{"list", "delete", "deprecate"}

// Input is one input of action.yml, as the entrypoint knows it.
type Input struct {
	Name    string
	Default string
	// Commands lists the commands that read the input; nil means all.
	Commands []string
}

// Inputs is every input action.yml declares, with its default. A test
// keeps action.yml and this list in step.
var Inputs = []Input{
	{Name: "command", Default: "build"},
	{Name: "working-directory", Default: "."},
	{Name: "config", Default: "sindri.yaml"},
	{Name: "clouds", Default: "all"},
	{Name: "set"},
	{Name: "sindri-version"},
	{Name: "profile"},
	{Name: "extensions"},
	{Name: "github-token", Default: "${{ github.token }}"},
	{Name: "parallel", Commands: []string{"build", "validate", "deploy", "repave"}},
	{Name: "rebuild", Default: "false", Commands: []string{"build", "deploy", "repave"}},
	{Name: "skip-tests", Default: "false", Commands: []string{"build", "deploy", "repave"}},
	{Name: "dry-run", Default: "false", Commands: []string{"build", "repave", "cleanup"}},
	{Name: "timeout", Commands: []string{"build", "deploy", "repave"}},
	{Name: "deploy", Default: "false", Commands: []string{"build"}},
	{Name: "image", Commands: []string{"test", "deploy", "images"}},
	{Name: "ssh-public-key", Commands: []string{"deploy", "build"}},
	{Name: "ssh-from", Commands: []string{"build", "test", "deploy", "repave"}},
	{Name: "cloud", Commands: []string{"test"}},
	{Name: "max-age", Default: "30d", Commands: []string{"repave"}},
	{Name: "keep", Commands: []string{"repave"}},
	{Name: "run-id", Commands: []string{"cleanup"}},
	{Name: "older-than", Commands: []string{"cleanup"}},
	{Name: "manifests", Commands: []string{"summarize"}},
	{Name: "per-region", Default: "false", Commands: []string{"matrix"}},
	{Name: "pr-comment", Default: "false", Commands: []string{"validate"}},
	{Name: "images-action", Default: "list", Commands: []string{"images"}},
	{Name: "debug", Default: "false", Commands: []string{"build", "deploy", "repave"}},
}

// Plan is what the entrypoint runs: one or more command lines (without
// the program name), in order, stopping at the first failure.
type Plan struct {
	// Dir is the working directory to run in ("" or "." for the current).
	Dir string
	// Config is the config input ("" when not given).
	Config string
	// Steps are argument lists, e.g. ["build", "--config", "sindri.yaml"].
	Steps [][]string
	// Env is added to the commands' environment (KEY=value).
	Env []string
	// Secrets are values to mask in the log.
	Secrets []string
	// Comment asks for the validate results as one upserted PR comment.
	Comment bool
	// Warnings are inputs given a value the command does not read.
	Warnings []InputError
	// Origins maps what the steps are given back to the input that gave
	// it: a flag ("--clouds") or a --set path ("packer.build.profile"), so
	// a value the command itself refuses is reported against the input.
	Origins map[string]string
}

// InputForFlag returns the input whose value a command refused in msg (its
// error names the flag, e.g. "--clouds: gcp is not configured"), or "".
func (p *Plan) InputForFlag(msg string) string {
	best, at := "", -1
	for flag, input := range p.Origins {
		if !strings.HasPrefix(flag, "--") {
			continue
		}
		for i := 0; i < len(msg); {
			j := strings.Index(msg[i:], flag)
			if j < 0 {
				break
			}
			j += i
			end := j + len(flag)
			// --clouds, not --cloudsy; the earliest flag named wins.
			if end == len(msg) || !isFlagChar(msg[end]) {
				if at < 0 || j < at {
					best, at = input, j
				}
				break
			}
			i = end
		}
	}
	return best
}

func isFlagChar(b byte) bool {
	return b == '-' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}

// InputForSet returns the input that gave the --set override of a config
// field (packer.build.extensions[0] belongs to extensions), or "".
func (p *Plan) InputForSet(field string) string {
	best := ""
	bestLen := -1
	for path, input := range p.Origins {
		if strings.HasPrefix(path, "--") || !strings.HasPrefix(field, path) {
			continue
		}
		if rest := field[len(path):]; rest != "" && rest[0] != '.' && rest[0] != '[' {
			continue
		}
		if len(path) > bestLen {
			best, bestLen = input, len(path)
		}
	}
	return best
}

// InputError is a bad input value; Input is the action input's name.
type InputError struct {
	Input   string
	Message string
}

func (e *InputError) Error() string { return "input " + e.Input + ": " + e.Message }

// The formats of the values that become --set overrides: the same as
// config's "name" and "version" patterns, so a bad value is reported
// against the input instead of as a sindri.yaml field.
var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	versionPattern = regexp.MustCompile(`^(latest|v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?)$`)
	setPathPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)
	// A duration: Go's (90m, 1h30m) or whole days (30d).
	daysPattern = regexp.MustCompile(`^[0-9]+d$`)
)

// reader reads and checks inputs, remembering the first error.
type reader struct {
	a       *githubactions.Action
	command string
	err     *InputError
	used    map[string]bool
	origins map[string]string
}

// flag appends a flag and its value made from an input, remembering which
// input it came from.
func (r *reader) flag(args []string, input, flag, value string) []string {
	r.origins[flag] = input
	return append(args, flag, value)
}

func (r *reader) get(name string) string {
	r.used[name] = true
	return r.a.GetInput(name)
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &InputError{Input: name, Message: fmt.Sprintf(format, args...)}
	}
}

// bool reads a boolean input the way the Actions toolkit's getBooleanInput
// does: true, True, TRUE, false, False, FALSE; empty is false.
func (r *reader) bool(name string) bool {
	switch v := r.get(name); v {
	case "true", "True", "TRUE":
		return true
	case "", "false", "False", "FALSE":
		return false
	default:
		r.fail(name, "%q is not a boolean (true or false)", v)
		return false
	}
}

// int reads an integer input of at least min; ok is false when empty.
func (r *reader) int(name string, min int) (string, bool) {
	v := r.get(name)
	if v == "" {
		return "", false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		r.fail(name, "%q is not a whole number of at least %d", v, min)
		return "", false
	}
	return strconv.Itoa(n), true
}

// duration reads a duration input: Go's form (90m, 1h30m) or days (30d).
func (r *reader) duration(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	if daysPattern.MatchString(v) {
		return v
	}
	if d, err := time.ParseDuration(v); err != nil || d <= 0 {
		r.fail(name, "%q is not a duration such as 30d, 12h or 90m", v)
		return ""
	}
	return v
}

// list reads a list input: items separated by commas or new lines.
func (r *reader) list(name string) []string {
	var out []string
	for _, line := range strings.Split(r.get(name), "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func (r *reader) required(name, v string) {
	if v == "" {
		r.fail(name, "required by command %s", r.command)
	}
}

// FromEnv reads the inputs through getenv and returns the plan, or an
// *InputError for the first bad input.
func FromEnv(getenv func(string) string) (*Plan, error) {
	r := &reader{a: githubactions.New(githubactions.WithGetenv(getenv)), used: map[string]bool{}}
	command := r.get("command")
	if command == "" {
		command = "build"
	}
	if !slices.Contains(Commands, command) {
		return nil, &InputError{Input: "command", Message: fmt.Sprintf("%q is not one of %s", command, strings.Join(Commands, ", "))}
	}
	r.command = command
	p := &Plan{Dir: r.get("working-directory"), Origins: map[string]string{}}
	r.origins = p.Origins
	global := r.global(p)
	p.Steps = commandSteps[command](r, p, []string{command}, global)
	if r.err != nil {
		return nil, r.err
	}
	p.Warnings = unused(r)
	return p, nil
}

// global reads the flags every command reads: config, clouds, set and the
// build settings that become --set overrides; github-token goes into the
// plan's environment.
func (r *reader) global(p *Plan) []string {
	global := []string{}
	if cfg := r.get("config"); cfg != "" {
		p.Config = cfg
		global = append(global, "--config", cfg)
		r.origins["--config"] = "config"
	}
	global = append(global, r.clouds()...)
	for _, line := range strings.Split(r.get("set"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		path, _, ok := strings.Cut(line, "=")
		if !ok || !setPathPattern.MatchString(path) {
			r.fail("set", "%q: expected one path=value per line, e.g. packer.build.profile=minimal", line)
			continue
		}
		global = append(global, "--set", line)
		r.origins[path] = "set"
	}
	global = append(global, r.buildSets()...)
	if token := r.get("github-token"); token != "" {
		p.Env = append(p.Env, "GITHUB_TOKEN="+token, "PACKER_GITHUB_API_TOKEN="+token)
		p.Secrets = append(p.Secrets, token)
	}
	return global
}

// clouds reads the clouds input. The runner passes an input the workflow
// leaves out as its default (all), and one given as "" as "": both mean
// every configured cloud. A value that is there but names no cloud (",",
// " , ") is a mistake.
func (r *reader) clouds() []string {
	raw := r.get("clouds")
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	clouds := r.list("clouds")
	switch {
	case len(clouds) == 0:
		r.fail("clouds", "%q names no cloud: give names such as aws,gcp, or all (leave the input out for every configured cloud)", raw)
		return nil
	case len(clouds) == 1 && clouds[0] == "all":
		return nil
	}
	for _, c := range clouds {
		if !slices.Contains(config.Clouds, c) {
			r.fail("clouds", "unknown cloud %q (known: %s, or all)", c, strings.Join(config.Clouds, ", "))
		}
	}
	r.origins["--clouds"] = "clouds"
	return []string{"--clouds", strings.Join(clouds, ",")}
}

// buildSets reads sindri-version, profile and extensions as --set
// overrides of packer.build.
func (r *reader) buildSets() []string {
	var sets []string
	if v := r.get("sindri-version"); v != "" {
		if !versionPattern.MatchString(v) {
			r.fail("sindri-version", "%q is not latest or a release version such as 3.0.1", v)
		}
		sets = append(sets, "--set", "packer.build.sindri_version="+v)
		r.origins["packer.build.sindri_version"] = "sindri-version"
	}
	if v := r.get("profile"); v != "" {
		if !namePattern.MatchString(v) {
			r.fail("profile", "%q is not a profile name (lower-case letters, digits, '.', '_' and '-')", v)
		}
		sets = append(sets, "--set", "packer.build.profile="+v)
		r.origins["packer.build.profile"] = "profile"
	}
	if exts := r.list("extensions"); len(exts) > 0 {
		for _, e := range exts {
			if !namePattern.MatchString(e) {
				r.fail("extensions", "%q is not an extension name (lower-case letters, digits, '.', '_' and '-')", e)
			}
		}
		sets = append(sets, "--set", "packer.build.extensions=["+strings.Join(exts, ",")+"]")
		r.origins["packer.build.extensions"] = "extensions"
	}
	return sets
}

// commandSteps reads each command's own inputs and returns the command
// lines to run; args starts with the command, global holds the flags
// every command reads.
var commandSteps = map[string]func(r *reader, p *Plan, args, global []string) [][]string{
	"validate": func(r *reader, p *Plan, args, global []string) [][]string {
		if n, ok := r.int("parallel", 1); ok {
			args = r.flag(args, "parallel", "--parallel", n)
		}
		p.Comment = r.bool("pr-comment")
		return [][]string{append(args, global...)}
	},
	"build": func(r *reader, _ *Plan, args, global []string) [][]string {
		args = append(args, r.buildFlags(true)...)
		args = appendIf(args, r.bool("debug"), "--debug")
		steps := [][]string{append(args, global...)}
		if r.bool("deploy") {
			// deploy finds the image the build just made (or found) by its
			// config hash, so it launches exactly that image.
			deploy := []string{"deploy"}
			if key := r.get("ssh-public-key"); key != "" {
				deploy = r.flag(deploy, "ssh-public-key", "--ssh-public-key", key)
			}
			steps = append(steps, append(deploy, global...))
		}
		return steps
	},
	"test":   testSteps,
	"deploy": deploySteps,
	"repave": func(r *reader, _ *Plan, args, global []string) [][]string {
		if d := r.duration("max-age"); d != "" {
			args = r.flag(args, "max-age", "--max-age", d)
		}
		if n, ok := r.int("keep", 1); ok {
			args = r.flag(args, "keep", "--keep", n)
		}
		args = append(args, r.buildFlags(true)...)
		args = appendIf(args, r.bool("debug"), "--debug")
		return [][]string{append(args, global...)}
	},
	"cleanup": func(r *reader, _ *Plan, args, global []string) [][]string {
		if id := r.get("run-id"); id != "" {
			args = r.flag(args, "run-id", "--run-id", id)
		}
		if d := r.duration("older-than"); d != "" {
			args = r.flag(args, "older-than", "--older-than", d)
		}
		args = appendIf(args, r.bool("dry-run"), "--dry-run")
		return [][]string{append(args, global...)}
	},
	"matrix": func(r *reader, _ *Plan, args, global []string) [][]string {
		args = appendIf(args, r.bool("per-region"), "--per-region")
		return [][]string{append(args, global...)}
	},
	"summarize": func(r *reader, _ *Plan, args, _ []string) [][]string {
		dir := r.get("manifests")
		r.required("manifests", dir)
		// summarize reads no configuration: only the manifests.
		return [][]string{r.flag(args, "manifests", "--manifests", dir)}
	},
	"status": plainSteps, "stop": plainSteps, "start": plainSteps, "doctor": plainSteps,
	"destroy": func(_ *reader, _ *Plan, args, global []string) [][]string {
		// A workflow cannot answer the confirmation prompt: choosing
		// command destroy is the confirmation.
		return [][]string{append(args, append([]string{"--yes"}, global...)...)}
	},
	"images": imagesSteps,
}

func plainSteps(_ *reader, _ *Plan, args, global []string) [][]string {
	return [][]string{append(args, global...)}
}

func testSteps(r *reader, _ *Plan, args, global []string) [][]string {
	cloud, image := r.get("cloud"), r.get("image")
	r.required("cloud", cloud)
	r.required("image", image)
	if cloud != "" && !slices.Contains(config.Clouds, cloud) {
		r.fail("cloud", "unknown cloud %q (known: %s)", cloud, strings.Join(config.Clouds, ", "))
	}
	args = r.flag(r.flag(args, "cloud", "--cloud", cloud), "image", "--image", image)
	if cidr := r.get("ssh-from"); cidr != "" {
		args = r.flag(args, "ssh-from", "--ssh-from", cidr)
	}
	return [][]string{append(args, global...)}
}

func deploySteps(r *reader, _ *Plan, args, global []string) [][]string {
	if image := r.get("image"); image != "" {
		args = r.flag(args, "image", "--image", image)
	}
	if key := r.get("ssh-public-key"); key != "" {
		args = r.flag(args, "ssh-public-key", "--ssh-public-key", key)
	}
	// deploy builds (and tests) the image first when none is cached.
	args = append(args, r.buildFlags(false)...)
	args = appendIf(args, r.bool("debug"), "--debug")
	return [][]string{append(args, global...)}
}

func imagesSteps(r *reader, _ *Plan, args, global []string) [][]string {
	sub := r.get("images-action")
	if sub == "" {
		sub = "list"
	}
	if !slices.Contains(ImagesActions, sub) {
		r.fail("images-action", "%q is not one of %s", sub, strings.Join(ImagesActions, ", "))
	}
	args = append(args, sub)
	ids := r.list("image")
	switch sub {
	case "list":
		if len(ids) > 0 {
			r.fail("image", "images-action list lists every image this tool made: give no image")
		}
	case "delete", "deprecate":
		if len(ids) == 0 {
			r.fail("image", "required by images-action %s: the image IDs, comma or newline separated", sub)
		}
		args = append(args, ids...)
		// As with destroy, the workflow's choice is the confirmation.
		args = appendIf(args, sub == "delete", "--yes")
	}
	return [][]string{append(args, global...)}
}

// unused lists inputs given a non-default value that the command never
// read, so a misplaced input is visible instead of silently ignored.
func unused(r *reader) []InputError {
	var out []InputError
	for _, in := range Inputs {
		if r.used[in.Name] {
			continue
		}
		v := r.a.GetInput(in.Name)
		if v == "" || v == in.Default || (in.Default == "false" && strings.EqualFold(v, "false")) {
			continue
		}
		out = append(out, InputError{Input: in.Name, Message: fmt.Sprintf("ignored: command %s does not read it (read by: %s)", r.command, strings.Join(in.Commands, ", "))})
	}
	return out
}

// buildFlags reads the inputs of the build options that build, deploy and
// repave share; dryRun says whether the command reads dry-run.
func (r *reader) buildFlags(dryRun bool) []string {
	var args []string
	if n, ok := r.int("parallel", 1); ok {
		args = r.flag(args, "parallel", "--parallel", n)
	}
	args = appendIf(args, r.bool("rebuild"), "--rebuild")
	args = appendIf(args, r.bool("skip-tests"), "--skip-tests")
	if dryRun {
		args = appendIf(args, r.bool("dry-run"), "--dry-run")
	}
	if cidr := r.get("ssh-from"); cidr != "" {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			r.fail("ssh-from", "%q is not a CIDR like 203.0.113.7/32", cidr)
		}
		args = r.flag(args, "ssh-from", "--ssh-from", cidr)
	}
	if d := r.duration("timeout"); d != "" {
		if daysPattern.MatchString(d) {
			r.fail("timeout", "%q: give the build time-out in hours or minutes, e.g. 90m", d)
		}
		args = r.flag(args, "timeout", "--timeout", d)
	}
	return args
}

func appendIf(args []string, cond bool, flag string) []string {
	if cond {
		return append(args, flag)
	}
	return args
}

// credentialFileVars are variables that google-github-actions/auth sets to
// a credentials file it writes into the workspace.
var credentialFileVars = []string{"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "GOOGLE_GHA_CREDS_PATH"}

// ContainerPaths rewrites credential file paths that name the runner's
// host workspace into the container's GITHUB_WORKSPACE (a Docker action
// sees the workspace at /github/workspace, but variables exported by
// earlier steps keep the host path). exists reports whether a file exists.
func ContainerPaths(getenv func(string) string, exists func(string) bool) []string {
	ws := getenv("GITHUB_WORKSPACE")
	if ws == "" {
		return nil
	}
	var out []string
	for _, k := range credentialFileVars {
		p := getenv(k)
		if p == "" || exists(p) {
			continue
		}
		// The file keeps its name and its place under the workspace root;
		// auth writes it at the top (gha-creds-*.json).
		base := p[strings.LastIndex(p, "/")+1:]
		if c := strings.TrimRight(ws, "/") + "/" + base; exists(c) {
			out = append(out, k+"="+c)
		}
	}
	return out
}
