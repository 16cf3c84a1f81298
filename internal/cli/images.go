package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// oneCloud narrows the selection to exactly one cloud for commands that
// act on one thing.
func oneCloud(cmd string, cfg *config.Config, clouds []string) (string, error) {
	if len(clouds) != 1 {
		return "", badInput("%s: acts on one cloud; choose one with --clouds (configured in %s: %s)", cmd, cfg.File, strings.Join(clouds, ", "))
	}
	return clouds[0], nil
}

// imageRow is one image in `images list --json`.
type imageRow struct {
	Cloud         string            `json:"cloud"`
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	Region        string            `json:"region,omitempty"`
	State         string            `json:"state,omitempty"`
	Created       time.Time         `json:"created,omitzero"`
	ConfigHash    string            `json:"config_hash,omitempty"`
	SindriVersion string            `json:"sindri_version,omitempty"`
	Deprecated    time.Time         `json:"deprecated,omitzero"`
	Current       bool              `json:"current"`
	Extra         map[string]string `json:"extra,omitempty"`
}

func (c *Command) imagesCmd(g *global) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images list|delete|deprecate",
		Short: "List, delete or deprecate the images sindri-packer made (found by their tags)",
		Long: `images works on the inventory of images this tool made, found by the
managed-by=sindri-packer tag (GCP: label) in each selected cloud's configured
region. The build cache is the same inventory: an image whose config-hash tag
equals the current config hash is reused by build.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return badInput("images: name a subcommand: list, delete or deprecate (see 'sindri-packer images --help')")
		},
	}
	cmd.AddCommand(c.imagesListCmd(g), c.imagesDeleteCmd(g), c.imagesDeprecateCmd(g))
	return cmd
}

func (c *Command) imagesListCmd(g *global) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List this tool's images, newest first",
		Long: `list prints this tool's images in every selected cloud, as a table or, with
--json, as a JSON array on stdout. When a cloud cannot be listed the command
exits 3 and, with --json, prints nothing on stdout (the errors are on
stderr), so a script never takes a partial list for the whole one.`,
		Example: "  sindri-packer images list\n  sindri-packer images list --clouds aws --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runImagesList(cmd.Context(), g, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table (nothing when listing failed)")
	return cmd
}

func (c *Command) runImagesList(ctx context.Context, g *global, asJSON bool) error {
	cfg, clouds, err := c.load(g)
	if err != nil {
		return err
	}
	rows, failed, err := listEach(c, clouds, func(name string, t cloud.Target) ([]imageRow, error) {
		imgs, err := t.ListImages(ctx, cfg)
		if !cloud.Supported(err) {
			return nil, skip(errors.Unwrap(notAvailable("images list", name, err)))
		}
		if err != nil {
			return nil, errors.New(c.cloudError(name, err))
		}
		return imageRows(name, imgs, ""), nil
	})
	if err != nil {
		return err
	}
	switch {
	case asJSON && len(failed) == 0:
		if err := writeJSONList(c.Stdout, rows); err != nil {
			return toolFailure(err)
		}
	case !asJSON && (len(rows) > 0 || len(failed) == 0):
		writeImageTable(c.Stdout, rows)
	}
	if len(failed) > 0 {
		return toolFailure(fmt.Errorf("images list failed for %s", strings.Join(failed, ", ")))
	}
	return nil
}

func imageRows(name string, imgs []cloud.Image, currentHash string) []imageRow {
	var rows []imageRow
	for _, im := range imgs {
		rows = append(rows, imageRow{
			Cloud: name, ID: im.ID, Name: im.Name, Region: im.Region, State: im.State, Created: im.Created,
			ConfigHash: im.ConfigHash, SindriVersion: im.SindriVersion, Deprecated: im.Deprecated,
			Current: currentHash != "" && im.ConfigHash == currentHash, Extra: im.Extra,
		})
	}
	return rows
}

func writeImageTable(w io.Writer, rows []imageRow) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no images made by sindri-packer")
		return
	}
	col := func(name string) report.Column { return report.Column{Name: name, Dash: true} }
	t := report.NewTable(report.Column{Name: "CLOUD"}, report.Column{Name: "ID"}, col("NAME"), col("REGION"), col("STATE"),
		col("CREATED"), col("SINDRI"), col("CONFIG HASH"), col("DEPRECATED"))
	for _, r := range rows {
		t.Row(r.Cloud, r.ID, r.Name, r.Region, r.State, when(r.Created), r.SindriVersion, short12(r.ConfigHash), when(r.Deprecated))
	}
	_ = t.Text(w)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func (c *Command) imagesDeleteCmd(g *global) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ID... [--yes]",
		Short: "Delete images (AWS: deregister and delete snapshots; Azure: managed image or gallery version)",
		Long: `delete removes the named images of the one selected cloud. Only images
