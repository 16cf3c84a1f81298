package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
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

// repaveCloud is one cloud's state during a repave.
type repaveCloud struct {
	name    string
	im      cloud.ImageManager
	images  []cloud.Image
	hash    string
	due     bool
	why     string
	current string // the image that stays current
	failed  string
	// apiFailed says failed is a cloud API call's failure, not a build's.
	apiFailed bool
}

func (c *Command) runRepave(ctx context.Context, g *global, f *repaveFlags) error {
	maxAge, err := repave.ParseAge(f.maxAge)
	if err != nil {
		return badInput("repave: --max-age: %v", err)
	}
	deleteAfter := maxAge
	if f.deleteAfter != "" {
		if deleteAfter, err = repave.ParseAge(f.deleteAfter); err != nil {
			return badInput("repave: --delete-after: %v", err)
		}
	}
	if f.keep < 1 {
		return badInput("repave: --keep must be at least 1, got %d", f.keep)
	}
	dryRun := f.build.dryRun
	// The config hashes, without building: a dry-run pipeline.
	plan, err := c.planBuild(ctx, g, &f.build)
	if err != nil {
		return err
	}
	defer plan.close()
	cfg := plan.opts.Config
	probe := plan.opts
	probe.DryRun, probe.Rebuild, probe.Test, probe.Log = true, true, nil, nil
	pm, err := pipeline.Run(ctx, probe)
	if err != nil {
		return toolFailure(err)
	}
	policy := repave.Policy{MaxAge: maxAge, Keep: f.keep, DeleteAfter: deleteAfter, Now: time.Now()}
	var states []*repaveCloud
	var due []string
	for _, name := range plan.opts.Clouds {
		st := &repaveCloud{name: name, hash: pm.Clouds[name].ConfigHash}
		im, err := capability[cloud.ImageManager](c, name, "repave")
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: skipped: no image inventory for this target\n", name)
			continue
		}
		st.im = im
		if st.images, err = im.ListImages(ctx, cfg); err != nil {
			st.failed, st.apiFailed = fmt.Sprintf("list images: %v", err), true
			states = append(states, st)
			continue
		}
		st.due, st.why = repave.NeedsBuild(st.images, st.hash, policy)
		if f.build.rebuild && !st.due {
			st.due, st.why = true, "--rebuild: building although "+st.why
		}
		if !st.due {
			st.current = newestWithHash(st.images, st.hash)
		} else {
			due = append(due, name)
		}
		fmt.Fprintf(c.Stderr, "%s: %s\n", name, st.why)
		states = append(states, st)
	}

	var m *pipeline.Manifest
	if len(due) > 0 && !dryRun {
		opts := plan.opts
		opts.Clouds, opts.Rebuild = due, true
		if m, err = pipeline.Run(ctx, opts); err != nil {
			return toolFailure(err)
		}
		// The build's own report: manifest, outputs, summary. A failed
		// cloud retires nothing; the others go on.
		if rerr := c.report(plan.rep, m, f.build.manifest, ctx.Err() != nil); rerr != nil && rerr != errFindings {
			return rerr
		}
		for _, st := range states {
			if r, ok := m.Clouds[st.name]; ok {
				if r.Status == pipeline.StatusBuilt || r.Status == pipeline.StatusCached || r.Status == pipeline.StatusExisting {
					st.current = r.ImageID
				} else {
					st.failed = fmt.Sprintf("build %s: %s", r.Status, r.Error)
				}
			}
		}
	}

	// A failed build or test is a finding (1); a cloud API that failed is a
	// failure of the tool's world (3), unless the run was interrupted.
	problems, apiFailures := 0, 0
	var summary strings.Builder
	summary.WriteString("### sindri-packer repave\n\n| cloud | image | action | why |\n|---|---|---|---|\n")
	for _, st := range states {
		switch {
		case st.failed != "":
			problems++
			if st.apiFailed {
				apiFailures++
			}
			fmt.Fprintf(c.Stderr, "%s: nothing retired: %s\n", st.name, st.failed)
			fmt.Fprintf(&summary, "| %s | — | nothing retired | %s |\n", st.name, cellText(st.failed))
			continue
		case ctx.Err() != nil:
			fmt.Fprintf(c.Stderr, "%s: interrupted: nothing retired\n", st.name)
			continue
		case st.due && dryRun:
			fmt.Fprintf(&summary, "| %s | — | would build | %s |\n", st.name, cellText(st.why))
			// The image it would build takes the first place kept.
			st.current = "(new image)"
		}
		inUse, err := c.imagesInUse(ctx, cfg, st.name)
		if err != nil {
			problems++
			apiFailures++
			fmt.Fprintf(c.Stderr, "%s: nothing retired: %v\n", st.name, err)
			continue
		}
		d := repave.Retire(st.images, st.current, inUse, policy)
		if st.current != "" && !slices.ContainsFunc(d.Keep, func(im cloud.Image) bool { return im.ID == st.current }) {
			fmt.Fprintf(&summary, "| %s | `%s` | keep | current image |\n", st.name, st.current)
		}
		for _, im := range d.Keep {
			fmt.Fprintf(&summary, "| %s | `%s` | keep | %s |\n", st.name, im.ID, d.Why[im.ID])
		}
		for _, step := range []struct {
			verb   string
			images []cloud.Image
			do     func(cloud.Image) error
		}{
			{"deprecate", d.Deprecate, func(im cloud.Image) error {
				return st.im.DeprecateImage(ctx, cfg, im.ID, cloud.Deprecation{Replacement: st.current})
			}},
			{"delete", d.Delete, func(im cloud.Image) error { return st.im.DeleteImage(ctx, cfg, im.ID) }},
		} {
			for _, im := range step.images {
				action := step.verb
				switch {
				case dryRun:
					action = "would " + step.verb
				case ctx.Err() != nil:
					action = "interrupted before " + step.verb
				default:
					if err := step.do(im); err != nil {
						problems++
						apiFailures++
						action = step.verb + " failed: " + cellText(err.Error())
					}
				}
				fmt.Fprintf(c.Stderr, "%s: %s %s (%s)\n", st.name, action, im.ID, d.Why[im.ID])
				fmt.Fprintf(&summary, "| %s | `%s` | %s | %s |\n", st.name, im.ID, action, d.Why[im.ID])
			}
		}
	}
	fmt.Fprint(c.Stdout, "\n"+summary.String())
	if err := plan.rep.AddSummary(summary.String()); err != nil {
		return toolFailure(err)
	}
	if apiFailures > 0 && ctx.Err() == nil {
		return toolFailure(fmt.Errorf("repave: %d cloud API call(s) failed", apiFailures))
	}
	if m != nil && len(m.Failed()) > 0 || problems > 0 || ctx.Err() != nil {
		return errFindings
	}
	return nil
}

// newestWithHash is the newest undeprecated image carrying hash.
func newestWithHash(images []cloud.Image, hash string) string {
	best := -1
	for i, im := range images {
		if im.ConfigHash == hash && im.Deprecated.IsZero() && (best < 0 || im.Created.After(images[best].Created)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return images[best].ID
}

// imagesInUse are the images deployed instances of this cloud run; a cloud
// without instances has none.
func (c *Command) imagesInUse(ctx context.Context, cfg *config.Config, name string) (map[string]bool, error) {
	im, err := capability[cloud.InstanceManager](c, name, "repave")
	if err != nil {
		return nil, nil
	}
	insts, err := im.ListInstances(ctx, cfg, cloud.InstanceFilter{})
	if err != nil {
		return nil, fmt.Errorf("list instances (to keep the images they run): %w", err)
	}
	out := map[string]bool{}
	for _, in := range insts {
		if !in.Temporary && in.ImageID != "" {
			out[in.ImageID] = true
		}
	}
	return out, nil
}

func cellText(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
