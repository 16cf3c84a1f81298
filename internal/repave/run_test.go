package repave

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// inventory is an in-memory test double of a target's images and
// instances; it records the changes asked of it.
type inventory struct {
	mu        sync.Mutex
	images    []cloud.Image
	instances []cloud.Instance
	listErr   error
	instErr   error
	changeErr error
	changes   []string
}

func (v *inventory) ListImages(context.Context, *config.Config) ([]cloud.Image, error) {
	return slices.Clone(v.images), v.listErr
}

func (v *inventory) DeprecateImage(_ context.Context, _ *config.Config, id string, d cloud.Deprecation) error {
	return v.change(fmt.Sprintf("deprecate %s replacement=%s", id, d.Replacement))
}

func (v *inventory) DeleteImage(_ context.Context, _ *config.Config, id string) error {
	return v.change("delete " + id)
}

func (v *inventory) ListInstances(context.Context, *config.Config, cloud.InstanceFilter) ([]cloud.Instance, error) {
	return v.instances, v.instErr
}

func (v *inventory) change(what string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.changes = append(v.changes, what)
	return v.changeErr
}

// world: a 40-day-old current image, an older one, one deprecated long
// ago and one deprecated recently.
func world() *inventory {
	return &inventory{images: []cloud.Image{
		img("ami-40d", 40, "old", -1), img("ami-50d", 50, "old", -1),
		img("ami-90d", 90, "old", 40), img("ami-80d", 80, "old", 5),
	}}
}

func plan(inv Inventory, build func(context.Context, []string) (map[string]Built, error)) (Plan, *strings.Builder) {
	log := &strings.Builder{}
	return Plan{
		Config: &config.Config{}, Clouds: []Cloud{{Name: "aws", Inventory: inv, Hash: "new"}},
		Policy: Policy{MaxAge: 30 * 24 * time.Hour, Keep: 2, DeleteAfter: 30 * 24 * time.Hour, Now: now},
		Build:  build, Log: log,
	}, log
}

// mustRun runs the repave, which must not fail.
func mustRun(t *testing.T, p Plan) Outcome {
	t.Helper()
	out, err := Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func builds(id, failed string, calls *[]string) func(context.Context, []string) (map[string]Built, error) {
	return func(_ context.Context, due []string) (map[string]Built, error) {
		*calls = append(*calls, due...)
		return map[string]Built{"aws": {ImageID: id, Failed: failed}}, nil
	}
}

func TestRunRetiresAfterThePassedBuild(t *testing.T) {
	inv := world()
	var built []string
	p, log := plan(inv, builds("ami-new", "", &built))
	out := mustRun(t, p)
	if !slices.Equal(built, []string{"aws"}) {
		t.Errorf("built %q, want aws", built)
	}
	if want := []string{"deprecate ami-50d replacement=ami-new", "delete ami-90d"}; !slices.Equal(inv.changes, want) {
		t.Errorf("changes %q, want %q", inv.changes, want)
	}
	for _, want := range []string{"| aws | `ami-new` | keep | current image |", "| aws | `ami-50d` | deprecate |", "| aws | `ami-90d` | delete |"} {
		if !strings.Contains(out.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.Summary)
		}
	}
	if !strings.Contains(log.String(), "aws: newest image ami-40d is 40d old (max-age 30d)") {
		t.Errorf("log lacks the reason:\n%s", log)
	}
	if out.Problems != 0 {
		t.Errorf("%d problems", out.Problems)
	}
}

func TestRunFailedBuildRetiresNothing(t *testing.T) {
	inv := world()
	var built []string
	p, log := plan(inv, builds("", "build failed: capacity", &built))
	out := mustRun(t, p)
	if len(inv.changes) != 0 || out.Problems != 1 || out.APIFailures != 0 {
		t.Errorf("changes %q, problems %d, API failures %d; want none, 1, 0", inv.changes, out.Problems, out.APIFailures)
	}
	if !strings.Contains(log.String(), "aws: nothing retired: build failed: capacity") {
		t.Errorf("log:\n%s", log)
	}
}

func TestRunDryRunChangesNothing(t *testing.T) {
	inv := world()
	p, _ := plan(inv, nil) // a dry run never builds
	p.DryRun = true
	out := mustRun(t, p)
	for _, want := range []string{"| aws | — | would build |", "would deprecate", "would delete"} {
		if !strings.Contains(out.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, out.Summary)
		}
	}
	if len(inv.changes) != 0 {
		t.Errorf("dry run changed %q", inv.changes)
	}
}

func TestRunAPIFailures(t *testing.T) {
	boom := errors.New("throttled")
	for _, tc := range []struct {
		name     string
		set      func(*inventory)
		problems int
	}{
		{name: "listing images", set: func(v *inventory) { v.listErr = boom }, problems: 1},
		{name: "listing instances", set: func(v *inventory) { v.instErr = boom }, problems: 1},
		{name: "deprecating and deleting", set: func(v *inventory) { v.changeErr = boom }, problems: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := world()
			inv.images = append(inv.images, img("ami-cur", 1, "new", -1)) // nothing due
			tc.set(inv)
			p, _ := plan(inv, nil)
			out := mustRun(t, p)
			if out.Problems != tc.problems || out.APIFailures != tc.problems {
				t.Errorf("problems %d, API failures %d; want %d each", out.Problems, out.APIFailures, tc.problems)
			}
		})
	}
}

func TestRunKeepsWhatInstancesRunAndSkipsWithoutInventory(t *testing.T) {
	inv := world()
	inv.images = append(inv.images, img("ami-cur", 1, "new", -1))
	inv.instances = []cloud.Instance{{ID: "i-1", ImageID: "ami-90d"}, {ID: "i-tmp", ImageID: "ami-50d", Temporary: true}}
	p, log := plan(inv, nil)
	p.Clouds = append(p.Clouds, Cloud{Name: "none"}, Cloud{Name: "unsupported", Inventory: &inventory{listErr: fmt.Errorf("list: %w", cloud.ErrNotSupported)}})
	out := mustRun(t, p)
	if !strings.Contains(out.Summary, "| aws | `ami-90d` | keep | in use by a deployed instance |") || slices.Contains(inv.changes, "delete ami-90d") {
		t.Errorf("the deployed image was not kept: %q\n%s", inv.changes, out.Summary)
	}
	for _, name := range []string{"none", "unsupported"} {
		if !strings.Contains(log.String(), name+": skipped: no image inventory for this target") {
			t.Errorf("log lacks %s skipped:\n%s", name, log)
		}
	}
}

func TestRunBuildErrorEndsTheRepave(t *testing.T) {
	inv := world()
	boom := errors.New("render failed")
	p, _ := plan(inv, func(context.Context, []string) (map[string]Built, error) { return nil, boom })
	if _, err := Run(t.Context(), p); !errors.Is(err, boom) || len(inv.changes) != 0 {
		t.Errorf("err %v, changes %q; want the build's error and nothing changed", err, inv.changes)
	}
}
