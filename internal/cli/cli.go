// Package cli is the sindri-packer command line: subcommands, flags and
// exit codes. The GitHub Action's entrypoint runs the same commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/tools"
)

// Exit codes; each has one meaning.
const (
	ExitOK       = 0 // success
	ExitFindings = 1 // validation findings, a failed build or test
	ExitBadInput = 2 // bad flags or configuration: nothing was started
	ExitFailure  = 3 // a tool or API failed
)

// version is set at link time (-X); otherwise taken from the build info.
var version = ""

// Version returns this program's version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Command is one invocation with its streams and environment, so tests can
// run it in-process.
type Command struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Environ is the environment as KEY=value pairs: the one environment
	// of the command, the targets (cloud.Env) and the programs it runs.
	// Nothing reads or changes the process's own.
	Environ []string
	// Dir is the working folder relative paths (flags, the config)
	// resolve from; "" is the process's. The Action's working-directory
	// sets it instead of changing the process's folder.
	Dir string
	// Context is cancelled on SIGINT/SIGTERM by main.
	Context context.Context
	// Targets, when set, replaces package targets (tests use fakes).
	Targets func(name string) (cloud.Target, error)

	// redact holds every secret known to this process; Main wraps Stdout
	// and Stderr with it. The action entrypoint hands its own to the
	// commands it runs, so what one masks the others hide too.
	redact *gha.Redactor
	// confine, when set, is the folder (the Action's workspace) every file
	// the configuration names must be in.
	confine string
	// failure is the error Main turned into its exit code, so the action
	// entrypoint can tell which of its inputs a bad-input error is about.
	failure error
}

func (c *Command) getenv(k string) string {
	v, _ := c.lookupEnv(k)
	return v
}

func (c *Command) lookupEnv(k string) (string, bool) {
	for i := len(c.Environ) - 1; i >= 0; i-- {
		if key, v, ok := strings.Cut(c.Environ[i], "="); ok && key == k {
			return v, true
		}
	}
	return "", false
}

// exitError carries an exit code and, for findings, nothing more to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{ExitBadInput, fmt.Errorf(format, args...)}
}

func toolFailure(err error) error { return &exitError{ExitFailure, err} }

// errFindings means findings were printed already.
var errFindings = &exitError{ExitFindings, errors.New("findings")}

// Main runs the command line and returns the exit code.
func (c *Command) Main(args []string) int {
	if c.Context == nil {
		c.Context = context.Background()
	}
	root := c.root()
	root.SetArgs(args[1:])
	if cmd, _, err := root.Find(args[1:]); err != nil || cmd.Name() != "connect" {
		// connect hands the terminal to an interactive ssh session, which
		// a line-buffered writer would break; it prints no configuration.
		flush := c.redactStreams()
		defer flush()
	}
	err := root.ExecuteContext(c.Context)
	c.failure = err
	if err == nil {
		return ExitOK
	}
	var diags config.Diagnostics
	var ee *exitError
	switch {
	case errors.As(err, &diags):
		rep := gha.New(c.getenv, c.Stdout)
		for _, d := range diags {
			// In Actions, paths from the repository root (as annotations).
			d.File = c.annotationPath(d.File)
			fmt.Fprintln(c.Stderr, d)
			rep.Error(gha.Annotation{File: d.File, Line: d.Line, Col: d.Col, Title: "sindri.yaml", Message: d.Field + ": " + d.Message})
		}
		return ExitBadInput
	case errors.As(err, &ee):
		if ee != errFindings {
			fmt.Fprintln(c.Stderr, "error:", ee.err)
		}
		return ee.code
	default:
		// Flag and argument errors from cobra: bad input.
		fmt.Fprintln(c.Stderr, "error:", err)
		fmt.Fprintln(c.Stderr, "Run 'sindri-packer --help' for usage.")
		return ExitBadInput
	}
}

// redactStreams registers the secrets of the environment and wraps Stdout
// and Stderr so that no registered secret is written, inside a runner (whose
// masking covers only its log) or outside one. It returns the flush for a
// last unfinished line.
func (c *Command) redactStreams() func() {
	if c.redact == nil {
		c.redact = gha.NewRedactor()
	}
	for _, kv := range c.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(secretEnv, k) || config.SecretName(k) {
			c.redact.Add(v)
		}
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	out, errw := c.redact.Wrap(c.Stdout), c.redact.Wrap(c.Stderr)
	c.Stdout, c.Stderr = out, errw
	return func() {
		_ = out.Flush()
		_ = errw.Flush()
	}
}

// global holds the flags every command reads.
type global struct {
	config string
	clouds string
	sets   []string
}

