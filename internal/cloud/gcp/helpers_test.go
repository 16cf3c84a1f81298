package gcp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// tiny keeps retries and polls fast; the bounds still apply.
var tiny = cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 2 * time.Second}

// newFake starts a fake and returns it with a Cloud pointed at it the way
// the command line is (the environment), and the fake's project's config.
func newFake(t *testing.T) (*gcpfake.Server, gcp.Cloud, *config.Config) {
	t.Helper()
	f := gcpfake.New(t)
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
	c := gcp.Cloud{Backoff: tiny, Poll: cloud.Backoff{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 5 * time.Second}}
	cfg := cloudtest.Load(t, `
packer:
  cloud: gcp
  project_id: `+f.Project+`
  zone: `+f.Zone+`
  labels:
    team: platform
`)
	t.Cleanup(func() { noMetadata(t, f) })
	return f, c, cfg
}

// noMetadata fails when anything asked the (fake) metadata server.
func noMetadata(t *testing.T, f *gcpfake.Server) {
	t.Helper()
	for _, r := range f.Requests() {
		if strings.Contains(r, "computeMetadata") || strings.Contains(r, "/token") {
			t.Errorf("credential lookup reached the network: %s", r)
		}
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// count returns how many requests match method and a path suffix.
func count(f *gcpfake.Server, method, suffix string) int {
	n := 0
	for _, r := range f.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

func cloudtestLoad(t *testing.T, project string) *config.Config {
	t.Helper()
	return cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: "+project+"\n")
}

func cloudtestLoadAWS(t *testing.T) *config.Config {
	t.Helper()
	return cloudtest.Load(t, "packer:\n  cloud: aws\n")
}
