package targets

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func init() {
	harnesses["azure"] = func(t *testing.T) cloudtest.Harness {
		f := azurefake.New(t)
		h := onFake(t, azure.Cloud{Env: f.LookupEnv, Tuning: cloudtest.Tuning}, f, "packer:\n  cloud: azure\n  subscription_id: "+azurefake.Subscription+
			"\n  resource_group: "+azurefake.ResourceGroup+"\n  location: "+azurefake.Location+"\n")
		h.SeedLeftover = azureLeftover(f)
		return h
	}
}

// azureLeftover seeds what a crashed Azure run leaves. Azure runs make no
// key pairs (the key is in the VM's OS profile), so the suite's second
// leftover of a run is the network security group Launch makes beside
// the VM.
func azureLeftover(f *azurefake.Fake) func(kind, runID string, created time.Time) string {
	return func(kind, runID string, created time.Time) string {
		if kind == cloud.KindKeyPair {
			kind = cloud.KindSecurityGroup
		}
		return f.SeedLeftover(kind, runID, created)
	}
}
