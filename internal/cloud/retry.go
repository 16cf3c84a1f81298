package cloud

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// Backoff bounds retries of throttled (429) and transiently failing (5xx,
// time-out) API calls: exponential with full jitter, at most MaxElapsed in
// total. The zero value is DefaultBackoff.
type Backoff struct {
	Initial    time.Duration // first wait's ceiling (default 500ms)
	Max        time.Duration // largest single wait (default 20s)
	MaxElapsed time.Duration // give up after this long (default 2m)
	// Sleep waits; tests substitute it. Default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultBackoff is what the cloud clients use unless told otherwise.
var DefaultBackoff = Backoff{Initial: 500 * time.Millisecond, Max: 20 * time.Second, MaxElapsed: 2 * time.Minute}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff
	d.Sleep = Sleep
	return b.or(d)
}

// or fills the zero fields of b from d.
func (b Backoff) or(d Backoff) Backoff {
	b.Initial = orDefault(b.Initial, d.Initial)
	b.Max = orDefault(b.Max, d.Max)
	b.MaxElapsed = orDefault(b.MaxElapsed, d.MaxElapsed)
	if b.Sleep == nil {
		b.Sleep = d.Sleep
	}
	return b
}

// orDefault is v, or d when v is unset (zero or negative): how Backoff
// and Tuning fill their fields from defaults.
func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Delay is the ceiling of the wait before retry number attempt (0-based);
// the actual wait is uniformly random below it (full jitter).
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Retry calls op until it succeeds, returns an error retryable does not
// accept, ctx ends, or MaxElapsed passes; it returns op's last error.
func Retry(ctx context.Context, b Backoff, retryable func(error) bool, op func(ctx context.Context) error) error {
	b = b.withDefaults()
	start := time.Now()
	var slept time.Duration // counted too, for a Sleep that does not take real time
	for attempt := 0; ; attempt++ {
		err := op(ctx)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := rand.N(b.Delay(attempt)) + time.Millisecond
		if max(time.Since(start), slept)+wait > b.MaxElapsed {
			return err
		}
		slept += wait
		if serr := b.Sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// RetryableStatus reports whether an HTTP status means "try again later":
// throttling, and the transient server errors.
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// IsTimeout reports whether err is a network time-out (worth a retry).
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Reworded is err with another message, the one the user should read (the
// cloud's own words, secrets removed); errors.Is and errors.As still reach
// err and what it wraps.
func Reworded(msg string, err error) error { return &rewordedError{msg: msg, err: err} }

type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

// Sleep waits d, or less when ctx ends first (then it returns ctx's error):
// the waits between polls of every cloud.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
