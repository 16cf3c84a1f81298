package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// check is one doctor finding.
type check struct {
	cloud, what, status, detail string
	required                    bool
}

func (c *Command) doctorCmd(g *global) *cobra.Command {
	var timeout time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor [--json]",
		Short: "Check prerequisites per cloud: packer, its plugin, credentials, InSpec, ssh",
		Long: `doctor checks, for every selected cloud, what a build and its image test
need: packer on PATH, the cloud's pinned plugin installed where packer loads it
(PACKER_PLUGIN_PATH, ~/.config/packer/plugins), credentials accepted by the
cloud (one cheap identity call through the SDK's standard chain: environment,
shared config files, OIDC / workload identity), inspec or cinc-auditor and
ssh; for qemu, qemu-system-x86_64, qemu-img and xorriso. It prints which
identity the credentials belong to, never a secret.
With --json, stdout holds {"ok": bool, "checks": [{"cloud", "check", "status",
"detail", "required"}]} (cloud is "" for the shared tools).
Exit codes: 0 ready, 1 something required is missing.`,
		Example: "  sindri-packer doctor\n  sindri-packer doctor --clouds aws,gcp",
		Args:    cobra.NoArgs,
		RunE: c.withConfig(g, false, func(ctx context.Context, cfg *config.Config, clouds []string) error {
			checks, err := c.doctorChecks(ctx, cfg, clouds, timeout)
			if err != nil {
				return err
			}
			return c.doctorReport(checks, asJSON)
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "limit each cloud's credential check")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as one JSON object instead of a table")
	return cmd
}

// doctorChecks runs every check: the shared tools, then per cloud its
// plugin, its prerequisites and (concurrently, each within timeout) its
// credentials.
func (c *Command) doctorChecks(ctx context.Context, cfg *config.Config, clouds []string, timeout time.Duration) ([]check, error) {
	checks := []check{c.toolCheck("", "packer", "packer", toolsHint, true)}
	inspecBin, _ := verify.FindInSpec(c.getenv("PATH"))
	if inspecBin != "" {
		checks = append(checks, check{what: "inspec", status: "ok", detail: inspecBin})
	} else {
		checks = append(checks, check{what: "inspec", status: "missing", detail: "neither inspec nor cinc-auditor on PATH: image tests run only the built-in SSH checks (https://cinc.sh)"})
	}
	checks = append(checks, c.toolCheck("", "ssh", "ssh", "apt-get install openssh-client (connect needs it)", false))
	creds := make([]check, len(clouds))
	var eg errgroup.Group
	for i, name := range clouds {
		t, err := c.target(name)
		if err != nil {
			return nil, badInput("%v", err)
		}
		checks = append(checks, c.pluginCheck(name, t.Plugin()))
		for _, p := range t.Prerequisites() {
			checks = append(checks, c.toolCheck(name, p.Tool, p.Tool, p.Hint, true))
		}
		eg.Go(func() error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			who, err := t.CheckCredentials(ctx, cfg)
			switch {
			case !cloud.Supported(err):
				creds[i] = check{cloud: name, what: "credentials", status: "ok", detail: "none needed"}
			case err != nil:
				detail := err.Error()
				if h := t.CredentialHint(err); h != "" {
					detail += "\nhint: " + h
				}
				creds[i] = check{cloud: name, what: "credentials", status: "failed", detail: detail, required: true}
			default:
				creds[i] = check{cloud: name, what: "credentials", status: "ok", detail: who}
			}
			return nil
		})
	}
	_ = eg.Wait()
	return append(checks, creds...), nil
}

// doctorReport prints the checks (a table, or JSON) and fails when a
// required one did not pass.
func (c *Command) doctorReport(checks []check, asJSON bool) error {
	bad := 0
	for _, ch := range checks {
		if ch.required && ch.status != "ok" {
			bad++
		}
	}
	if asJSON {
		if err := writeJSON(c.Stdout, doctorJSON(checks, bad == 0)); err != nil {
			return toolFailure(err)
		}
	} else {
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLOUD\tCHECK\tSTATUS\tDETAIL")
		for _, ch := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(ch.cloud), ch.what, ch.status, oneLine(ch.detail))
		}
		tw.Flush()
		c.doctorCauses(checks)
	}
	if bad > 0 {
		fmt.Fprintf(c.Stderr, "doctor: %d required check(s) failed\n", bad)
		return errFindings
	}
	return nil
}

// doctorCauses prints, below the table, the whole detail of every check
// that failed and did not fit on its line: the cause chain and the hint.
func (c *Command) doctorCauses(checks []check) {
	for _, ch := range checks {
		if ch.status == "ok" || oneLine(ch.detail) == ch.detail {
			continue
		}
		fmt.Fprintf(c.Stdout, "\n%s %s:\n", dash(ch.cloud), ch.what)
		for _, line := range strings.Split(ch.detail, "\n") {
			fmt.Fprintf(c.Stdout, "  %s\n", line)
		}
	}
}

// checkJSON is one check in doctor --json; detail is whole, not cut to a line.
type checkJSON struct {
	Cloud    string `json:"cloud"`
	Check    string `json:"check"`
	Status   string `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Required bool   `json:"required"`
}

func doctorJSON(checks []check, ok bool) any {
	out := struct {
		OK     bool        `json:"ok"`
		Checks []checkJSON `json:"checks"`
	}{OK: ok, Checks: []checkJSON{}}
	for _, ch := range checks {
		out.Checks = append(out.Checks, checkJSON{Cloud: ch.cloud, Check: ch.what, Status: ch.status, Detail: ch.detail, Required: ch.required})
	}
	return out
}

func (c *Command) toolCheck(cloudName, what, bin, hint string, required bool) check {
	p, err := c.lookTool(bin, hint)
	if err != nil {
		return check{cloud: cloudName, what: what, status: "missing", detail: hint, required: required}
	}
	return check{cloud: cloudName, what: what, status: "ok", detail: p}
}

// pluginCheck looks where packer 1.9 loads installed plugins from.
func (c *Command) pluginCheck(cloudName string, p cloud.Plugin) check {
	typ := p.Source[strings.LastIndex(p.Source, "/")+1:]
	file := fmt.Sprintf("packer-plugin-%s_v%s_x5.0_%s_%s", typ, p.Version, runtime.GOOS, runtime.GOARCH)
	var dirs []string
	if d := c.getenv("PACKER_PLUGIN_PATH"); d != "" {
		dirs = append(dirs, filepath.SplitList(d)...)
	}
	if h := c.getenv("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".config", "packer", "plugins"), filepath.Join(h, ".packer.d", "plugins"))
	}
	for _, d := range dirs {
		bin := filepath.Join(d, filepath.FromSlash(p.Source), file)
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		if _, err := os.Stat(bin + "_SHA256SUM"); err != nil {
			return check{cloud: cloudName, what: "plugin " + p.Name, status: "failed", detail: bin + " has no _SHA256SUM file beside it: packer skips it", required: true}
		}
		return check{cloud: cloudName, what: "plugin " + p.Name, status: "ok", detail: fmt.Sprintf("%s %s", p.Source, p.Version)}
	}
	return check{cloud: cloudName, what: "plugin " + p.Name, status: "missing", required: true,
		detail: fmt.Sprintf("%s %s not installed (tools/install.sh, or packer init)", p.Source, p.Version)}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
