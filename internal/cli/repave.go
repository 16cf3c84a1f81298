package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/pipeline"
	"github.com/sindri-dev/sindri-packer/internal/repave"
)

type repaveFlags struct {
	build       buildFlags
	maxAge      string
	deleteAfter string
	keep        int
}

func (c *Command) repaveCmd(g *global) *cobra.Command {
	f := &repaveFlags{}
	cmd := &cobra.Command{
		Use:   "repave [--max-age 30d] [--keep N] [--delete-after D] [--dry-run]",
		Short: "Rebuild stale images, test them, then retire the old ones (for a scheduled job)",
		Long: `repave is the scheduled 30-day rebuild. Per selected cloud it lists this
tool's images; when the newest is older than --max-age, or none carries the
current config hash, it builds a fresh image and tests it on a temporary
instance (exactly as build --rebuild does). Only when that succeeded, or when
nothing was due, it retires old images:

  - the newest --keep images (the current one first) stay;
  - older ones are deprecated (natively where the cloud can);
  - images deprecated for at least --delete-after (default: --max-age) are
    deleted;
  - an image a deployed instance runs is never deprecated or deleted.

--rebuild builds even when nothing is due. A failed build or test retires
nothing in that cloud. Running repave twice, or again after an interrupted
run, deletes nothing new: deletion waits for --delete-after after
deprecation. --dry-run prints the decisions only.
Exit codes: 0 done, 1 a build or test failed (or the run was interrupted),
3 a cloud API call failed (listing, deprecating or deleting images).`,
		Example: "  sindri-packer repave\n  sindri-packer repave --max-age 14d --keep 3 --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runRepave(cmd.Context(), g, f)
		},
	}
	f.build.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&f.maxAge, "max-age", "30d", "rebuild when the newest image is older than this")
	fl.IntVar(&f.keep, "keep", 2, "newest images to keep undeprecated")
	fl.StringVar(&f.deleteAfter, "delete-after", "", "delete images deprecated at least this long (default: --max-age)")
	return cmd
}

// policy checks the flags and makes the repave's rules.
func (f *repaveFlags) policy() (repave.Policy, error) {
	maxAge, err := repave.ParseAge(f.maxAge)
	if err != nil {
		return repave.Policy{}, badInput("repave: --max-age: %v", err)
	}
	deleteAfter := maxAge
	if f.deleteAfter != "" {
		if deleteAfter, err = repave.ParseAge(f.deleteAfter); err != nil {
			return repave.Policy{}, badInput("repave: --delete-after: %v", err)
		}
	}
	if f.keep < 1 {
		return repave.Policy{}, badInput("repave: --keep must be at least 1, got %d", f.keep)
	}
	return repave.Policy{MaxAge: maxAge, Keep: f.keep, DeleteAfter: deleteAfter, Now: time.Now()}, nil
}

// runRepave is flags → repave.Run → report; the build of the due clouds
// is build's own, with its manifest, outputs and summary.
func (c *Command) runRepave(ctx context.Context, g *global, f *repaveFlags) error {
	policy, err := f.policy()
	if err != nil {
		return err
	}
	plan, err := c.planBuild(ctx, g, &f.build)
	if err != nil {
		return err
	}
	defer plan.close()
	clouds, err := c.repaveClouds(ctx, plan)
	if err != nil {
		return err
	}
	buildFailed := false
	out, err := repave.Run(ctx, repave.Plan{
		Config: plan.opts.Config, Clouds: clouds, Policy: policy,
		Rebuild: f.build.rebuild, DryRun: f.build.dryRun, Log: c.Stderr,
		Build: func(ctx context.Context, due []string) (map[string]repave.Built, error) {
			opts := plan.opts
			opts.Clouds, opts.Rebuild = due, true
			m, err := pipeline.Run(ctx, opts)
			if err != nil {
				return nil, toolFailure(err)
			}
			// A failed cloud retires nothing; the others go on.
			if rerr := c.report(plan.rep, m, f.build.manifest, ctx.Err() != nil); rerr != nil && rerr != errFindings {
				return nil, rerr
			}
			buildFailed = len(m.Failed()) > 0
			return repaveBuilt(m), nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprint(c.Stdout, "\n"+out.Summary)
	if err := plan.rep.AddSummary(out.Summary); err != nil {
		return toolFailure(err)
	}
	// A failed build or test is a finding (1); a cloud API that failed is a
	// failure of the tool's world (3), unless the run was interrupted.
	if out.APIFailures > 0 && ctx.Err() == nil {
		return toolFailure(fmt.Errorf("repave: %d cloud API call(s) failed", out.APIFailures))
	}
	if buildFailed || out.Problems > 0 || ctx.Err() != nil {
		return errFindings
	}
	return nil
}

// repaveClouds are the selected clouds with their current config hashes,
// from a dry-run pipeline (nothing is built).
func (c *Command) repaveClouds(ctx context.Context, plan *buildPlan) ([]repave.Cloud, error) {
	probe := plan.opts
	probe.DryRun, probe.Rebuild, probe.Test, probe.Log = true, true, nil, nil
	pm, err := pipeline.Run(ctx, probe)
	if err != nil {
		return nil, toolFailure(err)
	}
	var clouds []repave.Cloud
	for _, name := range plan.opts.Clouds {
		t, err := c.target(name)
		if err != nil {
			return nil, badInput("repave: %v", err)
		}
		clouds = append(clouds, repave.Cloud{Name: name, Inventory: t, Hash: pm.Clouds[name].ConfigHash})
	}
	return clouds, nil
}

// repaveBuilt is each built cloud's outcome for the repave.
func repaveBuilt(m *pipeline.Manifest) map[string]repave.Built {
	out := map[string]repave.Built{}
	for name, r := range m.Clouds {
		switch r.Status {
		case pipeline.StatusBuilt, pipeline.StatusCached, pipeline.StatusExisting:
			out[name] = repave.Built{ImageID: r.ImageID}
		default:
			out[name] = repave.Built{Failed: fmt.Sprintf("build %s: %s", r.Status, r.Error)}
		}
	}
	return out
}
