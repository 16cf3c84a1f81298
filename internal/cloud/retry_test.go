package cloud

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type statusErr int

func (e statusErr) Error() string { return "status" }

func TestRetry(t *testing.T) {
	retryable := func(err error) bool { var s statusErr; return errors.As(err, &s) && RetryableStatus(int(s)) }
	var waits []time.Duration
	b := Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, MaxElapsed: time.Hour,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	tests := []struct {
		name    string
		errs    []error
		calls   int
		wantErr bool
	}{
		{name: "success at once", errs: []error{nil}, calls: 1},
		{name: "429 then 503 then success", errs: []error{statusErr(429), statusErr(503), nil}, calls: 3},
		{name: "400 is final", errs: []error{statusErr(400), nil}, calls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waits = nil
			calls := 0
			err := Retry(t.Context(), b, retryable, func(context.Context) error {
				calls++
				return tt.errs[calls-1]
			})
			if calls != tt.calls || (err != nil) != tt.wantErr {
				t.Fatalf("calls %d err %v, want %d calls, error %v", calls, err, tt.calls, tt.wantErr)
			}
			if len(waits) != calls-1 && !tt.wantErr {
				t.Fatalf("waits %v for %d calls", waits, calls)
			}
			for i, w := range waits {
				if w <= 0 || w > b.Delay(i)+time.Millisecond {
					t.Fatalf("wait %d = %v, ceiling %v", i, w, b.Delay(i))
				}
			}
		})
	}
}

func TestRetryBoundedInTime(t *testing.T) {
	var total time.Duration
	b := Backoff{Initial: time.Second, Max: time.Second, MaxElapsed: 3 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { total += d; return nil }}
	calls := 0
	err := Retry(t.Context(), b, func(error) bool { return true }, func(context.Context) error {
		calls++
		if calls > 1000 {
			t.Fatal("retry did not stop")
		}
		return statusErr(503)
	})
	if err == nil || total > 3*time.Second || calls < 2 {
		t.Fatalf("err %v after %d calls and %v of waits; want the last error within 3s of waits", err, calls, total)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := Retry(ctx, Backoff{}, func(error) bool { return true }, func(context.Context) error {
		calls++
		cancel()
		return statusErr(503)
	})
	if calls != 1 || err == nil {
		t.Fatalf("calls %d err %v", calls, err)
	}
}

func TestDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Delay(i); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
}

// A reworded error prints the new message and still is what it wraps.
func TestRewordedKeepsTheChain(t *testing.T) {
	inner := fmt.Errorf("sdk: %w", ErrNotFound)
	err := Reworded("image x: not found (request id 1)", inner)
	if err.Error() != "image x: not found (request id 1)" || !errors.Is(err, ErrNotFound) || errors.Unwrap(err) != inner {
		t.Errorf("Reworded = %q, chain %v", err, errors.Unwrap(err))
	}
}
