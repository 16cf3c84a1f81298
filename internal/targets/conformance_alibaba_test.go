package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["alibaba"] = func(t *testing.T) cloudtest.Harness {
		f := alibabafake.New(t)
		return cloudtest.Harness{
			Target: alibaba.Cloud{
				Env:    f.LookupEnv,
				Tuning: cloudtest.Tuning,
			},
			Config: cloudtest.Load(t, "packer:\n  cloud: alibaba\n  vswitch_id: "+alibabafake.VSwitchID+"\n"),
			Fake:   f,
			Launch: &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance"},
		}
	}
}
