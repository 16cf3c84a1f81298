package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/action"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
)

func (c *Command) actionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "action",
		Short: "Run as the GitHub Action's entrypoint: read INPUT_* and run that command",
		Long: `action is the entrypoint of the sindri-packer GitHub Action (action.yml).
It reads the Action's inputs from the INPUT_* variables the runner sets
(INPUT_COMMAND, INPUT_CLOUDS, INPUT_SINDRI-VERSION, ...), checks every value,
and runs the same command line a user would type, for example
  INPUT_COMMAND=build INPUT_CLOUDS=aws,gcp INPUT_PROFILE=minimal
runs
  sindri-packer build --config sindri.yaml --clouds aws,gcp --set packer.build.profile=minimal

sindri-version, profile and extensions become --set packer.build.* overrides;
github-token is passed on as GITHUB_TOKEN and PACKER_GITHUB_API_TOKEN (masked);
deploy: true with command build runs deploy after a successful build (with
ssh-public-key as the VM's key);
pr-comment: true with command validate upserts one pull request comment with
the results. A bad input value is an error annotation naming the input and
exit code 2, before anything runs. See action.yml for every input.

Credentials a container cannot otherwise use are bridged first: with
AZURE_CLIENT_ID and AZURE_TENANT_ID set and id-token: write, the job's OIDC
token becomes an Azure workload identity token (AZURE_FEDERATED_TOKEN_FILE);
OCI_CLI_USER, _TENANCY, _FINGERPRINT, _KEY_CONTENT and _REGION become an OCI
config file (OCI_CLI_CONFIG_FILE). Both are masked and removed afterwards.`,
		Example: "  INPUT_COMMAND=matrix INPUT_CLOUDS=aws,gcp sindri-packer action",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runAction(cmd.Context())
		},
	}
}

func (c *Command) runAction(ctx context.Context) error {
	if c.redact == nil {
		c.redact = gha.NewRedactor()
	}
	rep := gha.New(c.getenv, c.Stdout)
	plan, err := action.FromEnv(c.getenv)
	var ie *action.InputError
	if errors.As(err, &ie) {
		return inputError(rep, ie.Input, ie.Message)
	}
	if err != nil {
		return toolFailure(err)
	}
	// Everything the Action knows to be secret is masked (the runner's log)
	// and redacted (everything this process writes or sends) before any
	// command runs.
	for _, s := range plan.Secrets {
		rep.Mask(s)
	}
	for _, k := range secretEnv {
		rep.Mask(c.getenv(k))
	}
	for _, w := range plan.Warnings {
		rep.Warning(gha.Annotation{Title: "sindri-packer input " + w.Input, Message: w.Message})
		fmt.Fprintf(c.Stderr, "warning: input %s: %s\n", w.Input, w.Message)
	}
	workspace, dir, err := c.actionDir(rep, plan)
	if err != nil {
		return err
	}
	env, err := c.actionEnv(ctx, rep, plan)
	if err != nil {
		return err
	}
	defer env.cleanup()
	for _, step := range plan.Steps {
		if err := c.actionStep(ctx, rep, plan, step, env.vars, dir, workspace); err != nil {
			return err
		}
	}
	return nil
}

// actionDir checks the working-directory and config inputs and returns
// the workspace and the folder the commands run in. The inputs come from
// whoever wrote the workflow run, in a pull request check the pull
// request: the folder and the config stay inside the workspace, symlinks
// resolved. The process's own folder is not changed: the folder is passed
// down (Command.Dir).
func (c *Command) actionDir(rep *gha.Reporter, plan *action.Plan) (workspace, dir string, err error) {
	workspace = c.getenv("GITHUB_WORKSPACE")
	if workspace != "" {
		if workspace, err = filepath.EvalSymlinks(workspace); err != nil {
			return "", "", toolFailure(fmt.Errorf("action: GITHUB_WORKSPACE: %w", err))
		}
	}
	dir = c.Dir
	if plan.Dir != "" && plan.Dir != "." {
		dir = c.path(plan.Dir)
		if workspace != "" {
			if dir, err = config.Confine(workspace, dir); err != nil {
				return "", "", inputError(rep, "working-directory", err.Error())
			}
		}
		if fi, err := os.Stat(dir); err != nil {
			return "", "", inputError(rep, "working-directory", err.Error())
		} else if !fi.IsDir() {
			return "", "", inputError(rep, "working-directory", dir+" is not a folder")
		}
	}
	if plan.Config != "" {
		in := &Command{Dir: dir}
		if err := checkConfigInput(workspace, in.path(plan.Config)); err != nil {
			return "", "", inputError(rep, "config", err.Error())
		}
	}
	return workspace, dir, nil
}

