package pipeline

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func reportManifest(hashes map[string]string) *Manifest {
	m := &Manifest{RunID: "run-1", SindriVersion: "3.0.1", PackerVersion: "1.9.4", Clouds: map[string]*CloudResult{}}
	for name, h := range hashes {
		m.Clouds[name] = &CloudResult{Status: StatusBuilt, ConfigHash: h, ImageID: name + "-image"}
	}
	m.ConfigHash = RunHash(hashes)
	return m
}

// TestConfigHashOutputIsTheImages: with one cloud in the run (a matrix
// job), the config-hash output is that cloud's hash, the one its image
// carries, never the run's hash over the per-cloud hashes.
func TestConfigHashOutputIsTheImages(t *testing.T) {
	awsHash := strings.Repeat("a", 64)
	out := reportManifest(map[string]string{"aws": awsHash}).Outputs("m.json")
	if out["config-hash"] != awsHash {
		t.Errorf("config-hash %q, want the aws image's %q", out["config-hash"], awsHash)
	}
	if want := `{"aws":"` + awsHash + `"}`; out["config-hashes"] != want {
		t.Errorf("config-hashes %q, want %q", out["config-hashes"], want)
	}
}

// TestConfigHashesSeveralClouds: with several clouds no image carries one
// hash for all, so config-hash is not set; config-hashes names each.
func TestConfigHashesSeveralClouds(t *testing.T) {
	a, g := strings.Repeat("a", 64), strings.Repeat("b", 64)
	m := reportManifest(map[string]string{"aws": a, "gcp": g})
	out := m.Outputs("m.json")
	if v, ok := out["config-hash"]; ok {
		t.Errorf("config-hash %q set for two clouds (the run hash %q tags no image)", v, m.ConfigHash)
	}
	if want := `{"aws":"` + a + `","gcp":"` + g + `"}`; out["config-hashes"] != want {
		t.Errorf("config-hashes %q, want %q", out["config-hashes"], want)
	}
}

// TestSummaryShowsEachCloudsHash: the summary shows each cloud's hash in
// its row, and not the run's combined hash.
func TestSummaryShowsEachCloudsHash(t *testing.T) {
	a, g := strings.Repeat("a", 64), strings.Repeat("b", 64)
	m := reportManifest(map[string]string{"aws": a, "gcp": g})
	table := m.Table()
	for _, want := range []string{
		"| cloud | regions | image ID | status | duration | cached | config hash |\n",
		"| aws | — | `aws-image` | built | — | no | `" + a[:12] + "` |\n",
		"| gcp | — | `gcp-image` | built | — | no | `" + g[:12] + "` |\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("summary lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, m.ConfigHash[:12]) {
		t.Errorf("summary shows the combined hash %s:\n%s", m.ConfigHash[:12], table)
	}
}

// TestTableNeverSplitsACharacter: a long error full of multi-byte
// characters is cut on a character boundary (the table's own escaper cut
// at byte 200, inside an é, and the summary held invalid UTF-8).
func TestTableNeverSplitsACharacter(t *testing.T) {
	m := reportManifest(map[string]string{"aws": strings.Repeat("a", 64)})
	m.Clouds["aws"].Status, m.Clouds["aws"].Error = StatusFailed, "x"+strings.Repeat("é", 150)+"|\nend"
	table := m.Table()
	if !utf8.ValidString(table) {
		t.Errorf("table is not valid UTF-8:\n%q", table)
	}
	if !strings.Contains(table, "…") || strings.Contains(table, "end") {
		t.Errorf("long error not cut with an ellipsis:\n%s", table)
	}
}
