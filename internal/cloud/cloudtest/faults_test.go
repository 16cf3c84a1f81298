package cloudtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func request(t *testing.T, path string) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodPost, path, nil)
}

func TestFailNextAndHangNextQueueInOrder(t *testing.T) {
	var f Faults
	f.FailNext(503, 2)
	f.FailNext(429, 1) // adds to the two pending, never replaces them
	var got []int
	for range 4 {
		fault, ok := f.Intercept(request(t, "/"), "POST Action=X", nil)
		if !ok {
			got = append(got, 200)
			continue
		}
		got = append(got, fault.Status)
	}
	want := []int{503, 503, 429, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if len(f.Requests()) != 4 {
		t.Fatalf("recorded %d requests, want 4 (faults are recorded too)", len(f.Requests()))
	}
}

func TestMatchedFaultWaitsForItsRequest(t *testing.T) {
	var f Faults
	f.Inject(Fault{Match: "Action=CreateImage", Status: 400, Code: "InvalidAMIName.Duplicate"})
	if _, ok := f.Intercept(request(t, "/"), "POST Action=DescribeImages", nil); ok {
		t.Fatal("a fault for CreateImage hit DescribeImages")
	}
	fault, ok := f.Intercept(request(t, "/"), "POST Action=CreateImage", []byte("Name=x"))
	if !ok || fault.Code != "InvalidAMIName.Duplicate" || f.Pending() != 0 {
		t.Fatalf("fault %+v ok=%v pending=%d", fault, ok, f.Pending())
	}
	if c := f.Calls("CreateImage"); len(c) != 1 || string(c[0].Body) != "Name=x" {
		t.Fatalf("calls %+v, want the CreateImage body recorded", c)
	}
}

func TestAnsweredWritesAllButHangs(t *testing.T) {
	var f Faults
	f.Inject(Fault{Status: 503}, Fault{Hang: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the hang's client has given up already
	var written []int
	write := func(x Fault) { written = append(written, x.Status) }
	for i, r := range []*http.Request{request(t, "/"), request(t, "/").WithContext(ctx), request(t, "/")} {
		want := i < 2
		if got := f.Answered(r, "GET /", nil, write); got != want {
			t.Fatalf("request %d: answered %v, want %v", i, got, want)
		}
	}
	if len(written) != 1 || written[0] != 503 {
		t.Fatalf("written %v, want only the 503 (a hang writes nothing, a request without fault is not answered)", written)
	}
}

func TestHangHoldsOnlyItsRequestUntilTheClientGivesUp(t *testing.T) {
	var f Faults
	f.HangNext(1)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fault, ok := f.Intercept(request(t, "/").WithContext(ctx), "GET /a", nil)
		if !ok || !fault.Hang {
			t.Errorf("want a hang, got %+v %v", fault, ok)
		}
	}()
	// Another request is served meanwhile: the hang holds no shared lock.
	time.Sleep(10 * time.Millisecond)
	if _, ok := f.Intercept(request(t, "/"), "GET /b", nil); ok {
		t.Fatal("the second request should be served normally")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the hang outlived its client's context")
	}
}

func TestFaultOrKeepsWhatTheFaultNames(t *testing.T) {
	tests := []struct {
		name          string
		fault         Fault
		code, message string
	}{
		{name: "neither", fault: Fault{Status: 503}, code: "Usual", message: "usual text"},
		{name: "both", fault: Fault{Status: 503, Code: "Own", Message: "own text"}, code: "Own", message: "own text"},
		{name: "code only", fault: Fault{Status: 503, Code: "Own"}, code: "Own", message: "usual text"},
		{name: "message only", fault: Fault{Status: 503, Message: "own text"}, code: "Usual", message: "own text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, message := tt.fault.Or("Usual", "usual text")
			if code != tt.code || message != tt.message {
				t.Fatalf("Or = %q, %q; want %q, %q", code, message, tt.code, tt.message)
			}
		})
	}
}
