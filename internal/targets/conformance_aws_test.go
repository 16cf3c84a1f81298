package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["aws"] = func(t *testing.T) cloudtest.Harness {
		f := awsfake.New(t)
		return cloudtest.Harness{
			Target: aws.Cloud{Env: f.LookupEnv, Tuning: cloudtest.Tuning},
			Config: cloudtest.Load(t, "packer:\n  cloud: aws\n"),
			Fake:   f,
			Launch: &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance", AllowSSHFrom: "203.0.113.7/32"},
		}
	}
}
