package config

import (
	"strings"
	"testing"
)

// TestPlaceholderModeTakesEmptyAsUnset: in GitHub Actions an input, secret
// or variable nobody gave is the empty string, so in placeholder mode
// (validate, matrix) a ${VAR} set to nothing takes the field's placeholder
// with the same notice as an unset one. Outside placeholder mode, and in
// a field without a placeholder form, empty stays empty (and a required
// field fails as before).
func TestPlaceholderModeTakesEmptyAsUnset(t *testing.T) {
	const yaml = "provider: packer\npacker:\n  cloud: gcp\n  project_id: \"${GCP_PROJECT_ID}\"\n  zone: \"${ZONE:-us-central1-a}\"\n"
	empty := lookup(map[string]string{"GCP_PROJECT_ID": ""})
	var notices []Diagnostic
	cfg, err := Parse("sindri.yaml", []byte(yaml), Options{Getenv: empty, Placeholders: true, Notice: func(d Diagnostic) { notices = append(notices, d) }})
	if err != nil {
		t.Fatalf("placeholder mode with GCP_PROJECT_ID set to nothing: %v", err)
	}
	if got := cfg.Packer.Clouds.GCP.ProjectID; got != Placeholder("project_id", "gcpproject") {
		t.Errorf("project_id = %q, want the placeholder", got)
	}
	if len(notices) != 1 || notices[0].Line != 4 || !strings.Contains(notices[0].Message, "GCP_PROJECT_ID is not set or empty") {
		t.Errorf("notices %v, want one at line 4 naming GCP_PROJECT_ID", notices)
	}
	if _, err := Parse("sindri.yaml", []byte(yaml), Options{Getenv: empty}); err == nil || !strings.Contains(err.Error(), "expanded to nothing") {
		t.Errorf("outside placeholder mode, empty GCP_PROJECT_ID: %v, want the empty-field error", err)
	}
	// A field with no placeholder form keeps the empty value.
	noForm := "provider: packer\npacker:\n  cloud: gcp\n  project_id: p-123456\n  network: \"${NET}\"\n"
	cfg, err = Parse("sindri.yaml", []byte(noForm), Options{Getenv: lookup(map[string]string{"NET": ""}), Placeholders: true, Notice: func(Diagnostic) {}})
	if err != nil || cfg.Packer.Clouds.GCP.Network != "" {
		t.Errorf("network from an empty variable: %v, %+v", err, cfg)
	}
}
