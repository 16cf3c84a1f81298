package cloudtest

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Faults is the fault injection and request recording that every cloud's
// wire-level test double embeds, written once so it has one meaning in all
// of them: FailNext, HangNext and Inject queue (they add to what is
// pending, first in first out), and a fault applies to the first request
// its Match selects. It keeps its own lock, never the fake's, so a hanging
// request cannot block the fake's other requests.
type Faults struct {
	mu      sync.Mutex
	pending []Fault
	calls   []Call
}

// Fault is one injected answer.
type Fault struct {
	// Match selects requests by a substring of their line (e.g.
	// "Action=RunInstances", "POST /compute/v1/"); "" matches any.
	Match string
	// Status is the HTTP status to answer with; Code and Message are the
	// cloud's error code and text ("" lets the fake pick its usual ones
	// for Status).
	Status  int
	Code    string
	Message string
	// Hang holds the request until the client gives up (its time-out or
	// cancellation); nothing is answered.
	Hang bool
}

// Call is one request the fake served.
type Call struct {
	// Line is the request's one-line description, e.g.
	// "POST Action=RunInstances" or "GET /compute/v1/projects/p/global/images".
	Line   string
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Or is the fault's Code and Message, each in its place or, when the
// fault leaves it "", the cloud's usual one for its Status (code,
// message): what a fake answers.
func (f Fault) Or(code, message string) (string, string) {
	return cmp.Or(f.Code, code), cmp.Or(f.Message, message)
}

// FailNext queues n failures with status (429 and 5xx are retried by the
// clients; other statuses are not).
func (f *Faults) FailNext(status, n int) {
	for range n {
		f.Inject(Fault{Status: status})
	}
}

// HangNext queues n requests that hang until the client gives up.
func (f *Faults) HangNext(n int) {
	for range n {
		f.Inject(Fault{Hang: true})
	}
}

// Inject queues faults, in order.
func (f *Faults) Inject(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, faults...)
}

// Pending returns how many injected faults have not been used yet.
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// Requests returns the line of every request served, oldest first.
func (f *Faults) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Line
	}
	return out
}

// Calls returns every request whose line contains match ("" for all),
// oldest first.
func (f *Faults) Calls(match string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if strings.Contains(c.Line, match) {
			out = append(out, c)
		}
	}
	return out
}

// Answered is Intercept for a fake's handler: it records the request and,
// when a fault applies, answers it: a Hang is waited out (nothing is
// written), any other fault is written by write in the cloud's error
// format. It reports whether the request was answered so.
func (f *Faults) Answered(r *http.Request, line string, body []byte, write func(Fault)) bool {
	fault, ok := f.Intercept(r, line, body)
	if ok && !fault.Hang {
		write(fault)
	}
	return ok
}

// Intercept records the request under line and takes the first pending
// fault that matches it. It returns ok=false when the request is to be
// served normally. A Hang fault is waited out here, until the client goes
// away, and returned with ok=true: there is nothing left to answer. For
// any other fault the caller writes Status, Code and Message in its
// cloud's error format.
func (f *Faults) Intercept(r *http.Request, line string, body []byte) (Fault, bool) {
	f.mu.Lock()
	f.calls = append(f.calls, Call{
		Line: line, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: slices.Clone(body),
	})
	i := slices.IndexFunc(f.pending, func(x Fault) bool { return strings.Contains(line, x.Match) })
	if i < 0 {
		f.mu.Unlock()
		return Fault{}, false
	}
	fault := f.pending[i]
	f.pending = slices.Delete(f.pending, i, i+1)
	f.mu.Unlock()
	if fault.Hang {
		<-r.Context().Done()
	}
	return fault, true
}
