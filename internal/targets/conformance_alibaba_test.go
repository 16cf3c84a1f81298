package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["alibaba"] = func(t *testing.T) cloudtest.Harness {
		f := alibabafake.New(t)
		h := onFake(t, alibaba.Cloud{Env: f.LookupEnv, Tuning: cloudtest.Tuning}, f, "packer:\n  cloud: alibaba\n  vswitch_id: "+alibabafake.VSwitchID+"\n")
		h.Launch.AllowSSHFrom = ""
		return h
	}
}
