package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/report"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

// The deploy lifecycle, the seed's `sindri deploy` flow: one long-lived
// instance per configuration name and cloud, found again by its
// sindri-deployment tag, so there is no local state file to lose.

type deployFlags struct {
	build     buildFlags
	image     string
	buildOnly bool
	sshKey    string
	sshPub    string
	// The seed's image management forms of deploy (redirect.go).
	listImages  bool
	deleteImage string
}

func (c *Command) deployCmd(g *global) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "deploy [--image ID] [--rebuild] [--build-only] [--ssh-key FILE | --ssh-public-key KEY]",
		Short: "Launch a VM from the image: the cached one for this config, built first if missing",
		Long: `deploy launches one long-lived instance of this configuration (named by its
name: field, tagged sindri-deployment=<name>) in the one selected cloud.

The image is --image, else the cloud's image_id in sindri.yaml, else the image
carrying the current config hash; when there is none it is built (and tested)
first, exactly as build does. --rebuild builds a fresh image even when one is
cached; --build-only stops after the build.

The instance takes your SSH public key (--ssh-key FILE, default
~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub, or the key itself with
--ssh-public-key) for the login user of the image; --ssh-from limits port 22
to a CIDR. When the deployment
already exists, deploy reports it and changes nothing: use start, connect or
destroy. Inside GitHub Actions the outputs instance-id and instance-address are
set.`,
		Example: "  sindri-packer deploy\n  sindri-packer deploy --clouds azure   # one cloud of a multi-cloud sindri.yaml\n  sindri-packer deploy --image ami-0123456789abcdef0\n  sindri-packer deploy --build-only",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.listImages || f.deleteImage != "" {
				return c.seedDeployForms(cmd.Context(), g, f)
			}
			return c.runDeploy(cmd.Context(), g, f)
		},
	}
	f.build.register(cmd.Flags())
	cmd.Flags().StringVar(&f.image, "image", "", "deploy this image instead of the config's cached image")
	cmd.Flags().BoolVar(&f.buildOnly, "build-only", false, "build (or find) the image, do not launch anything")
	cmd.Flags().StringVar(&f.sshKey, "ssh-key", "", "file of the public key the instance accepts (default ~/.ssh/id_ed25519.pub, then ~/.ssh/id_rsa.pub)")
	cmd.Flags().StringVar(&f.sshPub, "ssh-public-key", "", "the public key itself, e.g. \"ssh-ed25519 AAAA... me@laptop\" (instead of --ssh-key)")
	cmd.Flags().BoolVar(&f.listImages, "list-images", false, "the seed's form of 'sindri-packer images list' (runs it)")
	cmd.Flags().StringVar(&f.deleteImage, "delete-image", "", "the seed's form of 'sindri-packer images delete ID': prints that command")
	return cmd
}

func (c *Command) runDeploy(ctx context.Context, g *global, f *deployFlags) error {
	if err := f.build.tests.check(); err != nil {
		return err
	}
	cfg, clouds, err := c.load(g)
	if err != nil {
		return err
	}
	name, err := oneCloud("deploy", cfg, clouds)
	if err != nil {
		return err
	}
	var im cloud.Instances
	var pub string
	if !f.buildOnly {
		if im, err = c.target(name); err != nil {
			return badInput("%v", err)
		}
		if pub, err = c.publicKey(f.sshKey, f.sshPub); err != nil {
			return err
		}
		if err := launchNeeds(cfg, []string{name}); err != nil {
			return err
		}
		existing, err := c.deployment(ctx, cfg, "deploy", name, im, false)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			fmt.Fprintf(c.Stdout, "deployment %s already exists in %s; nothing changed:\n", cfg.Name, name)
			writeInstances(c.Stdout, name, existing)
			// A re-run job gets the same outputs as the run that launched.
			return c.deployOutputs(&existing[0])
		}
	}
	image := f.image
	if image == "" {
		image = cfg.Packer.Clouds.ImageID(name)
	}
	if image == "" {
		g2 := *g
		g2.clouds = name
		m, err := c.runBuild(ctx, &g2, &f.build)
		if err != nil {
			return err
		}
		image = m.Clouds[name].ImageID
		if image == "" {
			return toolFailure(fmt.Errorf("deploy: the build of %s reported no image", name))
		}
	}
	if f.buildOnly {
		fmt.Fprintf(c.Stdout, "image for %s: %s (--build-only: nothing launched)\n", name, image)
		return nil
	}
	b, _ := c.target(name)
	work, err := os.MkdirTemp("", "sindri-deploy-")
	if err != nil {
		return toolFailure(err)
	}
	defer os.RemoveAll(work)
	runID := f.build.runID
	if runID == "" {
		runID = c.defaultRunID()
	}
	fmt.Fprintf(c.Stderr, "launching %s in %s from %s\n", cfg.Name, name, image)
	inst, err := im.Launch(ctx, cloud.LaunchRequest{
		Config: cfg, ImageID: image, RunID: runID, User: b.SSHUser(cfg), PublicKey: pub,
		WorkDir: work, Deployment: cfg.Name, Name: cfg.Name, AllowSSHFrom: f.build.tests.sshFrom,
	})
	if err != nil {
		return toolFailure(fmt.Errorf("deploy %s: %w", name, c.hinted(name, err)))
	}
	fmt.Fprintf(c.Stdout, "deployed %s: instance %s at %s\nconnect: %s\n", cfg.Name, inst.ID, inst.Host, strings.Join(sshArgs(inst, ""), " "))
	return c.deployOutputs(inst)
}

