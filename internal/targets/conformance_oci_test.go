package targets

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

func init() {
	harnesses["oci"] = func(t *testing.T) cloudtest.Harness {
		f := ocifake.New(t)
		return cloudtest.Harness{
			Target: oci.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloud.Tuning{
				CallTimeout:  300 * time.Millisecond,
				Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
				PollInterval: time.Millisecond,
			}},
			Config:       cloudtest.Load(t, ocifake.YAML),
			Fake:         f,
			SeedLeftover: ociLeftover(t, f),
			Launch:       &cloud.LaunchRequest{User: "ubuntu", PublicKey: "ssh-ed25519 AAAAC3NzaFAKE conformance"},
		}
	}
}

// ociLeftover seeds what a crashed OCI run leaves. An instance comes with
// its boot volume, tagged like it, and the sweep lists both; OCI runs
// make no key pairs, so the suite's second leftover of a run is that boot
// volume.
func ociLeftover(t *testing.T, f *ocifake.Fake) func(kind, runID string, created time.Time) string {
	return func(kind, runID string, created time.Time) string {
		if kind != cloud.KindKeyPair {
			return f.SeedLeftover(kind, runID, created)
		}
		for _, r := range f.Live() {
			if r.Kind == cloud.KindDisk && r.Tags[cloud.TagRunID] == runID {
				return r.ID
			}
		}
		t.Fatalf("oci harness: no instance of %s seeded before its key pair", runID)
		return ""
	}
}
