package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

func (c *Command) testCmd(g *global) *cobra.Command {
	var cloudName, image, keepDir string
	var keep bool
	var timeout time.Duration
	tf := &testFlags{}
	cmd := &cobra.Command{
		Use:   "test --cloud CLOUD --image ID [--keep] [--timeout D]",
		Short: "Test an image on a temporary instance: SSH checks and InSpec, then teardown",
		Long: `test boots a temporary instance from an image with a one-off ed25519 key
injected by cloud-init, waits for SSH (with backoff, up to --boot-timeout),
runs built-in checks over SSH (cloud-init finished, sindri --version matches
build.sindri_version, sshd's effective settings) and then the InSpec profile
with inspec or cinc-auditor when one is installed. The instance, its disk and
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
			sindriVersion, err := c.resolver().Resolve(cmd.Context(), cfg.Packer.Build.SindriVersion)
			if err != nil {
				return toolFailure(err)
			}
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
			bld := &cfg.Packer.Build
			rep, err := verify.Test(ctx, verify.TestOptions{
				Launcher: launcher,
				Config:   cfg,
				ImageID:  image,
				RunID:    runID,
				Inputs: verify.Inputs{
					SindriVersion: sindriVersion, Profile: bld.Profile, Extensions: bld.Extensions,
					CISHardening: bld.Security.CISHardening, SSHUser: b.SSHUser(cfg),
				},
				InSpec: stage.InSpec, RequireInSpec: stage.RequireInSpec, ProfileDir: stage.ProfileDir,
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
	tf.register(fl)
	return cmd
}
