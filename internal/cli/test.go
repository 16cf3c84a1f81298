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

func (c *Command) testCmd(g *global) *cobra.Command {
	var cloudName, image, keepDir, versionFlag string
	var keep bool
	var timeout time.Duration
	tf := &testFlags{}
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
			if cloudName == "" || image == "" {
				return badInput("test: --cloud and --image are required")
			}
			if err := tf.check(); err != nil {
				return err
			}
			g.clouds = cloudName
			cfg, clouds, err := c.load(g)
			if err != nil {
				return err
			}
			b, err := c.builder(clouds[0])
			if err != nil {
				return badInput("test: %v", err)
			}
			launcher, ok := b.(cloud.InstanceLauncher)
			if !ok {
				return toolFailure(fmt.Errorf("test: temporary instances for %s are not available yet", cloudName))
			}
			sindriVersion, from, err := testSindriVersion(cmd.Context(), b, cfg, image, versionFlag)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Stderr, "testing for Sindri %s (%s)\n", sindriVersion, from)
			work, err := os.MkdirTemp("", "sindri-test-")
			if err != nil {
				return toolFailure(err)
			}
			if !keep {
				defer os.RemoveAll(work)
			}
			runID := c.defaultRunID()
			stage, err := c.testStage(work, tf)
			if err != nil {
				return err
			}
			if keep && keepDir == "" {
				keepDir = filepath.Join(".sindri-test", runID)
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			rep, err := runImageTest(ctx, verify.TestOptions{
				Launcher: launcher,
				Config:   cfg,
				ImageID:  image,
				RunID:    runID,
				Inputs:   verify.InputsFor(cfg, sindriVersion, b.SSHUser(cfg)),
				InSpec:   stage.InSpec, RequireInSpec: stage.RequireInSpec, ProfileDir: stage.ProfileDir,
				Env: c.Environ, WorkDir: work, Keep: keep, KeepDir: keepDir,
				BootTimeout: tf.bootTimeout, AllowSSHFrom: tf.sshFrom, Log: c.Stderr,
			})
			if err != nil {
				if ctx.Err() != nil {
					fmt.Fprintln(c.Stderr, "test interrupted; the test instance was destroyed")
					return errFindings
				}
				return toolFailure(err)
			}
			rep2 := gha.New(c.getenv, c.Stdout)
			md := rep.Markdown(cloudName)
			if keep {
				md += fmt.Sprintf("\nThe kept instance's disk and console log are in %s; remove the folder after stopping it.\n", work)
			}
			fmt.Fprint(c.Stdout, md)
			annotateTest(rep2, cloudName, rep)
			if err := rep2.SetOutput("test-result", rep.Status); err != nil {
				return toolFailure(err)
			}
			if err := rep2.AddSummary(md); err != nil {
				return toolFailure(err)
			}
			if rep.Failed() {
				return errFindings
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cloudName, "cloud", "", "the image's cloud")
	fl.StringVar(&image, "image", "", "the image to test (qemu: a .qcow2 path)")
	fl.BoolVar(&keep, "keep", false, "leave the instance running and print how to connect")
	fl.StringVar(&keepDir, "keep-dir", "", "where --keep puts the instance's key (default .sindri-test/<run>)")
	fl.DurationVar(&timeout, "timeout", 45*time.Minute, "limit the whole test")
	fl.StringVar(&versionFlag, "sindri-version", "", "the Sindri release the image holds (default: the image's record, else a concrete build.sindri_version)")
	tf.register(fl)
	return cmd
}

// runImageTest runs the test command's image test; tests substitute it
// (never in parallel tests) to see what the command asks for.
var runImageTest = verify.Test

// testSindriVersion is the Sindri release an image test expects, and where
// it came from: the flag, else the image's own record, else a concrete
// build.sindri_version. Never the network: "latest" would name whatever
// was released since the image was built, and fails offline.
func testSindriVersion(ctx context.Context, b cloud.Builder, cfg *config.Config, image, flag string) (version, from string, err error) {
	if flag != "" {
		v := strings.TrimPrefix(flag, "v")
		if !concreteVersion.MatchString(v) {
			return "", "", badInput("test: --sindri-version: want a release like 3.0.1, got %q", flag)
		}
		return v, "--sindri-version", nil
	}
	if im, ok := b.(cloud.ImageManager); ok {
		img, err := im.GetImage(ctx, cfg, image)
		switch {
		case err == nil && img.SindriVersion != "":
			return strings.TrimPrefix(img.SindriVersion, "v"), "recorded on the image", nil
		case err != nil && !errors.Is(err, cloud.ErrNotFound):
			return "", "", toolFailure(fmt.Errorf("test: read the image's Sindri version: %w", err))
		}
	}
	if v := strings.TrimPrefix(cfg.Packer.Build.SindriVersion, "v"); concreteVersion.MatchString(v) {
		return v, "build.sindri_version in " + cfg.File, nil
	}
	return "", "", badInput("test: the Sindri version of %s is unknown: the image records none and build.sindri_version in %s is %q; pass --sindri-version (test never looks releases up)",
		image, cfg.File, cfg.Packer.Build.SindriVersion)
}

// concreteVersion is a release number, not "latest".
var concreteVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)
