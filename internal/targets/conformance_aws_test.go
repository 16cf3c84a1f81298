package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws/awsfake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["aws"] = func(t *testing.T) cloudtest.Harness {
		f := awsfake.New(t)
		return onFake(t, aws.Cloud{Env: f.LookupEnv, Tuning: cloudtest.Tuning}, f, "packer:\n  cloud: aws\n")
	}
}
