package cli

import (
	"testing"
)

// TestDeployOutputsSorted: deploy sets its step outputs in sorted order,
// so the outputs file is the same bytes for the same instance (it wrote
// them in map order, which changes from run to run; eight deploys in a
// row in the same order would be chance once in 128).
func TestDeployOutputsSorted(t *testing.T) {
	want := ghaOutput("instance-address", "203.0.113.1") + ghaOutput("instance-id", "i-001")
	for range 8 {
		fake, cfg, env := lifecycleWorld(t)
		actions, outputs, _ := actionsEnv(t)
		runWith(t, fake, "", append(env, actions...), "deploy", "-c", cfg, "--image", "ami-0abc").check(t, 0, nil, nil)
		if got := readOutputs(t, outputs); got != want {
			t.Fatalf("outputs\n%s\nwant\n%s", got, want)
		}
	}
}

// TestDeployOutputsWhenTheDeploymentExists: a re-run deploy job finds its
// deployment and changes nothing, but still sets instance-id and
// instance-address (from the existing instance), which later steps read.
func TestDeployOutputsWhenTheDeploymentExists(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	actions, outputs, _ := actionsEnv(t)
	runWith(t, fake, "", append(env, actions...), "deploy", "-c", cfg, "--image", "ami-0abc").check(t, 0, nil, nil)
	first := readOutputs(t, outputs)
	rerun, outputs2, _ := actionsEnv(t)
	runWith(t, fake, "", append(env, rerun...), "deploy", "-c", cfg, "--image", "ami-0abc").check(t, 0, []string{"already exists"}, nil)
	if n := len(fake.callsWith("Launch")); n != 1 {
		t.Errorf("%d launches, want 1", n)
	}
	if got := readOutputs(t, outputs2); got != first {
		t.Errorf("re-run outputs\n%s\nwant the first run's\n%s", got, first)
	}
}
