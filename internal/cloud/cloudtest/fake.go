package cloudtest

import (
	"cmp"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// FakeResource is one resource a cloud's wire-level test double holds.
type FakeResource struct {
	Kind    string // a cloud.Kind* constant, or "image" / "snapshot"
	ID      string
	Name    string
	Region  string
	State   string
	Tags    map[string]string
	Created time.Time
}

// Fake is what every cloud's wire-level test double (package
// internal/cloud/<name>/<name>fake) offers the cross-cloud tests of the
// command line: a local HTTP server that speaks that cloud's API.
type Fake interface {
	// Env returns the environment variables that point the cloud's zero
	// value Cloud at this fake, with clearly fake credentials; tests
	// t.Setenv them. No other network address is ever contacted.
	Env() map[string]string
	// SeedImage adds an image this tool made (our tags) and returns its ID.
	SeedImage(name, configHash string, created time.Time) string
	// SeedLeftover adds a temporary resource of kind (cloud.Kind*) tagged
	// with runID, as a crashed run would leave it, and returns its ID.
	SeedLeftover(kind, runID string, created time.Time) string
	// Live returns every resource that exists now (deleted and terminated
	// ones are gone), sorted by kind then ID.
	Live() []FakeResource
	// FailNext queues n failures with status in the cloud's error body
	// (429 and 5xx are retried by the clients; others are not); HangNext
	// queues n requests that hang until the client gives up. Both add to
	// what is pending (Faults, embedded by every fake, gives them that
	// one meaning).
	FailNext(status, n int)
	HangNext(n int)
	// Requests returns a one-line description of every request served,
	// e.g. "POST Action=RunInstances" or "GET /compute/v1/projects/p/global/images".
	Requests() []string
}

// SortLive sorts what a fake's Live returns, by kind then ID, and
// returns it.
func SortLive(rs []FakeResource) []FakeResource {
	slices.SortFunc(rs, func(a, b FakeResource) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.ID, b.ID))
	})
	return rs
}

// EnvOf is the cloud.Env that points a target at f: the fake's Env()
// and nothing of the process environment.
func EnvOf(f Fake) cloud.Env {
	env := f.Env()
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

// SeedImageTags are the tags an image this tool made carries (what a
// fake's SeedImage puts on it): managed-by, its config hash and the
// release, SindriVersion.
func SeedImageTags(configHash string) map[string]string {
	return map[string]string{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: configHash, cloud.TagSindriVersion: SindriVersion,
	}
}

// LeftoverTags are the tags a run puts on a temporary resource (what a
// fake's SeedLeftover puts on it): managed-by, the run's ID and the mark
// of what the run must remove.
func LeftoverTags(runID string) map[string]string {
	return map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: runID, cloud.TagTemporary: cloud.Temporary}
}

// CopyTags returns a copy of tags that is never nil (an empty map for
// none): what a fake stores and what Live hands out, so a test's map and
// the fake's state never share.
func CopyTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	maps.Copy(out, tags)
	return out
}

// Read returns field of what m holds under id, read under the fake's
// lock mu, or T's zero value when m holds nothing there: how a fake's
// accessors hand a test one resource's state.
func Read[V, T any](mu *sync.Mutex, m map[string]V, id string, field func(V) T) T {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[id]
	if !ok {
		var zero T
		return zero
	}
	return field(v)
}

// Serve starts a fake's local server for h (start is httptest.NewServer
// or httptest.NewTLSServer) and stops it when the test ends (Stop).
func Serve(t interface{ Cleanup(func()) }, start func(http.Handler) *httptest.Server, h http.Handler) *httptest.Server {
	s := start(h)
	t.Cleanup(func() { Stop(s) })
	return s
}

// Stop stops a fake's server, releasing hanging requests first: closing
// their connections ends their context, which Intercept waits on, so the
// server does not wait for a client that never gives up.
func Stop(s *httptest.Server) {
	s.CloseClientConnections()
	s.Close()
}
