package gha_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/gha"
)

// fakeGitHub is a TEST DOUBLE of the GitHub REST API's issue comments
// (GET/POST /repos/{o}/{r}/issues/{n}/comments, PATCH
// /repos/{o}/{r}/issues/comments/{id}), paginated with Link headers like
// the real API, two comments per page.
type fakeGitHub struct {
	mu       sync.Mutex
	comments []fakeComment
	requests []string
	auth     []string
	nextID   int64
}

type fakeComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	URL  string `json:"html_url"`
}

func (f *fakeGitHub) serve(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/images/issues/7/comments":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if page == 0 {
				page = 1
			}
			from, to := (page-1)*2, page*2
			if to < len(f.comments) {
				w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=%d&per_page=100>; rel="next"`, srv.URL, r.URL.Path, page+1))
			}
			to = min(to, len(f.comments))
			json.NewEncoder(w).Encode(f.comments[min(from, to):to])
		case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/images/issues/7/comments":
			var c fakeComment
			json.NewDecoder(r.Body).Decode(&c)
			f.nextID++
			c.ID, c.URL = f.nextID, fmt.Sprintf("https://github.example/acme/images/pull/7#issuecomment-%d", f.nextID)
			f.comments = append(f.comments, c)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(c)
		case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/images/issues/comments/"):
			id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/repos/acme/images/issues/comments/"), 10, 64)
			var c fakeComment
			json.NewDecoder(r.Body).Decode(&c)
			for i := range f.comments {
				if f.comments[i].ID == id {
					f.comments[i].Body = c.Body
					json.NewEncoder(w).Encode(f.comments[i])
					return
				}
			}
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeGitHub) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func TestUpsertComment(t *testing.T) {
	t.Parallel()
	f := &fakeGitHub{nextID: 100}
	// Other people's comments, on more than one page, come first.
	for i := range 3 {
		f.comments = append(f.comments, fakeComment{ID: int64(i + 1), Body: "looks good " + strconv.Itoa(i)})
	}
	srv := f.serve(t)
	c, err := gha.NewCommenter("acme/images", "ghs_token", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}

	url, err := c.Upsert(t.Context(), 7, "validate: 2 findings")
	if err != nil {
		t.Fatal(err)
	}
	if url != "https://github.example/acme/images/pull/7#issuecomment-101" {
		t.Errorf("url %q", url)
	}
	want := []string{"GET /repos/acme/images/issues/7/comments", "GET /repos/acme/images/issues/7/comments", "POST /repos/acme/images/issues/7/comments"}
	if got := f.take(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}

	// The second run updates the same comment: still one comment of ours.
	if _, err := c.Upsert(t.Context(), 7, "validate: ok"); err != nil {
		t.Fatal(err)
	}
	if got := f.take(); got[len(got)-1] != "PATCH /repos/acme/images/issues/comments/101" {
		t.Errorf("requests %q, want a PATCH of comment 101 last", got)
	}
	ours := 0
	for _, cm := range f.comments {
		if strings.Contains(cm.Body, gha.CommentMarker) {
			ours++
			if cm.Body != gha.CommentMarker+"\nvalidate: ok" {
				t.Errorf("body %q", cm.Body)
			}
		}
	}
	if ours != 1 || len(f.comments) != 4 {
		t.Errorf("%d comments of ours, %d in all: %+v", ours, len(f.comments), f.comments)
	}

	// The same body again: nothing is written.
	if _, err := c.Upsert(t.Context(), 7, "validate: ok"); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.take() {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("unchanged comment written: %s", r)
		}
	}
	for _, a := range f.auth {
		if a != "Bearer ghs_token" {
			t.Errorf("Authorization %q", a)
		}
	}
}

func TestUpsertCommentAPIError(t *testing.T) {
	t.Parallel()
	f := &fakeGitHub{}
	srv := f.serve(t)
	c, err := gha.NewCommenter("acme/other", "", srv.URL+"/", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(t.Context(), 7, "x")
	if err == nil || !strings.Contains(err.Error(), "list comments of #7") || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v", err)
	}
}

func TestNewCommenterBadInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ repo, api string }{{"noslash", ""}, {"/x", ""}, {"a/b", "not a url"}} {
		if _, err := gha.NewCommenter(tt.repo, "", tt.api, nil); err == nil {
			t.Errorf("NewCommenter(%q, %q): no error", tt.repo, tt.api)
		}
	}
}

func TestPullRequestNumber(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		path    string
		want    int
		wantErr bool
	}{
		{path: write("pr.json", `{"action":"synchronize","number":12,"pull_request":{"number":12}}`), want: 12},
		{path: write("push.json", `{"ref":"refs/heads/main"}`), want: 0},
		{path: "", want: 0},
		{path: write("bad.json", `{`), wantErr: true},
		{path: filepath.Join(dir, "missing.json"), wantErr: true},
	}
	for _, tt := range tests {
		n, err := gha.PullRequestNumber(tt.path)
		if (err != nil) != tt.wantErr || n != tt.want {
			t.Errorf("PullRequestNumber(%s) = %d, %v; want %d (error: %v)", filepath.Base(tt.path), n, err, tt.want, tt.wantErr)
		}
	}
}

func TestWarning(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	gha.New(onRunner, &b).Warning(gha.Annotation{Title: "input image", Message: "ignored: 100%"})
	gha.New(env(nil), &b).Warning(gha.Annotation{Title: "off the runner", Message: "nothing"})
	if want := "::warning title=input image::ignored: 100%25\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// The comment goes out through the API, where the runner's masking never
// applies: its body passes through the redactor.
func TestUpsertRedactsBody(t *testing.T) {
	t.Parallel()
	f := &fakeGitHub{nextID: 100}
	srv := f.serve(t)
	c, err := gha.NewCommenter("acme/images", "ghs_token", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.Redactor = gha.NewRedactor()
	c.Redactor.Add("ghs_canary_token_123")
	if _, err := c.Upsert(t.Context(), 7, "checksum file ./ghs_canary_token_123 not found"); err != nil {
		t.Fatal(err)
	}
	if len(f.comments) != 1 || strings.Contains(f.comments[0].Body, "ghs_canary") || !strings.Contains(f.comments[0].Body, "./*** not found") {
		t.Errorf("comments %+v", f.comments)
	}
}
