package packer_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/packer"
)

func TestRegionIDs(t *testing.T) {
	t.Parallel()
	azure := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/images/sindri-1"
	tests := []struct {
		name string
		id   string
		want map[string]string
	}{
		{name: "amazon, several regions", id: "us-east-1:ami-1,us-west-2:ami-2", want: map[string]string{"us-east-1": "ami-1", "us-west-2": "ami-2"}},
		{name: "amazon, one region", id: "us-west-2:ami-0abc", want: map[string]string{"us-west-2": "ami-0abc"}},
		{name: "spaces and empty parts", id: " us-east-1:ami-1 ,, ", want: map[string]string{"us-east-1": "ami-1"}},
		{name: "azure resource ID", id: azure, want: map[string]string{"": azure}},
		{name: "azure resource ID with a colon", id: "/subscriptions/x/images/a:b", want: map[string]string{"": "/subscriptions/x/images/a:b"}},
		{name: "plain ID", id: "sindri-20240101", want: map[string]string{"": "sindri-20240101"}},
		{name: "two colons", id: "ocid1:region:abc", want: map[string]string{"": "ocid1:region:abc"}},
		{name: "empty", id: "", want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := packer.RegionIDs(tt.id); !maps.Equal(got, tt.want) {
				t.Errorf("RegionIDs(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// manifestTwoRuns is what the manifest post-processor leaves after two
// runs: it appends, and last_run_uuid names the latest.
const manifestTwoRuns = `{
  "builds": [
    {
      "name": "sindri",
      "builder_type": "amazon-ebs",
      "build_time": 1700000000,
      "files": null,
      "artifact_id": "us-east-1:ami-old",
      "packer_run_uuid": "run-1",
      "custom_data": {"config_hash": "old"}
    },
    {
      "name": "sindri",
      "builder_type": "amazon-ebs",
      "build_time": 1700000100,
      "files": null,
      "artifact_id": "us-east-1:ami-new,us-west-2:ami-new2",
      "packer_run_uuid": "run-2",
      "custom_data": {"config_hash": "new"}
    },
    {
      "name": "sindri",
      "builder_type": "qemu",
      "build_time": 1700000200,
      "files": [{"name": "output/sindri.qcow2", "size": 1234}],
      "artifact_id": "sindri",
      "packer_run_uuid": "run-2",
      "custom_data": null
    }
  ],
  "last_run_uuid": "run-2"
}`

func TestReadManifest(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(manifestTwoRuns), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := packer.ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []packer.ManifestBuild{
		{Name: "sindri", BuilderType: "amazon-ebs", BuildTime: 1700000100, ArtifactID: "us-east-1:ami-new,us-west-2:ami-new2", PackerRunUUID: "run-2", CustomData: map[string]string{"config_hash": "new"}},
		{Name: "sindri", BuilderType: "qemu", BuildTime: 1700000200, Files: []packer.ManifestFile{{Name: "output/sindri.qcow2", Size: 1234}}, ArtifactID: "sindri", PackerRunUUID: "run-2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadManifest =\n%+v\nwant\n%+v", got, want)
	}
}

func TestReadManifestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("missing file", func(t *testing.T) {
		_, err := packer.ReadManifest(filepath.Join(dir, "missing.json"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "read packer manifest") {
			t.Errorf("error = %v, want a read packer manifest error wrapping fs.ErrNotExist", err)
		}
	})
	t.Run("bad JSON", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(path, []byte(`{"builds": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := packer.ReadManifest(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadManifest = %v, %v; want an error naming %s", got, err, path)
		}
	})
	t.Run("no builds", func(t *testing.T) {
		path := filepath.Join(dir, "empty.json")
		if err := os.WriteFile(path, []byte(`{"builds": [], "last_run_uuid": "x"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := packer.ReadManifest(path); err != nil || len(got) != 0 {
			t.Errorf("ReadManifest = %v, %v; want nothing", got, err)
		}
	})
}
