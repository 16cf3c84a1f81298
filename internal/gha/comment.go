package gha

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/google/go-github/v62/github"
)

// CommentMarker is the hidden HTML comment that identifies our pull
// request comment, so each run updates it instead of adding another.
const CommentMarker = "<!-- sindri-packer:validate -->"

// Commenter upserts one pull request comment through the GitHub REST API.
type Commenter struct {
	Client *github.Client
	Owner  string
	Repo   string
	// Redactor, when set, redacts every body before it is sent: the
	// runner's log masking never sees what goes through the API.
	Redactor *Redactor
}

// NewCommenter returns a commenter for "owner/repo" with a token; apiURL
// (GITHUB_API_URL, GitHub Enterprise) may be empty for api.github.com.
func NewCommenter(repository, token, apiURL string, hc *http.Client) (*Commenter, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("repository %q: expected owner/name", repository)
	}
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if apiURL != "" {
		// GITHUB_API_URL is the REST root (…/api/v3 on GitHub Enterprise
		// Server); go-github needs it with a trailing slash.
		u, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("api url %q: not an absolute URL", apiURL)
		}
		c.BaseURL = u
	}
	return &Commenter{Client: c, Owner: owner, Repo: repo}, nil
}

// Upsert makes body (with the marker prepended) the one comment of ours
// on pull request number: it edits the comment carrying the marker, or
// creates it. It returns the comment's URL.
func (c *Commenter) Upsert(ctx context.Context, number int, body string) (string, error) {
	return c.UpsertMarked(ctx, number, CommentMarker, body)
}

// CommentMarkerFor is the marker of the comment for one configuration
// file (its path from the repository root): each config path of a
// repository keeps its own comment.
func CommentMarkerFor(config string) string {
	config = strings.NewReplacer("--", "-%2D", ">", "%3E", "\n", " ").Replace(config)
	return "<!-- sindri-packer:validate config=" + config + " -->"
}

// UpsertMarked is Upsert with the comment's own marker (CommentMarkerFor):
// the comment whose first line is marker is edited, else one is created.
func (c *Commenter) UpsertMarked(ctx context.Context, number int, marker, body string) (string, error) {
	body = marker + "\n" + c.Redactor.Redact(body)
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := c.Client.Issues.ListComments(ctx, c.Owner, c.Repo, number, opts)
		if err != nil {
			return "", fmt.Errorf("list comments of #%d: %w", number, err)
		}
		for _, cm := range comments {
			if strings.HasPrefix(cm.GetBody(), marker+"\n") {
				if cm.GetBody() == body {
					return cm.GetHTMLURL(), nil
				}
				up, _, err := c.Client.Issues.EditComment(ctx, c.Owner, c.Repo, cm.GetID(), &github.IssueComment{Body: &body})
				if err != nil {
					return "", fmt.Errorf("update comment %d: %w", cm.GetID(), err)
				}
				return up.GetHTMLURL(), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	cm, _, err := c.Client.Issues.CreateComment(ctx, c.Owner, c.Repo, number, &github.IssueComment{Body: &body})
	if err != nil {
		return "", fmt.Errorf("comment on #%d: %w", number, err)
	}
	return cm.GetHTMLURL(), nil
}

// PullRequestHeadSHA reads the head commit of the pull request from the
// event payload file; "" when there is none.
func PullRequestHeadSHA(eventPath string) string {
	data, err := os.ReadFile(eventPath)
	if eventPath == "" || err != nil {
		return ""
	}
	var ev struct {
		PullRequest *struct {
			Head struct {
				SHA string `json:"sha"`
			} `json:"head"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(data, &ev) != nil || ev.PullRequest == nil {
		return ""
	}
	return ev.PullRequest.Head.SHA
}

// PullRequestNumber reads the pull request number from the event payload
// file (GITHUB_EVENT_PATH); 0 when the event is not about a pull request.
func PullRequestNumber(eventPath string) (int, error) {
	if eventPath == "" {
		return 0, nil
	}
	data, err := os.ReadFile(eventPath)
	if err != nil {
		return 0, fmt.Errorf("event payload: %w", err)
	}
	var ev struct {
		PullRequest *struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return 0, fmt.Errorf("event payload %s: %w", eventPath, err)
	}
	if ev.PullRequest == nil {
		return 0, nil
	}
	return ev.PullRequest.Number, nil
}
