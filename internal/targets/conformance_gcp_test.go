package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

func init() {
	harnesses["gcp"] = func(t *testing.T) cloudtest.Harness {
		f := gcpfake.New(t)
		h := onFake(t, gcp.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloudtest.Tuning}, f, "packer:\n  cloud: gcp\n  project_id: "+f.Project+"\n  zone: "+f.Zone+"\n")
		h.SeedLeftover = cloudtest.InstanceDiskAsKeyPair(t, f)
		return h
	}
}
