package targets

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["aws"] = func(t *testing.T) cloudtest.Harness {
		f := awsfake.New(t)
		return cloudtest.Harness{
			Target: aws.Cloud{Env: f.LookupEnv, Tuning: cloud.Tuning{
				CallTimeout:  300 * time.Millisecond,
				Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
				PollInterval: time.Millisecond,
			}},
			Config: cloudtest.Load(t, "packer:\n  cloud: aws\n"),
			Fake:   f,
			Launch: &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance", AllowSSHFrom: "203.0.113.7/32"},
		}
	}
}
