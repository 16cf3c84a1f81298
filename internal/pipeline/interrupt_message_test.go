package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// fakePacker runs one of package packer's test doubles as packer.
func fakePacker(t *testing.T, name string) *packer.Runner {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "packer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return &packer.Runner{Bin: bin, Dir: t.TempDir(), Env: []string{"PATH=/usr/bin:/bin"}}
}

// cancelOn cancels once a log write contains its text.
type cancelOn struct {
	text   string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return len(p), nil
}

// Issue 10 item 12: a packer killed at the end of the grace period did not
// clean up, and the result must not say it did; it names the sweep.
func TestInterruptMessageIsTruthful(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fake       string
		timeout    time.Duration // 0: cancel the run instead
		grace      time.Duration
		wantStatus Status
		want       []string
		notWant    string
	}{
		{
			name: "killed after the grace", fake: "fake-packer-ignores-interrupt", grace: 700 * time.Millisecond, wantStatus: StatusCancelled,
			want:    []string{"interrupted; packer did not finish its cleanup", "was killed", "sindri-packer cleanup --run-id test-run"},
			notWant: "cleaned up",
		},
		{
			name: "killed after a time-out", fake: "fake-packer-ignores-interrupt", grace: 700 * time.Millisecond, timeout: time.Second, wantStatus: StatusFailed,
			want:    []string{"timed out after 1s; packer did not finish its cleanup", "sindri-packer cleanup --run-id test-run"},
			notWant: "cleaned up",
		},
		{
			// Its trap runs once its `sleep 1` ends: up to a second.
			name: "exited by itself", fake: "fake-packer-leaves-child", grace: 10 * time.Second, wantStatus: StatusCancelled,
			want:    []string{"interrupted; packer cleaned up its temporary resources"},
			notWant: "killed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := Options{
				Config: testConfig(t), Targets: map[string]cloud.Target{}, Render: renderOwn, Packer: fakePacker(t, tt.fake),
				RunID: "test-run", WorkDir: t.TempDir(), Grace: tt.grace, Timeout: tt.timeout,
				Clouds: []string{"a"},
			}
			o.Targets["a"] = nullTarget{name: "a"}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.timeout == 0 {
				// Interrupt once packer runs and waits.
				o.Log = cancelOn{"fake: waiting", cancel}
			}
			m, err := Run(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			r := m.Clouds["a"]
			if r.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s (%s)", r.Status, tt.wantStatus, r.Error)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Error, w) {
					t.Errorf("error %q lacks %q", r.Error, w)
				}
			}
			if strings.Contains(r.Error, tt.notWant) {
				t.Errorf("error %q says %q", r.Error, tt.notWant)
			}
		})
	}
}

// signalOn closes seen the first time a log write contains its text, and
// keeps everything written.
type signalOn struct {
	text string
	seen chan struct{}
	once sync.Once
	log  report.Buffer
}

func (s *signalOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.text) {
		s.once.Do(func() { close(s.seen) })
	}
	return s.log.Write(p)
}

// TestOneCloudStreamsTimestampedLines: inside Actions (Grouped) a run of
// one cloud writes each of packer's lines as it comes, stamped with
// packer's time, while packer still runs (issue 11: the log was held back
// until the cloud finished and its times dropped). The fake packer prints
// one line and then hangs until it is killed.
func TestOneCloudStreamsTimestampedLines(t *testing.T) {
	o := Options{
		Config: testConfig(t), Targets: map[string]cloud.Target{"a": nullTarget{name: "a"}}, Render: renderOwn,
		Packer: fakePacker(t, "fake-packer-ignores-interrupt"), RunID: "test-run", WorkDir: t.TempDir(),
		Grace: 300 * time.Millisecond, Clouds: []string{"a"}, Grouped: true, Group: &recordGroups{},
	}
	log := &signalOn{text: "fake: waiting", seen: make(chan struct{})}
	o.Log = log
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = Run(ctx, o)
	}()
	select {
	case <-log.seen:
	case <-done:
		t.Fatalf("packer's line came only after the run ended:\n%s", log.log.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("packer's line did not come while packer ran:\n%s", log.log.String())
	}
	cancel()
	<-done
	// 1700000000 is packer's own time of the line.
	if want := "[a] 2023-11-14T22:13:20Z ==> fake: waiting\n"; !strings.Contains(log.log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.log.String())
	}
	if g := o.Group.(*recordGroups); len(g.events) != 0 {
		t.Errorf("one cloud was grouped: %v", g.events)
	}
}
