package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/release"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/validate"
)

const toolsHint = "run tools/install.sh, then source tools/env.sh"

func (c *Command) initCmd() *cobra.Command {
	var cloud, out, provider string
	var force bool
	cmd := &cobra.Command{
		Use:   "init --cloud CLOUD [-o FILE] [--force]",
		Short: "Write a documented sindri.yaml for one cloud",
		Long: `init writes a sindri.yaml for the chosen cloud, with every setting
explained inline and linked to the cloud's own documentation.
Clouds: ` + strings.Join(config.Clouds, ", ") + `. It refuses to overwrite an
existing file unless --force is given.`,
		Example: "  sindri-packer init --cloud aws\n  sindri-packer init --cloud qemu -o local.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provider != "" && provider != "packer" {
				return badInput("init: --provider %s: sindri-packer builds VM images with Packer only, so --provider is packer or left out; "+
					"for a %s environment use upstream Sindri: sindri init --provider %s", provider, provider, provider)
			}
			if cloud == "" {
				return badInput("init: --cloud is required (one of %s)", strings.Join(config.Clouds, ", "))
			}
			data, err := config.Template(cloud)
			if err != nil {
				return badInput("init: --cloud: %v", err)
			}
			if err := writeNew("init", c.path(out), out, "", data, force); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "wrote %s for cloud %s\n", out, cloud)
			return nil
		},
	}
	cmd.Flags().StringVar(&cloud, "cloud", "", "target: "+strings.Join(config.Clouds, ", "))
	cmd.Flags().StringVarP(&out, "output", "o", "sindri.yaml", "file to write")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	cmd.Flags().StringVar(&provider, "provider", "", "packer, the only one (accepted for the seed's sindri init --provider packer)")
	return cmd
}

func (c *Command) renderCmd(g *global) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render [--out DIR]",
		Short: "Write the Packer templates and provisioning scripts",
		Long: `render writes DIR/<cloud>/sindri.pkr.hcl for every selected cloud and
DIR/scripts/*.sh. The same configuration always renders the same bytes.
A sindri_version of "latest" is first resolved to a concrete release through
the GitHub releases API (GITHUB_TOKEN and GITHUB_API_URL are honoured;
SINDRI_LATEST_VERSION answers without the network).`,
		Example: "  sindri-packer render --out packer\n  sindri-packer render --clouds aws,gcp --set packer.build.sindri_version=3.0.1",
		Args:    cobra.NoArgs,
		RunE: c.withConfig(g, false, func(ctx context.Context, cfg *config.Config, clouds []string) error {
			v, err := c.sindriVersion(ctx, cfg)
			if err != nil {
				return err
			}
			files, err := render.Render(cfg, clouds, render.Options{SindriVersion: v})
			if err != nil {
				return toolFailure(err)
			}
			if err := render.Write(c.path(out), files); err != nil {
				return toolFailure(fmt.Errorf("render: %w", err))
			}
			for _, f := range files {
				fmt.Fprintln(c.Stdout, filepath.Join(out, f.Path))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "packer", "output folder")
	return cmd
}

// sindriVersion resolves packer.build.sindri_version; when "latest" cannot
// be resolved (offline, rate-limited) the error says which field to set,
// where in the configuration, and the ways around the network.
func (c *Command) sindriVersion(ctx context.Context, cfg *config.Config) (string, error) {
	v, err := c.resolver().Resolve(ctx, cfg.Packer.Build.SindriVersion)
	if err == nil {
		return v, nil
	}
	field, where := "packer.build.sindri_version", cfg.File
	if pos, ok := cfg.PositionOf(&cfg.Packer.Build.SindriVersion); ok {
		if pos.Set && pos.Field != "" {
			field = pos.Field
		}
		if pos.Line > 0 {
			where = fmt.Sprintf("%s:%d", pos.File, pos.Line)
		}
	}
	return "", toolFailure(fmt.Errorf("sindri_version %q needs the network to find the newest Sindri release: set %s to a release (e.g. 3.0.1) in %s, or pass --set %s=3.0.1, or set SINDRI_LATEST_VERSION: %w",
		cfg.Packer.Build.SindriVersion, field, where, field, err))
}

func (c *Command) resolver() release.Resolver {
	return release.Resolver{
		Override: c.getenv("SINDRI_LATEST_VERSION"),
		APIURL:   c.getenv("GITHUB_API_URL"),
		Token:    c.getenv("GITHUB_TOKEN"),
	}
}

func (c *Command) validateCmd(g *global) *cobra.Command {
	var syntaxOnly, asJSON bool
	var out string
	var parallel int
	var noCache bool
	cmd := &cobra.Command{
		Use:   "validate [--syntax-only] [--out DIR] [--json]",
		Short: "Check templates, scripts and workflows without building (no credentials needed)",
		Long: `validate renders the selected clouds' templates and checks them with real
tools: HCL parsing, packer fmt -check, packer validate (full builder checks,
offline, with clearly fake credentials in an isolated environment), shellcheck
on the provisioning scripts, and actionlint on the workflows that use this
Action or its reusable workflows: in .github/workflows/ of the repository
root (GITHUB_WORKSPACE in Actions, else beside the configuration file) and
workflows/ beside the configuration file. shellcheck's info and style
advice in a run: script is a notice, not a finding.

Unset or empty ${VAR}s (an Actions input nobody gave is empty) of fields
that name a cloud project, subscription, compartment or subnet take clearly
fake placeholders of the field's form, with a notice: a pull request check
needs no cloud values.

Findings print as FILE:LINE:COL: message and, inside GitHub Actions, as
error annotations. Exit code 1 when there are findings. With --json, stdout
holds one JSON object, {"ok": bool, "clouds": [...], "findings": [{"file",
"line", "col", "tool", "message", "level"}]} (level error, or notice for
information that is not a problem), and everything else goes to stderr; on
exit code 2 or 3 stdout holds no JSON.

Needs packer (with the pinned plugins in PACKER_PLUGIN_PATH) and shellcheck
on PATH: ` + toolsHint + `.`,
		Example: "  sindri-packer validate\n  sindri-packer validate --clouds aws,gcp --syntax-only",
		Args:    cobra.NoArgs,
		RunE: c.withConfig(g, true, func(ctx context.Context, cfg *config.Config, clouds []string) error {
			packerBin, err := c.lookTool("packer", toolsHint)
			if err != nil {
				return err
			}
			shellcheck, err := c.lookTool("shellcheck", "apt-get install shellcheck")
			if err != nil {
				return err
			}
			base := filepath.Dir(cfg.File)
			ts, err := c.targetsOf(clouds)
			if err != nil {
				return err
			}
			findings, err := validate.Run(ctx, validate.Options{
				Config:       cfg,
				Clouds:       clouds,
				Targets:      ts,
				SyntaxOnly:   syntaxOnly,
				OutDir:       c.path(out),
				Packer:       packerBin,
				Shellcheck:   shellcheck,
				HostEnv:      c.Environ,
				WorkflowDirs: c.workflowDirs(base),
				Parallel:     parallel,
				CacheDir:     c.cacheDir(noCache),
			})
			if err != nil {
				return toolFailure(fmt.Errorf("validate: %w", err))
			}
			return c.reportFindings(clouds, findings, asJSON)
		}),
	}
	cmd.Flags().BoolVar(&syntaxOnly, "syntax-only", false, "only check syntax (packer validate -syntax-only)")
	cmd.Flags().StringVar(&out, "out", "", "keep the rendered files in this folder (default: a temporary folder)")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "concurrent packer runs (default: one per cloud)")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "rerun packer fmt and shellcheck even on files they already passed")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON object on stdout (text goes to stderr)")
	return cmd
}

