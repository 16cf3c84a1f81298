package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// memCloud is a hand-written in-memory test double of a cloud: the real
// target's Packer side (embedded) plus image, instance and sweep
// operations over slices, recording every call. The wire-level fakes of
// each cloud's API live in internal/cloud/<name>/<name>fake.
type memCloud struct {
	cloud.Target
	mu        sync.Mutex
	images    []cloud.Image
	instances []cloud.Instance
	leftovers []cloud.Resource
	calls     []string
	fail      map[string]error  // by method name
	hook      map[string]func() // run when the method is called
	launched  []cloud.LaunchRequest
	next      int
}

func newMemCloud(t *testing.T, name string) *memCloud {
	t.Helper()
	b, err := targets.Builder(name)
	if err != nil {
		t.Fatal(err)
	}
	return &memCloud{Target: b, fail: map[string]error{}, hook: map[string]func(){}}
}

// targets returns a Command.Targets serving this fake under its name.
func (m *memCloud) targets() func(string) (cloud.Target, error) {
	return func(n string) (cloud.Target, error) {
		if n == m.Name() {
			return m, nil
		}
		return targets.Builder(n)
	}
}

func (m *memCloud) record(format string, args ...any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	call := fmt.Sprintf(format, args...)
	m.calls = append(m.calls, call)
	method, _, _ := strings.Cut(call, " ")
	if h := m.hook[method]; h != nil {
		h()
	}
	return m.fail[method]
}