// actionEnvironment is the environment of the Action's commands: the
// entrypoint's, the plan's additions and the bridged credentials, whose
// files cleanup removes.
type actionEnvironment struct {
	vars    []string
	cleanup func()
}

// actionEnv bridges the credentials a container cannot otherwise use into
// the commands' environment (masked); the process's own environment is
// left as it is: the commands, the targets and Packer get vars.
func (c *Command) actionEnv(ctx context.Context, rep *gha.Reporter, plan *action.Plan) (actionEnvironment, error) {
	env := append(slices.Clone(c.Environ), plan.Env...)
	creds := action.ContainerPaths(c.getenv, func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	})
	credDir, err := os.MkdirTemp("", "sindri-credentials-")
	if err != nil {
		return actionEnvironment{}, toolFailure(err)
	}
	cleanup := func() { os.RemoveAll(credDir) }
	bridged, secrets, err := action.Credentials(ctx, c.getenv, credDir, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		cleanup()
		rep.Error(gha.Annotation{Title: "sindri-packer credentials", Message: err.Error()})
		return actionEnvironment{}, toolFailure(fmt.Errorf("action: %w", err))
	}
	for _, s := range secrets {
		rep.Mask(s)
	}
	return actionEnvironment{vars: append(append(env, creds...), bridged...), cleanup: cleanup}, nil
}

// actionStep runs one command of the plan as a child Command in env and
// dir, and maps its exit code.
func (c *Command) actionStep(ctx context.Context, rep *gha.Reporter, plan *action.Plan, step, env []string, dir, workspace string) error {
	var captured capture
	stdout, stderr := c.Stdout, c.Stderr
	if plan.Comment {
		// The command's own writers redact; the capture for the comment
		// (stdout and stderr: diagnostics go to stderr) is redacted when
		// the comment is sent.
		stdout, stderr = captured.tee(c.Stdout), captured.tee(c.Stderr)
	}
	fmt.Fprintf(c.Stderr, "sindri-packer %s\n", strings.Join(step, " "))
	child := &Command{Stdin: c.Stdin, Stdout: stdout, Stderr: stderr, Environ: env, Dir: dir, Context: ctx, Targets: c.Targets, redact: c.redact, confine: workspace}
	code := child.Main(append([]string{"sindri-packer"}, step...))
	if code == ExitBadInput {
		annotateInputs(rep, plan, child.failure)
	}
	if plan.Comment {
		c.prComment(ctx, rep, &Command{Environ: env, Dir: dir}, plan.Config, captured.String(), code)
	}
	switch code {
	case ExitOK:
		return nil
	case ExitFindings:
		return errFindings
	default:
		return &exitError{code, fmt.Errorf("action: %s exited %d", step[0], code)}
	}
}

// inputError annotates a bad input value and returns the bad-input error.
func inputError(rep *gha.Reporter, input, msg string) error {
	rep.Error(gha.Annotation{Title: "sindri-packer input " + input, Message: msg})
	return badInput("action: input %s: %s", input, msg)
}