// reportFindings prints validate's findings (with --json, the JSON on
// stdout and the text on stderr), annotates them and writes the job
// summary; findings that are problems exit 1.
func (c *Command) reportFindings(clouds []string, findings []validate.Finding, asJSON bool) error {
	text := c.Stdout
	if asJSON {
		text = c.Stderr
		if err := writeJSON(c.Stdout, validateJSON(clouds, findings)); err != nil {
			return toolFailure(err)
		}
	}
	rep := gha.New(c.getenv, text)
	problems := 0
	for _, f := range findings {
		fmt.Fprintln(text, f)
		// Annotation paths from the repository root, where GitHub
		// places them (working-directory may differ).
		at := gha.Annotation{File: c.annotationPath(f.File), Line: f.Line, Col: f.Col, Title: f.Tool, Message: f.Message}
		if f.IsNotice() {
			rep.Notice(at)
			continue
		}
		problems++
		rep.Error(at)
	}
	if err := rep.AddSummary(validate.Summary(clouds, findings, c.annotationPath)); err != nil {
		return toolFailure(err)
	}
	if problems > 0 {
		fmt.Fprintf(c.Stderr, "validate: %d finding(s) in %s\n", problems, strings.Join(clouds, ", "))
		return errFindings
	}
	fmt.Fprintf(text, "validate: ok (%s)\n", strings.Join(clouds, ", "))
	return nil
}

// findingJSON is one finding in validate --json.
type findingJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Tool    string `json:"tool"`
	Message string `json:"message"`
	Level   string `json:"level"` // error, or notice (information, not a problem)
}

func validateJSON(clouds []string, findings []validate.Finding) any {
	out := struct {
		OK       bool          `json:"ok"`
		Clouds   []string      `json:"clouds"`
		Findings []findingJSON `json:"findings"`
	}{OK: true, Clouds: clouds, Findings: []findingJSON{}}
	for _, f := range findings {
		level := "error"
		if f.IsNotice() {
			level = validate.LevelNotice
		} else {
			out.OK = false
		}
		out.Findings = append(out.Findings, findingJSON{File: f.File, Line: f.Line, Col: f.Col, Tool: f.Tool, Message: f.Message, Level: level})
	}
	return out
}

// writeJSON prints one indented JSON value and a newline.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(data))
	return err
}

// writeJSONList prints rows as one indented JSON array: [] when there are
// none, never null, so a script can always range over it.
func writeJSONList[R any](w io.Writer, rows []R) error {
	if rows == nil {
		rows = []R{}
	}
	return writeJSON(w, rows)
}

// cacheDir is the user's cache folder ($XDG_CACHE_HOME or ~/.cache), or ""
// when disabled or unknown.
func (c *Command) cacheDir(disabled bool) string {
	if disabled {
		return ""
	}
	if d := c.getenv("XDG_CACHE_HOME"); d != "" {
		return d
	}
	if h := c.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache")
	}
	return ""
}

func (c *Command) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of sindri.yaml (for editors)",
		Long: `schema prints the JSON Schema (draft 2020-12) of sindri.yaml. Point your
editor's YAML language server at it, e.g. with a first line
  # yaml-language-server: $schema=sindri.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.Stdout.Write(config.Schema())
			return err
		},
	}
}
