package config

import (
	"testing"
)

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
