package repave

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// Inventory is what a repave asks of a target: its images, and the
// instances that run them (cloud.ErrNotSupported: the target has none).
// Every cloud.Target is one.
type Inventory interface {
	ListImages(ctx context.Context, c *config.Config) ([]cloud.Image, error)
	DeprecateImage(ctx context.Context, c *config.Config, id string, d cloud.Deprecation) error
	DeleteImage(ctx context.Context, c *config.Config, id string) error
	ListInstances(ctx context.Context, c *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error)
}

// Cloud is one selected cloud of a repave.
type Cloud struct {
	Name      string
	Inventory Inventory // nil: the target keeps no inventory (skipped)
	Hash      string    // the current config hash
}

// Built is one due cloud's build: the image that passed, or why not.
type Built struct {
	ImageID string
	Failed  string // "" when the build and its test passed
}

// Plan is one repave run.
type Plan struct {
	Config  *config.Config
	Clouds  []Cloud
	Policy  Policy
	Rebuild bool // build even when nothing is due
	DryRun  bool // decide and report only
	// Build builds (and tests) the due clouds afresh and returns each
	// one's outcome; an error means the build could not run at all and
	// ends the repave.
	Build func(ctx context.Context, due []string) (map[string]Built, error)
	// Log receives one line per decision and action.
	Log io.Writer
}

// Outcome is what a repave did.
type Outcome struct {
	// Summary is the Markdown report: one row per image and action.
	Summary string
	// Problems counts what failed (builds, tests, cloud API calls);
	// APIFailures those that were cloud API calls.
	Problems, APIFailures int
}

// state is one cloud's state during a repave.
type state struct {
	Cloud
	images  []cloud.Image
	due     bool
	why     string
	current string // the image that stays current
	failed  string
	// apiFailed says failed is a cloud API call's failure, not a build's.
	apiFailed bool
}

// Run lists every cloud's images, builds the due ones through p.Build and,
// per cloud whose build passed or was not due, deprecates and deletes
// what Retire says. A failed build or test retires nothing in its cloud;
// an interrupted run retires nothing more.
func Run(ctx context.Context, p Plan) (Outcome, error) {
	states, due := p.decide(ctx)
	if len(due) > 0 && !p.DryRun {
		built, err := p.Build(ctx, due)
		if err != nil {
			return Outcome{}, err
		}
		for _, st := range states {
			if b, ok := built[st.Name]; ok {
				if b.Failed == "" {
					st.current = b.ImageID
				} else {
					st.failed = b.Failed
				}
			}
		}
	}
	var out Outcome
	t := report.NewTable(report.Column{Name: "cloud"}, report.Column{Name: "image", Code: true, Dash: true},
		report.Column{Name: "action"}, report.Column{Name: "why"})
	for _, st := range states {
		p.retire(ctx, st, t, &out)
	}
	out.Summary = "### sindri-packer repave\n\n" + t.Markdown()
	return out, nil
}

// decide lists each cloud's images and says whether a build is due.
func (p Plan) decide(ctx context.Context) (states []*state, due []string) {
	for _, c := range p.Clouds {
		st := &state{Cloud: c}
		if c.Inventory == nil {
			p.logf("%s: skipped: no image inventory for this target", c.Name)
			continue
		}
		var err error
		if st.images, err = c.Inventory.ListImages(ctx, p.Config); err != nil {
			if !cloud.Supported(err) {
				p.logf("%s: skipped: no image inventory for this target", c.Name)
				continue
			}
			st.failed, st.apiFailed = fmt.Sprintf("list images: %v", err), true
			states = append(states, st)
			continue
		}
		st.due, st.why = NeedsBuild(st.images, st.Hash, p.Policy)
		if p.Rebuild && !st.due {
			st.due, st.why = true, "--rebuild: building although "+st.why
		}
		if !st.due {
			st.current = newestWithHash(st.images, st.Hash)
		} else {
			due = append(due, c.Name)
		}
		p.logf("%s: %s", c.Name, st.why)
		states = append(states, st)
	}
	return states, due
}

// retire deprecates and deletes one cloud's old images, adding a row per
// image to t.
func (p Plan) retire(ctx context.Context, st *state, t *report.Table, out *Outcome) {
	switch {
	case st.failed != "":
		out.Problems++
		if st.apiFailed {
			out.APIFailures++
		}
		p.logf("%s: nothing retired: %s", st.Name, st.failed)
		t.Row(st.Name, "", "nothing retired", st.failed)
		return
	case ctx.Err() != nil:
		p.logf("%s: interrupted: nothing retired", st.Name)
		return
	case st.due && p.DryRun:
		t.Row(st.Name, "", "would build", st.why)
		// The image it would build takes the first place kept.
		st.current = "(new image)"
	}
	inUse, err := p.imagesInUse(ctx, st.Inventory)
	if err != nil {
		out.Problems++
		out.APIFailures++
		p.logf("%s: nothing retired: %v", st.Name, err)
		return
	}
	d := Retire(st.images, st.current, inUse, p.Policy)
	if st.current != "" && !slices.ContainsFunc(d.Keep, func(im cloud.Image) bool { return im.ID == st.current }) {
		t.Row(st.Name, st.current, "keep", "current image")
	}
	for _, im := range d.Keep {
		t.Row(st.Name, im.ID, "keep", d.Why[im.ID])
	}
	deprecate := func(im cloud.Image) error {
		return st.Inventory.DeprecateImage(ctx, p.Config, im.ID, cloud.Deprecation{Replacement: st.current})
	}
	p.act(ctx, st.Name, "deprecate", d.Deprecate, d.Why, deprecate, t, out)
	del := func(im cloud.Image) error { return st.Inventory.DeleteImage(ctx, p.Config, im.ID) }
	p.act(ctx, st.Name, "delete", d.Delete, d.Why, del, t, out)
}

// act applies one verb to images, unless dry-run or interrupted.
func (p Plan) act(ctx context.Context, name, verb string, images []cloud.Image, why map[string]string,
	do func(cloud.Image) error, t *report.Table, out *Outcome) {
	for _, im := range images {
		action := verb
		switch {
		case p.DryRun:
			action = "would " + verb
		case ctx.Err() != nil:
			action = "interrupted before " + verb
		default:
			if err := do(im); err != nil {
				out.Problems++
				out.APIFailures++
				action = verb + " failed: " + err.Error()
			}
		}
		p.logf("%s: %s %s (%s)", name, action, im.ID, why[im.ID])
		t.Row(name, im.ID, action, why[im.ID])
	}
}

// imagesInUse are the images deployed instances run; a target without
// instances has none.
func (p Plan) imagesInUse(ctx context.Context, inv Inventory) (map[string]bool, error) {
	insts, err := inv.ListInstances(ctx, p.Config, cloud.InstanceFilter{})
	if !cloud.Supported(err) {
		return nil, nil
	}
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

func (p Plan) logf(format string, args ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}
