package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// testCmdFlags are the test command's own flags.
type testCmdFlags struct {
	cloud, image, keepDir, version string
	keep                           bool
	timeout                        time.Duration
	tests                          testFlags
}

func (c *Command) testCmd(g *global) *cobra.Command {
	f := &testCmdFlags{}
	cmd := &cobra.Command{
		Use:   "test --cloud CLOUD --image ID [--keep] [--timeout D]",
		Short: "Test an image on a temporary instance: SSH checks and InSpec, then teardown",
		Long: `test boots a temporary instance from an image with a one-off ed25519 key
injected by cloud-init, waits for SSH (with backoff, up to --boot-timeout),
runs built-in checks over SSH (cloud-init finished, sindri --version matches,
sshd's effective settings, and every setting file the provisioning scripts
wrote compared with what the running system uses) and then the InSpec profile
with inspec or cinc-auditor when one is installed.

The Sindri version to expect is --sindri-version, else the one the image
records (its sindri-version tag; for qemu, image.json in the local store),
else a concrete build.sindri_version. It is never looked up on the network:
an image without a record and "latest" in sindri.yaml need --sindri-version. The instance, its disk and
the key are removed afterwards: on success, failure, timeout and Ctrl-C.
With --keep the instance stays up and the command prints how to connect.

The image is what build reported: for qemu the path of a .qcow2.
Exit codes: 0 passed, 1 failed, 2 bad input, 3 the test could not run.`,
		Example: "  sindri-packer test --cloud qemu --image .cache/images/<hash>/image.qcow2\n  sindri-packer test --cloud qemu --image my.qcow2 --keep",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runTest(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cloud, "cloud", "", "the image's cloud")
	fl.StringVar(&f.image, "image", "", "the image to test (qemu: a .qcow2 path)")
	fl.BoolVar(&f.keep, "keep", false, "leave the instance running and print how to connect")
	fl.StringVar(&f.keepDir, "keep-dir", "", "where --keep puts the instance's key (default .sindri-test/<run>)")
	fl.DurationVar(&f.timeout, "timeout", 45*time.Minute, "limit the whole test")
	fl.StringVar(&f.version, "sindri-version", "", "the Sindri release the image holds (default: the image's record, else a concrete build.sindri_version)")
	f.tests.register(fl)
	return cmd
}

// runTest is flags → the image test the build's test stage runs (the same
// options, from pipeline.TestStage.Options) → report.
func (c *Command) runTest(ctx context.Context, g *global, f *testCmdFlags) error {
	if f.cloud == "" || f.image == "" {
		return badInput("test: --cloud and --image are required")
	}
	if err := f.tests.check(); err != nil {
		return err
	}
	g.clouds = f.cloud
	cfg, clouds, err := c.load(g)
	if err != nil {
		return err
	}
	t, err := c.target(clouds[0])
	if err != nil {
		return badInput("test: %v", err)
	}
	if err := launchNeeds(cfg, clouds); err != nil {
		return err
	}
	sindriVersion, from, err := testSindriVersion(ctx, t, cfg, f.image, f.version)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "testing for Sindri %s (%s)\n", sindriVersion, from)
	work, err := os.MkdirTemp("", "sindri-test-")
	if err != nil {
		return toolFailure(err)
	}
	if !f.keep {
		defer os.RemoveAll(work)
	}
	runID := c.defaultRunID()
	stage, err := c.testStage(work, &f.tests)
	if err != nil {
		return err
	}
	opts := stage.Options(cfg, t, f.image, runID, sindriVersion, work, c.Stderr)
	opts.Keep, opts.KeepDir = f.keep, f.keepDir
	if f.keep && opts.KeepDir == "" {
		opts.KeepDir = filepath.Join(".sindri-test", runID)
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	rep, err := runImageTest(ctx, opts)
	switch {
	case !cloud.Supported(err):
		return toolFailure(fmt.Errorf("test: temporary instances for %s are not available yet", f.cloud))
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(c.Stderr, "test interrupted; the test instance was destroyed")
		return errFindings
	case err != nil:
		return toolFailure(err)
	}
	return c.reportTest(f, rep, work)
}

// reportTest prints the test's table and sets the step's test-result,
// summary and annotations.
func (c *Command) reportTest(f *testCmdFlags, rep *verify.Report, work string) error {
	gh := gha.New(c.getenv, c.Stdout)
	md := rep.Markdown(f.cloud)
	if f.keep {
		md += fmt.Sprintf("\nThe kept instance's disk and console log are in %s; remove the folder after stopping it.\n", work)
	}
	fmt.Fprint(c.Stdout, md)
	annotateTest(gh, f.cloud, rep)
	if err := gh.SetOutput("test-result", rep.Status); err != nil {
		return toolFailure(err)
	}
	if err := gh.AddSummary(md); err != nil {
		return toolFailure(err)
	}
	if rep.Failed() {
		return errFindings
	}
	return nil
}

// runImageTest runs the test command's image test; tests substitute it
// (never in parallel tests) to see what the command asks for.
var runImageTest = verify.Test

// testSindriVersion is the Sindri release an image test expects, and where
// it came from: the flag, else the image's own record, else a concrete
// build.sindri_version. Never the network: "latest" would name whatever
// was released since the image was built, and fails offline.
func testSindriVersion(ctx context.Context, t cloud.Target, cfg *config.Config, image, flag string) (version, from string, err error) {
	if flag != "" {
		v := strings.TrimPrefix(flag, "v")
		if !concreteVersion.MatchString(v) {
			return "", "", badInput("test: --sindri-version: want a release like 3.0.1, got %q", flag)
		}
		return v, "--sindri-version", nil
	}
	img, err := t.GetImage(ctx, cfg, image)
	switch {
	case err == nil && img.SindriVersion != "":
		return strings.TrimPrefix(img.SindriVersion, "v"), "recorded on the image", nil
	case err != nil && cloud.Supported(err) && !errors.Is(err, cloud.ErrNotFound):
		return "", "", toolFailure(fmt.Errorf("test: read the image's Sindri version: %w", err))
	}
	if v := strings.TrimPrefix(cfg.Packer.Build.SindriVersion, "v"); concreteVersion.MatchString(v) {
		return v, "build.sindri_version in " + cfg.File, nil
	}
	return "", "", badInput("test: the Sindri version of %s is unknown: the image records none and build.sindri_version in %s is %q; pass --sindri-version (test never looks releases up)",
		image, cfg.File, cfg.Packer.Build.SindriVersion)
}

// concreteVersion is a release number, not "latest".
var concreteVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)