func (m *memCloud) callsWith(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// retirements are the DeprecateImage and DeleteImage calls, in that order.
func (m *memCloud) retirements() []string {
	return append(m.callsWith("DeprecateImage"), m.callsWith("DeleteImage")...)
}

// wantNoRetirements fails the test if an image was deprecated or deleted;
// when says at which point of the test.
func (m *memCloud) wantNoRetirements(t *testing.T, when string) {
	t.Helper()
	if got := m.retirements(); len(got) != 0 {
		t.Fatalf("%s: images retired: %v", when, got)
	}
}

// answer records a call that returns a value (a read, or a launch) and,
// unless the call is set to fail, answers it (read) under the lock.
func answer[T any](m *memCloud, read func() (T, error), format string, args ...any) (T, error) {
	if err := m.record(format, args...); err != nil {
		var zero T
		return zero, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return read()
}

func (m *memCloud) FindImage(_ context.Context, _ *config.Config, hash string) (*cloud.Image, error) {
	return answer(m, func() (*cloud.Image, error) {
		for _, im := range m.images {
			if im.ConfigHash == hash && im.Deprecated.IsZero() {
				return &im, nil
			}
		}
		return nil, nil
	}, "FindImage %s", hash)
}

func (m *memCloud) ListImages(context.Context, *config.Config) ([]cloud.Image, error) {
	return answer(m, func() ([]cloud.Image, error) {
		out := slices.Clone(m.images)
		slices.SortStableFunc(out, func(a, b cloud.Image) int { return b.Created.Compare(a.Created) })
		return out, nil
	}, "ListImages")
}

func (m *memCloud) GetImage(_ context.Context, _ *config.Config, id string) (*cloud.Image, error) {
	return answer(m, func() (*cloud.Image, error) {
		for _, im := range m.images {
			if im.ID == id {
				return &im, nil
			}
		}
		return nil, fmt.Errorf("image %s: %w", id, cloud.ErrNotFound)
	}, "GetImage %s", id)
}

// change records a call that changes the cloud and, unless the call is set
// to fail, makes the change (edit) under the lock.
func (m *memCloud) change(edit func(), format string, args ...any) error {
	if err := m.record(format, args...); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	edit()
	return nil
}

func (m *memCloud) DeleteImage(_ context.Context, _ *config.Config, id string) error {
	return m.change(func() {
		m.images = slices.DeleteFunc(m.images, func(im cloud.Image) bool { return im.ID == id })
	}, "DeleteImage %s", id)
}

func (m *memCloud) DeprecateImage(_ context.Context, _ *config.Config, id string, d cloud.Deprecation) error {
	return m.change(func() {
		for i := range m.images {
			if m.images[i].ID == id {
				m.images[i].Deprecated = time.Now()
			}
		}
	}, "DeprecateImage %s replacement=%s", id, d.Replacement)
}

func (m *memCloud) Launch(_ context.Context, req cloud.LaunchRequest) (*cloud.Instance, error) {
	return answer(m, func() (*cloud.Instance, error) {
		m.next++
		inst := cloud.Instance{
			ID: fmt.Sprintf("i-%03d", m.next), Host: fmt.Sprintf("203.0.113.%d", m.next), Port: 22, User: req.User,
			Name: req.Name, State: "running", ImageID: req.ImageID, RunID: req.RunID,
			Deployment: req.Deployment, Temporary: req.Temporary(), Created: time.Now(),
		}
		m.launched = append(m.launched, req)
		m.instances = append(m.instances, inst)
		return &inst, nil
	}, "Launch %s deployment=%s", req.ImageID, req.Deployment)
}

func (m *memCloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	return m.TerminateInstance(ctx, nil, inst.ID)
}

func (m *memCloud) ListInstances(_ context.Context, _ *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	return answer(m, func() ([]cloud.Instance, error) {
		var out []cloud.Instance
		for _, in := range m.instances {
			if (f.Deployment == "" || in.Deployment == f.Deployment) && (f.RunID == "" || in.RunID == f.RunID) && (!f.Temporary || in.Temporary) {
				out = append(out, in)
			}
		}
		return out, nil
	}, "ListInstances deployment=%s", f.Deployment)
}

func (m *memCloud) setState(id, state string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.instances {
		if m.instances[i].ID == id {
			m.instances[i].State = state
			return nil
		}
	}
	return fmt.Errorf("instance %s: %w", id, cloud.ErrNotFound)
}

func (m *memCloud) StopInstance(_ context.Context, _ *config.Config, id string) error {
	if err := m.record("StopInstance %s", id); err != nil {
		return err
	}
	return m.setState(id, "stopped")
}

func (m *memCloud) StartInstance(_ context.Context, _ *config.Config, id string) error {
	if err := m.record("StartInstance %s", id); err != nil {
		return err
	}
	return m.setState(id, "running")
}

func (m *memCloud) TerminateInstance(_ context.Context, _ *config.Config, id string) error {
	return m.change(func() {
		m.instances = slices.DeleteFunc(m.instances, func(in cloud.Instance) bool { return in.ID == id })
	}, "TerminateInstance %s", id)
}

func (m *memCloud) Leftovers(_ context.Context, _ *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	return answer(m, func() ([]cloud.Resource, error) {
		var out []cloud.Resource
		for _, r := range m.leftovers {
			if (f.RunID == "" || r.RunID == f.RunID) && (f.Before.IsZero() || r.Created.Before(f.Before)) {
				out = append(out, r)
			}
		}
		return out, nil
	}, "Leftovers run=%s before=%t", f.RunID, !f.Before.IsZero())
}

func (m *memCloud) DeleteResource(_ context.Context, _ *config.Config, r cloud.Resource) error {
	return m.change(func() {
		m.leftovers = slices.DeleteFunc(m.leftovers, func(x cloud.Resource) bool { return x.ID == r.ID })
	}, "DeleteResource %s %s", r.Kind, r.ID)
}

func (m *memCloud) CheckCredentials(context.Context, *config.Config) (string, error) {
	if err := m.record("CheckCredentials"); err != nil {
		return "", err
	}
	return "account 123456789012 (fake)", nil
}

// runWith runs the command line with a fake cloud and stdin.
func runWith(t *testing.T, fake *memCloud, stdin string, environ []string, args ...string) result {
	t.Helper()
	return runCtx(t, t.Context(), fake, stdin, environ, args...)
}

func runCtx(t *testing.T, ctx context.Context, fake *memCloud, stdin string, environ []string, args ...string) result {
	t.Helper()
	return runFull(t, ctx, fake.targets(), stdin, environ, args...)
}
