package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

func (c *Command) migrateCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "migrate [-o FILE] [--force] FILE",
		Short: "Convert upstream Sindri's sindri.yaml (providers: packer:) to this tool's form",
		Long: `migrate reads a sindri.yaml written for upstream Sindri's packer provider
(sindri vm; deployment: provider: packer, extensions:, providers: packer:
with a block per cloud) and writes the same settings in sindri-packer's form
(provider: packer, packer: cloud: with that cloud's fields, packer.build).
Every field that moved, changed or was dropped is listed on stderr. Where
upstream's defaults differ (cis_hardening, GCP secure boot) they are written
out, so the image stays the same. The new file is then loaded and checked.

By default the file is converted in place and the original is kept beside it
as FILE.upstream; -o writes elsewhere (- for stdout). Existing files are not
overwritten without --force.
Exit codes: 0 converted (or nothing to convert), 1 the new file has problems
to fix (listed), 2 bad input (nothing written).`,
		Example: "  sindri-packer migrate sindri.yaml\n  sindri-packer migrate -o sindri-packer.yaml sindri.yaml\n  sindri-packer migrate -o - sindri.yaml | less",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runMigrate(args[0], out, force)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write, - for stdout (default: FILE itself, the original kept as FILE.upstream)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing output (or FILE.upstream)")
	return cmd
}

func (c *Command) runMigrate(in, out string, force bool) error {
	data, err := readLimited(in)
	if err != nil {
		return badInput("migrate: %v", err)
	}
	res, changes, err := config.Migrate(in, data)
	switch {
	case errors.Is(err, config.ErrNotUpstream):
		fmt.Fprintf(c.Stderr, "migrate: %s is not in upstream Sindri's form (no providers: packer: or deployment: provider: packer); nothing to convert\n", in)
		return nil
	case err != nil:
		var diags config.Diagnostics
		if errors.As(err, &diags) {
			return err
		}
		return toolFailure(err)
	}
	for _, ch := range changes {
		fmt.Fprintln(c.Stderr, "migrate:", ch)
	}
	target := out
	switch out {
	case "-":
		if _, err := c.Stdout.Write(res); err != nil {
			return toolFailure(fmt.Errorf("migrate: %w", err))
		}
		target = in
	case "", in:
		backup := in + ".upstream"
		if err := writeNew("migrate", backup, backup, ", or -o another file", data, force); err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if fi, err := os.Stat(in); err == nil {
			perm = fi.Mode().Perm()
		}
		if err := atomicfile.Write(in, res, perm); err != nil {
			return toolFailure(fmt.Errorf("migrate: %w", err))
		}
		target = in
		fmt.Fprintf(c.Stderr, "migrate: wrote %s (the original is kept as %s)\n", in, backup)
	default:
		if err := writeNew("migrate", out, out, ", or -o another file", res, force); err != nil {
			return err
		}
		fmt.Fprintf(c.Stderr, "migrate: wrote %s\n", out)
	}
	// Check the result as every command will read it. Variables that are
	// not set here may well be where it runs.
	_, err = config.Parse(target, res, config.Options{Getenv: c.lookupEnv, Warn: c.configWarning, Credentials: secretEnv})
	var diags, left config.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			if strings.Contains(d.Message, "is not set (referenced as") {
				fmt.Fprintf(c.Stderr, "migrate: note: %s\n", d)
				continue
			}
			left = append(left, d)
		}
	} else if err != nil {
		return toolFailure(err)
	}
	if len(left) > 0 {
		fmt.Fprintln(c.Stderr, "migrate: the new file needs these fixed:")
		for _, d := range left {
			fmt.Fprintln(c.Stderr, " ", d)
		}
		return errFindings
	}
	return nil
}

// readLimited reads a configuration file, refusing what cannot be one.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > config.MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes; this is not a sindri.yaml", path, config.MaxFileSize)
	}
	return data, nil
}

// writeNew writes a file that must not exist yet, unless force; what is
// the command, shown the path as the user gave it, hint another way out.
func writeNew(what, path, shown, hint string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return badInput("%s: %s already exists; use --force to overwrite it%s", what, shown, hint)
	}
	if err != nil {
		return badInput("%s: %v", what, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return toolFailure(fmt.Errorf("%s: write %s: %w", what, shown, err))
	}
	if err := f.Close(); err != nil {
		return toolFailure(fmt.Errorf("%s: write %s: %w", what, shown, err))
	}
	return nil
}
