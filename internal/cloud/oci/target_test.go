package oci_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
)

func TestRegions(t *testing.T) {
	field, regions := oci.Cloud{}.Regions(cloudtest.Load(t, minimal+"  region: eu-frankfurt-1\n"))
	if field != "region" || !slices.Equal(regions, []string{"eu-frankfurt-1"}) {
		t.Errorf("Regions = %q %v, want region [eu-frankfurt-1]", field, regions)
	}
	cloudtest.WantNoRegions(t, oci.Cloud{}, cloudtest.Load(t, "packer:\n  cloud: qemu\n"))
}

func TestPinRegion(t *testing.T) {
	cfg := cloudtest.Load(t, minimal)
	got, err := oci.Cloud{}.PinRegion(cfg, "us-phoenix-1")
	if err != nil || !slices.Equal(got, []string{"packer.region=us-phoenix-1"}) {
		t.Errorf("PinRegion = %v, %v; want [packer.region=us-phoenix-1]", got, err)
	}
	if _, err := (oci.Cloud{}).PinRegion(cloudtest.Load(t, "packer:\n  cloud: qemu\n"), "x"); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("PinRegion without an oci block = %v, want ErrNotSupported", err)
	}
}

func TestSecretEnv(t *testing.T) {
	if got := (oci.Cloud{}).SecretEnv(); !slices.Equal(got, []string{"OCI_CLI_KEY_CONTENT"}) {
		t.Errorf("SecretEnv = %v", got)
	}
}

func TestNoPrerequisitesOrHashInputs(t *testing.T) {
	c := oci.Cloud{}
	if p := c.Prerequisites(); p != nil {
		t.Errorf("Prerequisites = %v, want none besides packer", p)
	}
	if in, err := c.HashInputs(cloudtest.Load(t, minimal)); in != nil || err != nil {
		t.Errorf("HashInputs = %v, %v", in, err)
	}
	if c.Local() {
		t.Error("Local() = true for a cloud")
	}
	if _, err := c.Promote(t.Context(), nil, cloud.Artifact{}); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("Promote = %v, want ErrNotSupported", err)
	}
}

// The placeholders let the oracle plugin validate offline: a config file
// with a clearly fake identity and a key that parses, below dir only.
func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	env, vars, err := oci.Cloud{}.Placeholders(dir)
	if err != nil {
		t.Fatal(err)
	}
	if env != nil {
		t.Errorf("env = %v, want none", env)
	}
	file := vars["oci_access_cfg_file"]
	if file != filepath.Join(dir, ".oci", "config") || len(vars) != 1 {
		t.Fatalf("vars = %v, want oci_access_cfg_file below %s", vars, dir)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cloudtest.WantContains(t, "the config file", string(data), "validateonlynotarealuser", "validateonlynotarealtenancy", "key_file="+filepath.Join(dir, ".oci"))
	p, err := common.ConfigurationProviderFromFile(file, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PrivateRSAKey(); err != nil {
		t.Errorf("the placeholder key does not parse: %v", err)
	}
}

func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, oci.Cloud{}, []string{"ocid1.image.oc1.iad.aaaaaaaa7x4zq", "ocid1.image.oc1..aaaa", "ocid1.image.oc1.eu-frankfurt-1.x.aaaa"},
		[]string{"", "ocid1.instance.oc1.iad.aaaa", "ocid1.image.oc1.iad.AAAA", "ocid1.image.oc1.iad.aaaa\n", "ami-0123abcd"})
}