// checkConfigInput confines the config input to the workspace and wants a
// regular file there; a missing file is left to the command, which says
// how to create one. Nothing is opened, and no content is echoed.
func checkConfigInput(workspace, path string) error {
	if workspace != "" {
		if _, err := config.Confine(workspace, path); err != nil {
			return err
		}
	}
	if err := config.CheckRegular(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// annotateInputs names the Action input behind a value the command
// refused as bad input: a flag made from an input (--clouds from clouds)
// or a --set override (packer.build.profile from profile, others from
// set). The command has already printed the error itself.
func annotateInputs(rep *gha.Reporter, plan *action.Plan, err error) {
	if err == nil {
		return
	}
	var diags config.Diagnostics
	if !errors.As(err, &diags) {
		if input := plan.InputForFlag(err.Error()); input != "" {
			rep.Error(gha.Annotation{Title: "sindri-packer input " + input, Message: err.Error()})
		}
		return
	}
	for _, d := range diags {
		input := ""
		switch {
		case d.File == "--set" && d.Field != "":
			input = plan.InputForSet(d.Field)
		case d.File == "--set":
			path, _, _ := strings.Cut(strings.Trim(d.Message, `"`), ":")
			path, _, _ = strings.Cut(path, "=")
			if input = plan.InputForSet(path); input == "" {
				input = "set"
			}
		case d.File == plan.Config && d.Line == 0 && d.Field == "":
			input = "config"
		}
		if input != "" {
			msg := d.Message
			if d.Field != "" {
				msg = d.Field + ": " + msg
			}
			rep.Error(gha.Annotation{Title: "sindri-packer input " + input, Message: msg})
		}
	}
}

// prComment upserts the validate results as one pull request comment.
// It never fails the step: a fork's pull request gets a read-only token.
func (c *Command) prComment(ctx context.Context, rep *gha.Reporter, ref *Command, configPath, output string, code int) {
	warn := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintln(c.Stderr, "warning: pr-comment:", msg)
		rep.Warning(gha.Annotation{Title: "sindri-packer pr-comment", Message: msg})
	}
	lookup := ref.getenv
	number, err := gha.PullRequestNumber(lookup("GITHUB_EVENT_PATH"))
	if err != nil {
		warn("%v", err)
		return
	}
	if number == 0 {
		warn("not a pull request event: no comment written")
		return
	}
	cm, err := gha.NewCommenter(lookup("GITHUB_REPOSITORY"), lookup("GITHUB_TOKEN"), lookup("GITHUB_API_URL"), &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		warn("%v", err)
		return
	}
	// The API is beyond the runner's log masking: the body is redacted.
	cm.Redactor = rep.Redactor()
	// The config input is relative to the working directory.
	configPath = ref.annotationPath(ref.path(configPath))
	run := commentRun{config: configPath, commit: gha.PullRequestHeadSHA(lookup("GITHUB_EVENT_PATH")), workspace: lookup("GITHUB_WORKSPACE")}
	if run.commit == "" {
		run.commit = lookup("GITHUB_SHA")
	}
	if server, repo, id := lookup("GITHUB_SERVER_URL"), lookup("GITHUB_REPOSITORY"), lookup("GITHUB_RUN_ID"); server != "" && repo != "" && id != "" {
		run.link = strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + id
	}
	url, err := cm.UpsertMarked(ctx, number, gha.CommentMarkerFor(configPath), validateComment(output, code, run))
	if err != nil {
		warn("%v", err)
		return
	}
	fmt.Fprintln(c.Stderr, "pr-comment:", url)
}

// validateComment is the markdown of the results comment: the verdict and
// validate's own lines (workflow commands left out).
func validateComment(output string, code int, run commentRun) string {
	var lines []string
	if run.workspace != "" {
		// Paths as in the repository, like the annotations.
		output = strings.ReplaceAll(output, strings.TrimRight(run.workspace, "/")+"/", "")
	}
	for _, l := range strings.Split(strings.TrimRight(output, "\n"), "\n") {
		if !strings.HasPrefix(l, "::") {
			lines = append(lines, l)
		}
	}
	verdict := "✅ **sindri-packer validate passed**"
	switch code {
	case ExitOK:
	case ExitFindings:
		verdict = "❌ **sindri-packer validate found problems**"
	default:
		verdict = fmt.Sprintf("⚠️ **sindri-packer validate could not run** (exit %d)", code)
	}
	var about []string
	if run.config != "" {
		about = append(about, "`"+strings.ReplaceAll(run.config, "`", "'")+"`")
	}
	if run.commit != "" {
		about = append(about, "commit "+run.commit)
	}
	if run.link != "" {
		about = append(about, "[run]("+run.link+")")
	}
	if len(about) > 0 {
		verdict += "\n\n" + strings.Join(about, " · ")
	}
	body := strings.ReplaceAll(strings.Join(lines, "\n"), "```", "` ` `")
	return verdict + "\n\n```text\n" + body + "\n```\n"
}

// commentRun is what the comment says about its run: the config path (from
// the repository root), the commit checked (the pull request's head), the
// link to the run, and the workspace path stripped from the output.
type commentRun struct {
	config, commit, link, workspace string
}
