package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/atomicfile"
	"github.com/sindri-dev/sindri-packer/internal/verify"
)

// Status is where one cloud's build ended.
type Status string

// The statuses a cloud can end in.
const (
	StatusBuilt     Status = "built"     // packer built a new image
	StatusCached    Status = "cached"    // an image with the same config hash exists
	StatusExisting  Status = "existing"  // the config names an image_id; nothing to build
	StatusPlanned   Status = "planned"   // --dry-run: would build
	StatusFailed    Status = "failed"    // the build (or its test) failed
	StatusCancelled Status = "cancelled" // interrupted before it finished
)

// Failed reports whether the status counts as a failure for the exit code.
func (s Status) Failed() bool { return s == StatusFailed || s == StatusCancelled }

// CloudResult is one cloud's outcome in the unified manifest.
type CloudResult struct {
	Status       Status            `json:"status"`
	ConfigHash   string            `json:"config_hash"`
	ImageID      string            `json:"image_id,omitempty"`
	Images       map[string]string `json:"images,omitempty"` // region → image ID
	ImageName    string            `json:"image_name,omitempty"`
	Extra        map[string]string `json:"extra,omitempty"`
	BuildSeconds float64           `json:"build_seconds"`
	Error        string            `json:"error,omitempty"`
	PackerErrors []string          `json:"packer_errors,omitempty"`
	// Test is the image test's report; TestSkipped says why there is none.
	Test        *verify.Report `json:"test,omitempty"`
	TestSkipped string         `json:"test_skipped,omitempty"`
}

// Manifest is the unified manifest of one run: written even when builds
// fail or the run is cancelled.
type Manifest struct {
	RunID         string                  `json:"run_id"`
	ConfigHash    string                  `json:"config_hash"`
	SindriVersion string                  `json:"sindri_version"`
	PackerVersion string                  `json:"packer_version"`
	StartedAt     time.Time               `json:"started_at"`
	FinishedAt    time.Time               `json:"finished_at"`
	Clouds        map[string]*CloudResult `json:"clouds"`
}

// Failed lists the clouds that failed or were cancelled, sorted.
func (m *Manifest) Failed() []string {
	var out []string
	for _, name := range m.Names() {
		if m.Clouds[name].Status.Failed() {
			out = append(out, name)
		}
	}
	return out
}

// Names returns the clouds in canonical order (config.Clouds), then any
// others sorted.
func (m *Manifest) Names() []string { return orderedNames(m.Clouds) }

// Write writes the manifest as indented JSON, atomically.
func (m *Manifest) Write(path string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	// A temporary file of its own: concurrent writers and a link planted
	// beside the manifest cannot redirect or break the write.
	if err := atomicfile.Write(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a manifest written by Write.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a sindri-packer manifest: %w", path, err)
	}
	if m.Clouds == nil {
		return nil, fmt.Errorf("%s: not a sindri-packer manifest: no clouds", path)
	}
	// Another tool's JSON may have a "clouds" object too; every result of
	// ours has a status, and a null one would crash the readers.
	for name, r := range m.Clouds {
		if r == nil || r.Status == "" {
			return nil, fmt.Errorf("%s: not a sindri-packer manifest: cloud %q has no status", path, name)
		}
	}
	return &m, nil
}
