package cloud

import (
	"context"
	"errors"
	"testing"
	"time"
)

// noSleep records the waits instead of taking them.
func noSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

func TestPollDoublesTheWaitUpToPollMax(t *testing.T) {
	var waits []time.Duration
	tu := Tuning{PollInterval: time.Second, PollMax: 5 * time.Second, Sleep: noSleep(&waits)}
	calls := 0
	err := tu.Poll(t.Context(), "instance i-1 running", func(context.Context) (bool, error) {
		calls++
		return calls == 5, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
}

func TestPollStopsAtTheCheckError(t *testing.T) {
	boom := errors.New("instance failed to start")
	var waits []time.Duration
	err := Tuning{Sleep: noSleep(&waits)}.Poll(t.Context(), "x", func(context.Context) (bool, error) { return false, boom })
	if !errors.Is(err, boom) || len(waits) != 0 {
		t.Fatalf("err %v after %d waits, want the check's error at once", err, len(waits))
	}
}

func TestPollGivesUpAfterWaitTimeoutNamingWhat(t *testing.T) {
	tu := Tuning{PollInterval: time.Millisecond, WaitTimeout: 20 * time.Millisecond}
	err := tu.Poll(t.Context(), "image ami-1 available", func(context.Context) (bool, error) { return false, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	if got := err.Error(); got[:len("image ami-1 available")] != "image ami-1 available" {
		t.Fatalf("error %q does not name what it waited for", got)
	}
}

func TestPollEndsWithTheCallersContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Tuning{PollInterval: time.Hour}.Poll(ctx, "x", func(context.Context) (bool, error) { return false, nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestZeroTuningMeansTheDefaults(t *testing.T) {
	got := Tuning{}.WithDefaults()
	d := DefaultTuning
	if got.CallTimeout != d.CallTimeout || got.MaxAttempts != d.MaxAttempts || got.PollInterval != d.PollInterval ||
		got.PollMax != d.PollMax || got.WaitTimeout != d.WaitTimeout || got.Retry.MaxElapsed != DefaultBackoff.MaxElapsed {
		t.Fatalf("zero tuning = %+v, want the defaults %+v", got, d)
	}
}

func TestEnvListLaterEntryWinsAndNilReadsTheProcess(t *testing.T) {
	e := EnvList([]string{"A=1", "B=2", "A=3"})
	if v, ok := e.Lookup("A"); !ok || v != "3" {
		t.Fatalf("A = %q %v, want 3", v, ok)
	}
	if _, ok := e.Lookup("C"); ok {
		t.Fatal("C should be unset")
	}
	t.Setenv("SINDRI_TEST_ENV_SEAM", "x")
	if (Env)(nil).Get("SINDRI_TEST_ENV_SEAM") != "x" {
		t.Fatal("a nil Env should read the process environment")
	}
}

// A target's own defaults go first, the shared ones after; what the caller
// set is kept, and PollMax never falls below a longer PollInterval.
func TestTuningOrKeepsWhatIsSetAndFillsTheRest(t *testing.T) {
	own := Tuning{CallTimeout: 2 * time.Minute, PollInterval: 5 * time.Second, PollMax: 30 * time.Second, Retry: Backoff{Initial: time.Second}}
	got := Tuning{MaxAttempts: 3, PollInterval: time.Minute}.Or(own).WithDefaults()
	if got.CallTimeout != 2*time.Minute || got.MaxAttempts != 3 || got.PollInterval != time.Minute || got.PollMax != time.Minute ||
		got.WaitTimeout != DefaultTuning.WaitTimeout || got.Retry.Initial != time.Second || got.Retry.Max != DefaultBackoff.Max ||
		got.Sleep == nil || got.Retry.Sleep == nil {
		t.Errorf("set fields over own defaults = %+v", got)
	}
	// Own defaults without a PollMax leave it to DefaultTuning's, not to
	// the caller's shorter PollInterval.
	if got := (Tuning{PollInterval: time.Second}).Or(Tuning{WaitTimeout: time.Minute}).WithDefaults(); got.PollMax != DefaultTuning.PollMax || got.WaitTimeout != time.Minute {
		t.Errorf("own defaults without PollMax = %+v", got)
	}
}