func (c *Command) root() *cobra.Command {
	g := &global{}
	root := &cobra.Command{
		Use:   "sindri-packer",
		Short: "Build, test and publish Sindri VM images with HashiCorp Packer",
		Long: `sindri-packer builds VM images with Sindri pre-installed and hardened, for
AWS, Azure, GCP, Oracle Cloud and Alibaba Cloud, plus a local QEMU target
that needs no cloud account. It renders Packer templates from sindri.yaml,
validates them offline, runs the builds in parallel, tests every new image on
a temporary instance, and reports image IDs, a manifest and a summary.

Start with:
  sindri-packer init --cloud qemu      # write a documented sindri.yaml
  sindri-packer validate               # check it all, no credentials needed
  sindri-packer build                  # build, test on a temporary VM, cache
  sindri-packer matrix                 # fan builds out over a GitHub matrix

On a cloud (credentials from its SDK's standard chain: environment, shared
config files, OIDC / workload identity; nothing is stored by this tool):
  sindri-packer doctor                 # packer, plugins, credentials, InSpec
  sindri-packer images list            # this tool's images: the build cache
  sindri-packer deploy                 # a VM from the image; then status,
                                       # connect, stop, start, destroy
  sindri-packer repave                 # scheduled: rebuild stale, retire old
  sindri-packer cleanup                # sweep what a cancelled run left

Exit codes: 0 success, 1 findings (validation or build failed),
2 bad input (nothing was started), 3 a tool or API failed.`,
		Version:       Version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate(fmt.Sprintf("sindri-packer %s (packer %s)\n", Version(), tools.PackerVersion()))
	root.SetOut(c.Stdout)
	root.SetErr(c.Stderr)
	root.SetIn(c.Stdin)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return badInput("%s: %v (see '%s --help')", cmd.Name(), err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&g.config, "config", "c", "sindri.yaml", "path of the configuration file")
	pf.StringVar(&g.clouds, "clouds", "all", "comma-separated clouds to act on, or all (the clouds configured in the file)")
	pf.StringArrayVar(&g.sets, "set", nil, "override one config field, e.g. --set packer.build.profile=minimal (repeatable)")
	root.AddCommand(
		c.initCmd(),
		c.renderCmd(g),
		c.validateCmd(g),
		c.buildCmd(g),
		c.testCmd(g),
		c.matrixCmd(g),
		c.summarizeCmd(),
		c.schemaCmd(),
		c.actionCmd(),
		c.imagesCmd(g),
		c.deployCmd(g),
		c.statusCmd(g),
		c.connectCmd(g),
		c.powerCmd(g, "stop"),
		c.powerCmd(g, "start"),
		c.destroyCmd(g),
		c.cleanupCmd(g),
		c.repaveCmd(g),
		c.doctorCmd(g),
		c.migrateCmd(),
	)
	c.registerCompletions(root)
	return root
}

// load reads the configuration named by the global flags.
func (c *Command) load(g *global) (*config.Config, []string, error) {
	return c.loadFor(g, false)
}

// loadFor is load; placeholders lets unset ${VAR}s of fields that a check
// needs no real value for take placeholders (validate and matrix only).
func (c *Command) loadFor(g *global, placeholders bool) (*config.Config, []string, error) {
	rep := gha.New(c.getenv, c.Stdout)
	opts := config.Options{Getenv: c.lookupEnv, Sets: g.sets, ImageID: c.checkImageID, Secret: rep.Mask, Root: c.confine, Warn: c.configWarning, Credentials: secretEnv}
	if placeholders {
		opts.Placeholders, opts.Notice = true, c.configNotice
	}
	cfg, err := config.Load(c.path(g.config), opts)
	if err != nil {
		return nil, nil, err
	}
	clouds, err := selectClouds(cfg, g.clouds)
	if err != nil {
		return nil, nil, err
	}
	return cfg, clouds, nil
}

// withConfig is the RunE of a command that works on the configuration and
// its selected clouds: it loads them (placeholders as in loadFor), then
// runs run with the command's context.
func (c *Command) withConfig(g *global, placeholders bool, run func(ctx context.Context, cfg *config.Config, clouds []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		cfg, clouds, err := c.loadFor(g, placeholders)
		if err != nil {
			return err
		}
		return run(cmd.Context(), cfg, clouds)
	}
}

// selectClouds turns --clouds into the list of configured clouds to use.
func selectClouds(cfg *config.Config, flag string) ([]string, error) {
	configured := cfg.Selected()
	if flag == "" || flag == "all" {
		return configured, nil
	}
	var out []string
	for _, name := range strings.Split(flag, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case !slices.Contains(config.Clouds, name):
			if s := config.ClosestCloud(name); s != "" {
				return nil, badInput("--clouds: unknown cloud %q; did you mean %q?", name, s)
			}
			return nil, badInput("--clouds: unknown cloud %q (known: %s)", name, strings.Join(config.Clouds, ", "))
		case !slices.Contains(configured, name):
			return nil, badInput("--clouds: %s is not configured in %s (configured: %s)", name, cfg.File, strings.Join(configured, ", "))
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, badInput("--clouds: no cloud given")
	}
	return out, nil
}

// lookTool finds an executable on the PATH of the command's environment.
func (c *Command) lookTool(name, hint string) (string, error) {
	for _, dir := range strings.Split(c.getenv("PATH"), string(os.PathListSeparator)) {
		if dir == "" {
			continue
		}
		p := dir + string(os.PathSeparator) + name
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", toolFailure(fmt.Errorf("%s not found on PATH: %s: %w", name, hint, exec.ErrNotFound))
}
