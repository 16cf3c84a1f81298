package cloud

import (
	"context"
	"fmt"
	"time"
)

// Tuning is how every target's client paces itself, with one meaning for
// all five clouds. Zero fields take the defaults; tests pass tiny values.
type Tuning struct {
	// CallTimeout bounds one HTTP attempt of one API call (default 1m);
	// the retries then try again.
	CallTimeout time.Duration
	// Retry paces the retries of throttled and transiently failing calls
	// (429, 5xx, time-outs) and bounds their total time.
	Retry Backoff
	// MaxAttempts bounds the attempts of one API call (default 5).
	MaxAttempts int
	// PollInterval is the first wait between state polls (an instance
	// starting, an operation finishing); it doubles up to PollMax
	// (defaults 2s and 15s).
	PollInterval time.Duration
	PollMax      time.Duration
	// WaitTimeout bounds one wait for a state when ctx has no earlier
	// deadline (default 20m).
	WaitTimeout time.Duration
	// Sleep waits between polls and retries (tests: no real time).
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultTuning is what a zero Tuning means.
var DefaultTuning = Tuning{
	CallTimeout:  time.Minute,
	Retry:        DefaultBackoff,
	MaxAttempts:  5,
	PollInterval: 2 * time.Second,
	PollMax:      15 * time.Second,
	WaitTimeout:  20 * time.Minute,
	Sleep:        Sleep,
}

// WithDefaults fills the zero fields from DefaultTuning.
func (t Tuning) WithDefaults() Tuning {
	t = t.Or(DefaultTuning)
	if t.Retry.Sleep == nil {
		t.Retry.Sleep = t.Sleep
	}
	t.Retry = t.Retry.withDefaults()
	return t
}

// Or fills the zero fields of t from d: a target's own pacing goes first,
// as in c.Tuning.Or(ownDefaults).WithDefaults(). PollMax, when d sets it,
// is never below t's PollInterval.
func (t Tuning) Or(d Tuning) Tuning {
	t.CallTimeout = orDefault(t.CallTimeout, d.CallTimeout)
	t.MaxAttempts = orDefault(t.MaxAttempts, d.MaxAttempts)
	t.PollInterval = orDefault(t.PollInterval, d.PollInterval)
	if t.PollMax <= 0 && d.PollMax > 0 {
		t.PollMax = max(d.PollMax, t.PollInterval)
	}
	t.WaitTimeout = orDefault(t.WaitTimeout, d.WaitTimeout)
	if t.Sleep == nil {
		t.Sleep = d.Sleep
	}
	t.Retry = t.Retry.or(d.Retry)
	return t
}

// Poll calls check until it reports done or fails, waiting PollInterval
// (doubling up to PollMax) between calls. The wait ends with an error that
// names what after WaitTimeout, or when ctx ends first; the error wraps
// context.DeadlineExceeded or ctx's error.
func (t Tuning) Poll(ctx context.Context, what string, check func(ctx context.Context) (done bool, err error)) error {
	t = t.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, t.WaitTimeout)
	defer cancel()
	wait := t.PollInterval
	for {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		if err := t.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: gave up waiting: %w", what, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: gave up waiting: %w", what, ctx.Err())
		}
		wait = min(2*wait, t.PollMax)
	}
}
