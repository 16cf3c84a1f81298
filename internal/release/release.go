// Package release resolves the Sindri version to bake into an image:
// "latest" becomes a concrete release through the GitHub releases API, so
// the image and its cache key are reproducible.
package release

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// Upstream Sindri's repository.
const (
	Owner = "pacphi"
	Repo  = "sindri"
)

// Resolver turns a configured version into a concrete one.
type Resolver struct {
	// Override answers "latest" without the network (SINDRI_LATEST_VERSION).
	Override string
	// APIURL is the GitHub API base (GITHUB_API_URL on Actions); empty for
	// api.github.com.
	APIURL string
	// Token authenticates to raise the rate limit (GITHUB_TOKEN).
	Token string
	// HTTP is the client; http.DefaultClient with a timeout when nil.
	HTTP *http.Client
}

// Resolve returns the concrete version for v ("latest" or "v3.0.1" or
// "3.0.1"), without a leading "v".
func (r Resolver) Resolve(ctx context.Context, v string) (string, error) {
	if v != "latest" {
		return strings.TrimPrefix(v, "v"), nil
	}
	if r.Override != "" {
		return strings.TrimPrefix(r.Override, "v"), nil
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	client := github.NewClient(hc)
	if r.Token != "" {
		client = client.WithAuthToken(r.Token)
	}
	if r.APIURL != "" {
		base := strings.TrimSuffix(r.APIURL, "/") + "/"
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("resolve sindri latest: bad GitHub API URL %q: %w", r.APIURL, err)
		}
		client.BaseURL = u
	}
	rel, _, err := client.Repositories.GetLatestRelease(ctx, Owner, Repo)
	if err != nil {
		return "", fmt.Errorf("resolve sindri latest from github.com/%s/%s releases: %w (set build.sindri_version to a release, or SINDRI_LATEST_VERSION)", Owner, Repo, err)
	}
	tag := strings.TrimPrefix(rel.GetTagName(), "v")
	if tag == "" {
		return "", fmt.Errorf("resolve sindri latest: the latest release of %s/%s has no tag", Owner, Repo)
	}
	return tag, nil
}