this tool made (managed-by tag) are deleted; any other ID is refused. It asks
for confirmation unless --yes is given.`,
		Example: "  sindri-packer images delete --clouds aws ami-0123456789abcdef0 --yes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			cfg, name, im, err := c.oneTarget(g, "images delete")
			if err != nil {
				return err
			}
			imgs, err := c.ownImages(cmd.Context(), cfg, "images delete", name, im, ids)
			if err != nil {
				return err
			}
			if err := c.confirmed(yes, "images delete", fmt.Sprintf("delete %d image(s) in %s: %s?", len(ids), name, strings.Join(ids, ", "))); err != nil {
				return err
			}
			for _, img := range imgs {
				if err := im.DeleteImage(cmd.Context(), cfg, img.ID); err != nil {
					return toolFailure(fmt.Errorf("images delete %s: %w", img.ID, err))
				}
				fmt.Fprintf(c.Stdout, "deleted %s %s\n", name, img.ID)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (c *Command) imagesDeprecateCmd(g *global) *cobra.Command {
	var replacement string
	var at string
	cmd := &cobra.Command{
		Use:   "deprecate ID... [--replacement ID] [--at TIME]",
		Short: "Deprecate images (native where the cloud has it, a sindri-deprecated tag elsewhere)",
		Long: `deprecate marks images retired: AWS image deprecation time, GCP deprecation
status (with --replacement), Azure gallery end-of-life and exclude-from-latest,
a sindri-deprecated tag on OCI, Alibaba and plain Azure managed images.`,
		Example: "  sindri-packer images deprecate --clouds gcp sindri-20260101 --replacement sindri-20260201",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			d := cloud.Deprecation{Replacement: replacement}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return badInput("images deprecate: --at: want an RFC 3339 time like 2026-12-31T00:00:00Z, got %q", at)
				}
				d.At = t
			}
			cfg, name, im, err := c.oneTarget(g, "images deprecate")
			if err != nil {
				return err
			}
			imgs, err := c.ownImages(cmd.Context(), cfg, "images deprecate", name, im, ids)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				if err := im.DeprecateImage(cmd.Context(), cfg, img.ID, d); err != nil {
					return toolFailure(fmt.Errorf("images deprecate %s: %w", img.ID, err))
				}
				fmt.Fprintf(c.Stdout, "deprecated %s %s\n", name, img.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&replacement, "replacement", "", "the image that replaces them (GCP records it)")
	cmd.Flags().StringVar(&at, "at", "", "when they count as deprecated, RFC 3339 (default: now)")
	return cmd
}

// ownImages finds every ID among this tool's images first, so nothing is
// changed when one of them is missing or not ours.
func (c *Command) ownImages(ctx context.Context, cfg *config.Config, what, name string, im cloud.Images, ids []string) ([]cloud.Image, error) {
	all, err := im.ListImages(ctx, cfg)
	if !cloud.Supported(err) {
		return nil, notAvailable(what, name, err)
	}
	if err != nil {
		return nil, toolFailure(fmt.Errorf("%s: list images: %w", name, c.hinted(name, err)))
	}
	var out []cloud.Image
	for _, id := range ids {
		i := slices.IndexFunc(all, func(img cloud.Image) bool { return img.ID == id })
		if i < 0 {
			return nil, badInput("%s: image %s is not among the images sindri-packer made in %s (nothing was changed)", name, id, c.regionOf(cfg, name))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func (c *Command) regionOf(cfg *config.Config, name string) string {
	if t, err := c.target(name); err == nil {
		if _, regions := t.Regions(cfg); len(regions) > 0 {
			return regions[0]
		}
	}
	return name
}

// cloudError prefixes an error with the cloud's name unless the cloud's
// package did already, and adds the target's sign-in hint when the error
// is a credential failure.
func (c *Command) cloudError(name string, err error) string {
	msg := c.hinted(name, err).Error()
	if !strings.HasPrefix(msg, name+":") && !strings.HasPrefix(msg, name+" ") {
		msg = name + ": " + msg
	}
	return msg
}

// hinted adds the target's sign-in hint to err when err is a credential
// failure (cloud.Settings.CredentialHint); any other error is returned as
// it is.
func (c *Command) hinted(name string, err error) error {
	if err == nil {
		return nil
	}
	if t, terr := c.target(name); terr == nil {
		if h := t.CredentialHint(err); h != "" {
			return fmt.Errorf("%w\n  hint: %s", err, h)
		}
	}
	return err
}

// confirmed is nil when --yes was given (yes) or the user answers yes to
// question; else the bad input saying the command (what) was not confirmed.
func (c *Command) confirmed(yes bool, what, question string) error {
	if yes || c.confirm(question) {
		return nil
	}
	return badInput("%s: not confirmed (answer yes, or pass --yes)", what)
}

// confirm asks on stderr and reads one answer line from stdin.
func (c *Command) confirm(question string) bool {
	fmt.Fprintf(c.Stderr, "%s [y/N] ", question)
	var answer string
	if c.Stdin != nil {
		fmt.Fscanln(c.Stdin, &answer)
	}
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}
