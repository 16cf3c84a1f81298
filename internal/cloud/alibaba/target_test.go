package alibaba_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

const multi = "packer:\n  clouds:\n    alibaba: {region: cn-shanghai}\n    aws: {}\n"

func TestRegions(t *testing.T) {
	tests := []struct{ name, yaml, region string }{
		{"default region", minimal, "cn-hangzhou"},
		{"multi-cloud form", multi, "cn-shanghai"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			field, regions := alibaba.Cloud{}.Regions(cloudtest.Load(t, tc.yaml))
			if field != "region" || !slices.Equal(regions, []string{tc.region}) {
				t.Errorf("Regions = %q %v, want region [%s]", field, regions, tc.region)
			}
		})
	}
	cloudtest.WantNoRegions(t, alibaba.Cloud{}, cloudtest.Load(t, "packer:\n  cloud: qemu\n"))
}

// The overrides pin the build region, in either form of the file, and
// reload to a config built there.
func TestPinRegion(t *testing.T) {
	tests := []struct{ name, yaml, set string }{
		{"single-cloud form", minimal, "packer.region=ap-southeast-1"},
		{"multi-cloud form", multi, "packer.clouds.alibaba.region=ap-southeast-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sets, err := alibaba.Cloud{}.PinRegion(cloudtest.Load(t, tc.yaml), "ap-southeast-1")
			if err != nil || !slices.Equal(sets, []string{tc.set}) {
				t.Fatalf("PinRegion = %v, %v; want [%s]", sets, err, tc.set)
			}
			if _, regions := (alibaba.Cloud{}).Regions(cloudtest.LoadSet(t, tc.yaml, sets)); !slices.Equal(regions, []string{"ap-southeast-1"}) {
				t.Errorf("pinned regions = %v", regions)
			}
		})
	}
	if _, err := (alibaba.Cloud{}).PinRegion(cloudtest.Load(t, "packer:\n  cloud: qemu\n"), "x"); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("PinRegion without an alibaba block = %v, want ErrNotSupported", err)
	}
}

// Both the plugin's and the SDK's secret variables are masked; the
// access key ID too (the plugin's name for it is ALICLOUD_ACCESS_KEY).
func TestSecretEnv(t *testing.T) {
	got := alibaba.Cloud{}.SecretEnv()
	for _, want := range []string{"ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"} {
		if !slices.Contains(got, want) {
			t.Errorf("SecretEnv %v lacks %s", got, want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	env, vars, err := alibaba.Cloud{}.Placeholders(t.TempDir())
	if err != nil || vars != nil {
		t.Fatalf("Placeholders: vars %v, err %v", vars, err)
	}
	keys := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		keys[k] = v
	}
	for _, k := range []string{"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"} {
		if !strings.Contains(keys[k], "NOT-A-REAL-KEY") {
			t.Errorf("%s = %q, want a clearly fake value", k, keys[k])
		}
	}
}

func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, alibaba.Cloud{}, []string{"m-bp1abc2def3", "m-fake000001"},
		[]string{"", "ami-0123abcd", "m-", "m-ABC", "m-abc\nx", "ubuntu_22_04_x64_20G_alibase_20240101.vhd"})
}
