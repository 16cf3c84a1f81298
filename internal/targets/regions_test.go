package targets_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// Every cloud of config's testdata/ok/multi-all.yaml, decoded from the
// file: each target names its build region's field, then its regions
// (moved from config's CloudSet.Regions; each cloud's TestRegions covers
// the cases).
func TestRegionsFromFile(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "config", "testdata", "ok", "multi-all.yaml"), config.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cloud   string
		field   string
		regions []string
	}{
		{"aws", "region", []string{"eu-west-1", "eu-central-1", "us-east-1"}},
		{"azure", "location", []string{"westeurope", "westus2", "eastus"}},
		{"gcp", "zone", []string{"europe-west4-a"}},
		{"oci", "region", []string{"eu-frankfurt-1"}},
		{"alibaba", "region", []string{"cn-shanghai"}},
		{"qemu", "", []string{"local"}},
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			tg, err := targets.Builder(tt.cloud)
			if err != nil {
				t.Fatal(err)
			}
			field, regions := tg.Regions(cfg)
			if field != tt.field {
				t.Errorf("field = %q, want %q", field, tt.field)
			}
			if diff := cmp.Diff(tt.regions, regions); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
		})
	}
}
