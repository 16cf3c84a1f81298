package targets

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// harnesses holds, per target name, how to make it ready for the
// conformance suite; each target's harness is in conformance_<name>_test.go.
var harnesses = map[string]func(t *testing.T) cloudtest.Harness{}

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
