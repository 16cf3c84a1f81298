package gcp_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
)

func TestRegions(t *testing.T) {
	c := gcp.Cloud{}
	field, regions := c.Regions(cloudtest.Load(t, minimal+"  zone: europe-west4-b\n"))
	if field != "zone" || !slices.Equal(regions, []string{"europe-west4-b"}) {
		t.Errorf("Regions = %q %v, want zone [europe-west4-b]", field, regions)
	}
	cloudtest.WantNoRegions(t, c, cloudtest.Load(t, "packer:\n  cloud: aws\n"))
}

func TestPinRegion(t *testing.T) {
	c := gcp.Cloud{}
	got, err := c.PinRegion(cloudtest.Load(t, minimal), "us-east1-c")
	if err != nil || !slices.Equal(got, []string{"packer.zone=us-east1-c"}) {
		t.Errorf("PinRegion(single cloud) = %v, %v", got, err)
	}
	multi := cloudtest.Load(t, "packer:\n  clouds:\n    gcp:\n      project_id: my-project-123\n")
	got, err = c.PinRegion(multi, "us-east1-c")
	if err != nil || !slices.Equal(got, []string{"packer.clouds.gcp.zone=us-east1-c"}) {
		t.Errorf("PinRegion(clouds) = %v, %v", got, err)
	}
	if _, err := c.PinRegion(cloudtest.Load(t, "packer:\n  cloud: aws\n"), "x"); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("PinRegion without a gcp block = %v, want ErrNotSupported", err)
	}
}

func TestSecretEnv(t *testing.T) {
	if got := (gcp.Cloud{}).SecretEnv(); !slices.Equal(got, []string{"GOOGLE_CREDENTIALS"}) {
		t.Errorf("SecretEnv = %v", got)
	}
}

func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, gcp.Cloud{}, []string{"sindri-dev-1", "projects/my-project/global/images/sindri-dev-1",
		"https://www.googleapis.com/compute/v1/projects/my-project/global/images/sindri-dev-1",
		"http://127.0.0.1:8080/compute/v1/projects/test-project/global/images/x1"},
		[]string{"", "ocid1.image.oc1..aaaa", "Sindri", "1-image", "sindri-", "projects/p/global/images/x y"})
}

// The old gcp defaults survive the move to cloud.Tuning.
func TestTuningKeepsTheGCPDefaults(t *testing.T) {
	got := gcp.Cloud{}.Tuned()
	if got.PollInterval != time.Second || got.PollMax != 10*time.Second || got.WaitTimeout != 15*time.Minute ||
		got.CallTimeout != time.Minute || got.Retry.Initial != cloud.DefaultBackoff.Initial ||
		got.Retry.Max != cloud.DefaultBackoff.Max || got.Retry.MaxElapsed != cloud.DefaultBackoff.MaxElapsed {
		t.Errorf("zero Tuning runs as %+v", got)
	}
	set := gcp.Cloud{Tuning: cloud.Tuning{PollInterval: 20 * time.Second, WaitTimeout: time.Minute, CallTimeout: time.Second}}.Tuned()
	if set.PollInterval != 20*time.Second || set.PollMax != 20*time.Second || set.WaitTimeout != time.Minute || set.CallTimeout != time.Second {
		t.Errorf("set Tuning runs as %+v", set)
	}
}