// deployOutputs sets deploy's step outputs (in Actions) for inst: the one
// launched, or the deployment's existing instance. Sorted: the outputs
// file is the same bytes for the same instance.
func (c *Command) deployOutputs(inst *cloud.Instance) error {
	rep := gha.New(c.getenv, c.Stdout)
	if err := report.SetOutputs(rep.SetOutput, map[string]string{"instance-id": inst.ID, "instance-address": inst.Host}); err != nil {
		return toolFailure(err)
	}
	return nil
}

// publicKey reads the deploy key: the flag's file, else the user's usual
// ones.
func (c *Command) publicKey(flag, text string) (string, error) {
	if text != "" {
		if flag != "" {
			return "", badInput("deploy: give --ssh-key or --ssh-public-key, not both")
		}
		return checkPublicKey("--ssh-public-key", text)
	}
	candidates := []string{flag}
	if flag == "" {
		home := c.getenv("HOME")
		candidates = []string{filepath.Join(home, ".ssh", "id_ed25519.pub"), filepath.Join(home, ".ssh", "id_rsa.pub")}
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err != nil {
			if flag != "" {
				return "", badInput("--ssh-key: %v", err)
			}
			continue
		}
		return checkPublicKey("--ssh-key: "+p, string(b))
	}
	return "", badInput("deploy: no SSH public key: pass --ssh-key FILE or create ~/.ssh/id_ed25519.pub (ssh-keygen -t ed25519)")
}

// checkPublicKey accepts one OpenSSH public key line without control
// characters (it goes into cloud-init's YAML).
func checkPublicKey(what, key string) (string, error) {
	line, err := sshkey.ParseAuthorized(key)
	if err != nil {
		return "", badInput("%s is not an OpenSSH public key: %v (want one line like ssh-ed25519 AAAA... me@laptop)", what, err)
	}
	return line, nil
}

// deployment returns the configuration's instances in one cloud; with
// must, none is an error. A target without instances says what is not
// available (cloud.ErrNotSupported stays in the chain).
func (c *Command) deployment(ctx context.Context, cfg *config.Config, what, name string, im cloud.Instances, must bool) ([]cloud.Instance, error) {
	insts, err := im.ListInstances(ctx, cfg, cloud.InstanceFilter{Deployment: cfg.Name})
	if !cloud.Supported(err) {
		return nil, &exitError{ExitFailure, fmt.Errorf("%s: not available for %s: %w", what, name, err)}
	}
	if err != nil {
		return nil, toolFailure(fmt.Errorf("list instances: %s", c.cloudError(name, err)))
	}
	var out []cloud.Instance
	for _, in := range insts {
		if !in.Temporary && in.Deployment == cfg.Name {
			out = append(out, in)
		}
	}
	if must && len(out) == 0 {
		return nil, &exitError{ExitFindings, fmt.Errorf("no deployment %s in %s (run sindri-packer deploy first)", cfg.Name, name)}
	}
	return out, nil
}

