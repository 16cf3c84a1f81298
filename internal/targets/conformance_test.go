package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// harnesses holds, per target name, how to make it ready for the
// conformance suite; each target's harness is in conformance_<name>_test.go.
var harnesses = map[string]func(t *testing.T) cloudtest.Harness{}

// onFake is the harness of target on its double f with the config yaml,
// launching as user sindri with a clearly fake key and SSH allowed from
// a documentation address; a harness changes what its cloud launches
// otherwise.
func onFake(t *testing.T, target cloud.Target, f cloudtest.Fake, yaml string) cloudtest.Harness {
	return cloudtest.Harness{
		Target: target,
		Config: cloudtest.Load(t, yaml),
		Fake:   f,
		Launch: &cloud.LaunchRequest{User: "sindri", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE conformance", AllowSSHFrom: "203.0.113.7/32"},
	}
}

// TestConformance runs the same contract tests against every target
// through its test double (qemu: its local store). A target without a
// harness fails: the contract is not optional.
func TestConformance(t *testing.T) {
	for _, b := range Builders() {
		t.Run(b.Name(), func(t *testing.T) {
			mk, ok := harnesses[b.Name()]
			if !ok {
				t.Fatalf("%s has no conformance harness (internal/targets/conformance_%s_test.go)", b.Name(), b.Name())
			}
			t.Parallel()
			cloudtest.Conformance(t, mk)
		})
	}
}
