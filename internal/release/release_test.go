package release_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/release"
)

// request is what the fake GitHub API saw.
type request struct {
	method, path, auth, accept string
}

// fakeGitHub speaks GitHub's REST API for
// GET /repos/{owner}/{repo}/releases/latest: it answers with status and
// body and records every request.
type fakeGitHub struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newFakeGitHub(t *testing.T, status int, body string) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Accept")})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// latestRelease is an abridged real response of GET .../releases/latest.
func latestRelease(tag string) string {
	return `{
  "url": "https://api.github.com/repos/pacphi/sindri/releases/1",
  "html_url": "https://github.com/pacphi/sindri/releases/tag/` + tag + `",
  "id": 1,
  "tag_name": "` + tag + `",
  "target_commitish": "main",
  "name": "` + tag + `",
  "draft": false,
  "prerelease": false,
  "created_at": "2026-01-02T03:04:05Z",
  "published_at": "2026-01-02T03:04:05Z",
  "assets": []
}`
}

const notFound = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/releases/releases#get-the-latest-release","status":"404"}`

func TestResolveLatestFromAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tag      string
		token    string
		suffix   string // appended to the server URL to make APIURL
		want     string
		wantPath string
		wantAuth string
	}{
		{name: "v tag", tag: "v3.2.0", want: "3.2.0", wantPath: "/repos/pacphi/sindri/releases/latest"},
		{name: "bare tag", tag: "3.0.0", want: "3.0.0", wantPath: "/repos/pacphi/sindri/releases/latest"},
		{name: "trailing slash", tag: "v3.2.0", suffix: "/", want: "3.2.0", wantPath: "/repos/pacphi/sindri/releases/latest"},
		{name: "token", tag: "v3.2.0", token: "ghs_secret", want: "3.2.0", wantPath: "/repos/pacphi/sindri/releases/latest", wantAuth: "Bearer ghs_secret"},
		{name: "enterprise prefix", tag: "v3.2.1", suffix: "/api/v3", want: "3.2.1", wantPath: "/api/v3/repos/pacphi/sindri/releases/latest"},
		{name: "enterprise prefix, trailing slash", tag: "v3.2.1", suffix: "/api/v3/", want: "3.2.1", wantPath: "/api/v3/repos/pacphi/sindri/releases/latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gh := newFakeGitHub(t, http.StatusOK, latestRelease(tt.tag))
			r := release.Resolver{APIURL: gh.srv.URL + tt.suffix, Token: tt.token}
			got, err := r.Resolve(t.Context(), "latest")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
			reqs := gh.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			req := reqs[0]
			if req.method != http.MethodGet || req.path != tt.wantPath {
				t.Errorf("request %s %s, want GET %s", req.method, req.path, tt.wantPath)
			}
			if req.auth != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", req.auth, tt.wantAuth)
			}
			if !strings.Contains(req.accept, "application/vnd.github") {
				t.Errorf("Accept = %q, want GitHub's media type", req.accept)
			}
		})
	}
}

func TestResolveUsesGivenHTTPClient(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t, http.StatusOK, latestRelease("v3.2.0"))
	var used bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	got, err := release.Resolver{APIURL: gh.srv.URL, HTTP: hc}.Resolve(t.Context(), "latest")
	if err != nil || got != "3.2.0" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if !used {
		t.Error("the Resolver's HTTP client was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Versions that need no look-up never touch the network.
func TestResolveWithoutRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		version  string
		override string
		want     string
	}{
		{name: "latest with override", version: "latest", override: "3.0.1", want: "3.0.1"},
		{name: "latest with v override", version: "latest", override: "v3.0.1", want: "3.0.1"},
		{name: "concrete with v", version: "v3.0.1", want: "3.0.1"},
		{name: "concrete without v", version: "3.0.1", want: "3.0.1"},
		{name: "concrete wins over override", version: "2.9.0", override: "3.0.1", want: "2.9.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gh := newFakeGitHub(t, http.StatusOK, latestRelease("v9.9.9"))
			r := release.Resolver{Override: tt.override, APIURL: gh.srv.URL, Token: "ghs_secret"}
			got, err := r.Resolve(t.Context(), tt.version)
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.version, got, err, tt.want)
			}
			if n := len(gh.requests()); n != 0 {
				t.Errorf("%d requests to the API, want none", n)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr []string
	}{
		{name: "not found", status: http.StatusNotFound, body: notFound, wantErr: []string{"404", "pacphi/sindri", "SINDRI_LATEST_VERSION"}},
		{name: "server error", status: http.StatusInternalServerError, body: `{"message":"Server Error"}`, wantErr: []string{"500", "SINDRI_LATEST_VERSION"}},
		{name: "not JSON", status: http.StatusOK, body: `<html>`, wantErr: []string{"SINDRI_LATEST_VERSION"}},
		{name: "empty tag", status: http.StatusOK, body: latestRelease(""), wantErr: []string{"no tag"}},
		{name: "no tag at all", status: http.StatusOK, body: `{"id": 1}`, wantErr: []string{"no tag"}},
		{name: "tag is only v", status: http.StatusOK, body: latestRelease("v"), wantErr: []string{"no tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gh := newFakeGitHub(t, tt.status, tt.body)
			got, err := release.Resolver{APIURL: gh.srv.URL}.Resolve(t.Context(), "latest")
			if err == nil {
				t.Fatalf("Resolve = %q, want an error", got)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestResolveBadAPIURL(t *testing.T) {
	t.Parallel()
	_, err := release.Resolver{APIURL: "http://[::1"}.Resolve(t.Context(), "latest")
	if err == nil || !strings.Contains(err.Error(), "bad GitHub API URL") {
		t.Errorf("error = %v, want a bad GitHub API URL error", err)
	}
}

func TestResolveCancelled(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t, http.StatusOK, latestRelease("v3.2.0"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := release.Resolver{APIURL: gh.srv.URL}.Resolve(ctx, "latest")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want one wrapping context.Canceled", err)
	}
}