// instanceRow is one instance in `status --json`.
type instanceRow struct {
	Cloud   string `json:"cloud"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	State   string `json:"state,omitempty"`
	Address string `json:"address,omitempty"`
	Image   string `json:"image,omitempty"`
	Region  string `json:"region,omitempty"`
	Created string `json:"created,omitempty"`
}

func instanceRows(name string, insts []cloud.Instance) []instanceRow {
	var rows []instanceRow
	for _, in := range insts {
		created := ""
		if !in.Created.IsZero() {
			created = when(in.Created)
		}
		rows = append(rows, instanceRow{Cloud: name, ID: in.ID, Name: in.Name, State: in.State, Address: in.Host, Image: in.ImageID, Region: in.Region, Created: created})
	}
	return rows
}

func writeInstances(w io.Writer, name string, insts []cloud.Instance) {
	writeInstanceRows(w, instanceRows(name, insts))
}

func writeInstanceRows(w io.Writer, rows []instanceRow) {
	t := report.NewTable(report.Column{Name: "CLOUD"}, report.Column{Name: "INSTANCE"}, report.Column{Name: "NAME", Dash: true},
		report.Column{Name: "STATE", Dash: true}, report.Column{Name: "ADDRESS", Dash: true}, report.Column{Name: "IMAGE", Dash: true},
		report.Column{Name: "CREATED", Dash: true})
	for _, r := range rows {
		t.Row(r.Cloud, r.ID, r.Name, r.State, r.Address, r.Image, r.Created)
	}
	_ = t.Text(w)
}

func sshArgs(inst *cloud.Instance, identity string) []string {
	args := []string{"ssh"}
	if identity != "" {
		args = append(args, "-i", identity)
	}
	if inst.Port != 0 && inst.Port != 22 {
		args = append(args, "-p", strconv.Itoa(inst.Port))
	}
	return append(args, inst.User+"@"+inst.Host)
}

func (c *Command) statusCmd(g *global) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show this configuration's deployed instances in each selected cloud",
		Long: `status lists the instances tagged sindri-deployment=<name of this
configuration> in every selected cloud, with their state and address.
Exit code 1 when there is none.`,
		Example: "  sindri-packer status\n  sindri-packer status --clouds aws --json",
		Args:    cobra.NoArgs,
		RunE: c.withConfig(g, false, func(ctx context.Context, cfg *config.Config, clouds []string) error {
			rows, failed, err := listEach(c, clouds, func(name string, t cloud.Target) ([]instanceRow, error) {
				insts, err := c.deployment(ctx, cfg, "status", name, t, false)
				if !cloud.Supported(err) {
					return nil, skip(errors.Unwrap(err))
				}
				if err != nil {
					return nil, errors.Unwrap(err)
				}
				return instanceRows(name, insts), nil
			})
			if err != nil {
				return err
			}
			if asJSON {
				_ = writeJSONList(c.Stdout, rows)
			} else if len(rows) > 0 {
				writeInstanceRows(c.Stdout, rows)
			}
			if len(failed) > 0 {
				return toolFailure(fmt.Errorf("status failed for %s", strings.Join(failed, ", ")))
			}
			if len(rows) == 0 {
				fmt.Fprintf(c.Stderr, "no deployment %s in %s\n", cfg.Name, strings.Join(clouds, ", "))
				return errFindings
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// withDeployment is the RunE of a lifecycle command (what: connect, stop,
// start, destroy): it finds the deployment's instances in the one selected
// cloud, then runs run with the command's context.
func (c *Command) withDeployment(g *global, what string, run func(ctx context.Context, cfg *config.Config, name string, im cloud.Instances, insts []cloud.Instance) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		cfg, name, im, err := c.oneTarget(g, what)
		if err != nil {
			return err
		}
		insts, err := c.deployment(cmd.Context(), cfg, what, name, im, true)
		if err != nil {
			return err
		}
		return run(cmd.Context(), cfg, name, im, insts)
	}
}

func (c *Command) connectCmd(g *global) *cobra.Command {
	var print bool
	var identity string
	cmd := &cobra.Command{
		Use:   "connect [--print] [-i KEY]",
		Short: "Open SSH to the deployed instance (or print the command)",
		Long: `connect runs ssh to the deployment's running instance in the one selected
cloud as the image's login user, and exits with ssh's exit code. With --print
it prints the command instead.`,
		Example: "  sindri-packer connect\n  sindri-packer connect --print",
		Args:    cobra.NoArgs,
		RunE: c.withDeployment(g, "connect", func(ctx context.Context, cfg *config.Config, name string, _ cloud.Instances, insts []cloud.Instance) error {
			inst := running(insts)
			if inst == nil {
				return &exitError{ExitFindings, fmt.Errorf("connect: deployment %s in %s is not running (state %s): run sindri-packer start", cfg.Name, name, insts[0].State)}
			}
			if inst.User == "" {
				b, _ := c.target(name)
				inst.User = b.SSHUser(cfg)
			}
			args := sshArgs(inst, identity)
			if print {
				fmt.Fprintln(c.Stdout, strings.Join(args, " "))
				return nil
			}
			bin, err := c.lookTool("ssh", "install openssh-client")
			if err != nil {
				return err
			}
			ssh := exec.CommandContext(ctx, bin, args[1:]...)
			ssh.Stdin, ssh.Stdout, ssh.Stderr, ssh.Env = c.Stdin, c.Stdout, c.Stderr, c.Environ
			if err := ssh.Run(); err != nil {
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					return &exitError{exit.ExitCode(), fmt.Errorf("ssh exited %d", exit.ExitCode())}
				}
				return toolFailure(err)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the ssh command instead of running it")
	cmd.Flags().StringVarP(&identity, "identity", "i", "", "private key for ssh -i")
	return cmd
}

func running(insts []cloud.Instance) *cloud.Instance {
	for i := range insts {
		if strings.EqualFold(insts[i].State, "running") && insts[i].Host != "" {
			return &insts[i]
		}
	}
	return nil
}

// powerCmd is stop or start.
func (c *Command) powerCmd(g *global, verb string) *cobra.Command {
	return &cobra.Command{
		Use:     verb,
		Short:   strings.ToUpper(verb[:1]) + verb[1:] + " the deployed instance (its disk is kept)",
		Example: "  sindri-packer " + verb + " --clouds aws",
		Args:    cobra.NoArgs,
		RunE: c.withDeployment(g, verb, func(ctx context.Context, cfg *config.Config, name string, im cloud.Instances, insts []cloud.Instance) error {
			for _, in := range insts {
				op := im.StopInstance
				if verb == "start" {
					op = im.StartInstance
				}
				if err := op(ctx, cfg, in.ID); err != nil {
					return toolFailure(fmt.Errorf("%s %s %s: %w", verb, name, in.ID, err))
				}
				fmt.Fprintf(c.Stdout, "%s: %s %s\n", verb, name, in.ID)
			}
			return nil
		}),
	}
}

func (c *Command) destroyCmd(g *global) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "destroy [--yes]",
		Short: "Terminate the deployed instance and its disk (asks first unless --yes)",
		Long: `destroy terminates the deployment's instances in the one selected cloud,
with the disks, addresses and firewall rules deploy created for them. The
image is kept. It asks for confirmation unless --yes is given.`,
		Example: "  sindri-packer destroy\n  sindri-packer destroy --clouds gcp --yes",
		Args:    cobra.NoArgs,
		RunE: c.withDeployment(g, "destroy", func(ctx context.Context, cfg *config.Config, name string, im cloud.Instances, insts []cloud.Instance) error {
			var ids []string
			for _, in := range insts {
				ids = append(ids, in.ID)
			}
			if err := c.confirmed(yes, "destroy", fmt.Sprintf("destroy deployment %s in %s (%s)?", cfg.Name, name, strings.Join(ids, ", "))); err != nil {
				return err
			}
			for _, id := range ids {
				if err := im.TerminateInstance(ctx, cfg, id); err != nil {
					return toolFailure(fmt.Errorf("destroy %s %s: %w", name, id, err))
				}
				fmt.Fprintf(c.Stdout, "destroyed %s %s\n", name, id)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
