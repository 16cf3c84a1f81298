package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci/ocifake"
)

func init() {
	harnesses["oci"] = func(t *testing.T) cloudtest.Harness {
		f := ocifake.New(t)
		return cloudtest.Harness{
			Target:       oci.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloudtest.Tuning},
			Config:       cloudtest.Load(t, ocifake.YAML),
			Fake:         f,
			SeedLeftover: cloudtest.InstanceDiskAsKeyPair(t, f),
			Launch:       &cloud.LaunchRequest{User: "ubuntu", PublicKey: "ssh-ed25519 AAAAC3NzaFAKE conformance"},
		}
	}
}
