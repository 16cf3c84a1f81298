package config

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every cloud of testdata/ok/multi-all.yaml, decoded from the file.
func TestRegionsFromFile(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "ok", "multi-all.yaml"), testOptions())
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
		{"mars", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			field, regions := cfg.Packer.Clouds.Regions(tt.cloud)
			if field != tt.field {
				t.Errorf("field = %q, want %q", field, tt.field)
			}
			if diff := cmp.Diff(tt.regions, regions); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegions(t *testing.T) {
	tests := []struct {
		name    string
		set     CloudSet
		cloud   string
		field   string
		regions []string
	}{
		{name: "aws without copies", set: CloudSet{AWS: &AWS{Region: "us-west-2"}}, cloud: "aws", field: "region", regions: []string{"us-west-2"}},
		{
			name:  "aws copies after the build region",
			set:   CloudSet{AWS: &AWS{Region: "us-west-2", AMIRegions: []string{"eu-west-1", "ap-south-1"}}},
			cloud: "aws", field: "region", regions: []string{"us-west-2", "eu-west-1", "ap-south-1"},
		},
		{name: "azure without a gallery", set: CloudSet{Azure: &Azure{Location: "westus2"}}, cloud: "azure", field: "location", regions: []string{"westus2"}},
		{
			// The gallery replicates to its location anyway; it is not a
			// second region.
			name:  "azure gallery replication excludes the location",
			set:   CloudSet{Azure: &Azure{Location: "westus2", Gallery: &AzureGallery{ReplicationRegions: []string{"eastus", "westus2", "northeurope"}}}},
			cloud: "azure", field: "location", regions: []string{"westus2", "eastus", "northeurope"},
		},
		{
			name:  "azure gallery without replication regions",
			set:   CloudSet{Azure: &Azure{Location: "westus2", Gallery: &AzureGallery{}}},
			cloud: "azure", field: "location", regions: []string{"westus2"},
		},
		{name: "gcp zone", set: CloudSet{GCP: &GCP{Zone: "us-west1-a"}}, cloud: "gcp", field: "zone", regions: []string{"us-west1-a"}},
		{name: "oci region", set: CloudSet{OCI: &OCI{Region: "us-ashburn-1"}}, cloud: "oci", field: "region", regions: []string{"us-ashburn-1"}},
		{name: "alibaba region", set: CloudSet{Alibaba: &Alibaba{Region: "cn-hangzhou"}}, cloud: "alibaba", field: "region", regions: []string{"cn-hangzhou"}},
		{name: "qemu is local", set: CloudSet{QEMU: &QEMU{}}, cloud: "qemu", field: "", regions: []string{"local"}},
		{name: "cloud not configured", set: CloudSet{AWS: &AWS{Region: "us-west-2"}}, cloud: "gcp"},
		{name: "nothing configured", set: CloudSet{}, cloud: "aws"},
		{name: "unknown cloud", set: CloudSet{AWS: &AWS{Region: "us-west-2"}}, cloud: "mars"},
		{name: "empty name", set: CloudSet{QEMU: &QEMU{}}, cloud: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field, regions := tt.set.Regions(tt.cloud)
			if field != tt.field {
				t.Errorf("field = %q, want %q", field, tt.field)
			}
			if diff := cmp.Diff(tt.regions, regions); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
		})
	}
}

// The path FieldPath gives is one --set accepts for the file it came from,
// in either form.
func TestFieldPathIsASetPath(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"single-cloud form", "packer:\n  cloud: aws\n  region: us-east-1\n"},
		{"multi-cloud form", "packer:\n  clouds:\n    aws:\n      region: us-east-1\n    gcp:\n      project_id: ${GCP_PROJECT_ID}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("sindri.yaml", []byte(tt.yaml), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			path := cfg.Packer.FieldPath("aws", "region")
			cfg, err = Parse("sindri.yaml", []byte(tt.yaml), Options{Getenv: lookup(testEnv), Sets: []string{path + "=eu-north-1"}})
			if err != nil {
				t.Fatalf("--set %s=eu-north-1: %v", path, err)
			}
			if got := cfg.Packer.Clouds.AWS.Region; got != "eu-north-1" {
				t.Errorf("--set %s=eu-north-1 left region %q", path, got)
			}
		})
	}
}
