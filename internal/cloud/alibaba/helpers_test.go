package alibaba_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba/alibabafake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// withVSwitch is a config whose VSwitch the fake knows, with a tag of the
// user's own.
const withVSwitch = minimal + "  vswitch_id: " + alibabafake.VSwitchID + "\n  tags: {team: platform}\n"

// fast is a Cloud with tiny retry and poll timings.
var fast = alibaba.Cloud{
	Backoff:     cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxElapsed: 2 * time.Second},
	Timeout:     5 * time.Second,
	Poll:        time.Millisecond,
	WaitTimeout: 10 * time.Second,
}

// start runs the fake and points the environment at it.
func start(t *testing.T) (*alibabafake.Fake, *config.Config) {
	t.Helper()
	f := alibabafake.New(t)
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
	return f, cloudtest.Load(t, withVSwitch)
}

// count returns how many requests of action the fake served.
func count(f *alibabafake.Fake, action string) int { return len(f.Calls(action)) }

// liveKinds counts the fake's live resources by kind.
func liveKinds(f *alibabafake.Fake) map[string]int {
	m := map[string]int{}
	for _, r := range f.Live() {
		m[r.Kind]++
	}
	return m
}

// noSecrets fails when err's text carries a credential value.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{alibabafake.AccessKeyID, alibabafake.AccessKeySecret, "LTAIfake"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error carries a credential value %q: %v", s, err)
		}
	}
}
