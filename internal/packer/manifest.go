package packer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// ManifestBuild is one entry of the manifest post-processor's file.
type ManifestBuild struct {
	Name          string            `json:"name"`
	BuilderType   string            `json:"builder_type"`
	BuildTime     int64             `json:"build_time"`
	Files         []ManifestFile    `json:"files"`
	ArtifactID    string            `json:"artifact_id"`
	PackerRunUUID string            `json:"packer_run_uuid"`
	CustomData    map[string]string `json:"custom_data"`
}

// ManifestFile is a file an artifact consists of.
type ManifestFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// ReadManifest returns the builds of the last run recorded in a manifest
// post-processor file. The post-processor appends across runs, so only
// builds whose packer_run_uuid equals last_run_uuid belong to this run.
func ReadManifest(path string) ([]ManifestBuild, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read packer manifest: %w", err)
	}
	var m struct {
		Builds      []ManifestBuild `json:"builds"`
		LastRunUUID string          `json:"last_run_uuid"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read packer manifest %s: %w", path, err)
	}
	var out []ManifestBuild
	for _, b := range m.Builds {
		if b.PackerRunUUID == m.LastRunUUID {
			out = append(out, b)
		}
	}
	return out, nil
}

// RegionIDs splits an artifact ID into region → image ID. Amazon writes
// "us-east-1:ami-1,us-west-2:ami-2"; IDs without a region prefix come
// back under "".
func RegionIDs(artifactID string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(artifactID, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		region, id, ok := strings.Cut(part, ":")
		if !ok || strings.Contains(id, ":") || strings.HasPrefix(part, "/") {
			out[""] = part
			continue
		}
		out[region] = id
	}
	return out
}
