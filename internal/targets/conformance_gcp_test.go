package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

func init() {
	harnesses["gcp"] = func(t *testing.T) cloudtest.Harness {
		f := gcpfake.New(t)
		return cloudtest.Harness{
			Target:       gcp.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloudtest.Tuning},
			Config:       cloudtest.Load(t, "packer:\n  cloud: gcp\n  project_id: "+f.Project+"\n  zone: "+f.Zone+"\n"),
			Fake:         f,
			SeedLeftover: cloudtest.InstanceDiskAsKeyPair(t, f),
			Launch:       &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance", AllowSSHFrom: "203.0.113.7/32"},
		}
	}
}
