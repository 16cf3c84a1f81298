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
		h := onFake(t, oci.Cloud{Env: cloudtest.EnvOf(f), Tuning: cloudtest.Tuning}, f, ocifake.YAML)
		h.SeedLeftover = cloudtest.InstanceDiskAsKeyPair(t, f)
		h.Launch = &cloud.LaunchRequest{User: "ubuntu", PublicKey: "ssh-ed25519 AAAAC3NzaFAKE conformance"}
		return h
	}
}
