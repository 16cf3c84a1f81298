package targets

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

func init() {
	harnesses["gcp"] = func(t *testing.T) cloudtest.Harness {
		f := gcpfake.New(t)
		return cloudtest.Harness{
			Target: gcp.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloud.Tuning{
				CallTimeout:  300 * time.Millisecond,
				Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
				PollInterval: time.Millisecond,
			}},
			Config:       cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: "+f.Project+"\n  zone: "+f.Zone+"\n"),
			Fake:         f,
			SeedLeftover: gcpLeftover(t, f),
			Launch:       &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance", AllowSSHFrom: "203.0.113.7/32"},
		}
	}
}

// gcpLeftover seeds what a crashed GCP run leaves. An instance comes with
// its auto-delete boot disk, labelled like it (Launch labels it so), and
// the sweep lists both; GCP runs make no key pairs, so the suite's second
// leftover of a run is that boot disk.
func gcpLeftover(t *testing.T, f *gcpfake.Fake) func(kind, runID string, created time.Time) string {
	return func(kind, runID string, created time.Time) string {
		if kind != cloud.KindKeyPair {
			return f.SeedLeftover(kind, runID, created)
		}
		for _, r := range f.Live() {
			if r.Kind == cloud.KindDisk && r.Tags[cloud.TagRunID] == runID {
				return r.ID
			}
		}
		t.Fatalf("gcp harness: no instance of %s seeded before its key pair", runID)
		return ""
	}
}
