package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/pipeline"
)

// multiYAML is a multi-cloud configuration: aws copying to a second
// region, gcp and the local qemu target.
const multiYAML = `provider: packer
packer:
  clouds:
    aws:
      region: us-east-1
      ami_regions: [us-west-2]
    gcp:
      project_id: sindri-test-123
      zone: europe-west4-a
    qemu:
  build:
    sindri_version: 3.0.1
`

// matrixCases are the jobs each configuration and flags make.
var matrixCases = []struct {
	name   string
	config string
	args   []string
	want   string
}{
	{
		name:   "single cloud",
		config: awsYAML,
		want:   `{"include":[{"cloud":"aws","region":"us-east-1"}]}`,
	},
	{
		name:   "single cloud per region",
		config: awsYAML,
		args:   []string{"--per-region"},
		want: `{"include":[{"cloud":"aws","region":"us-east-1"},` +
			`{"cloud":"aws","region":"us-west-2"}]}`,
	},
	{
		name:   "single cloud per region, build region repeated in ami_regions",
		config: strings.Replace(awsYAML, "[us-west-2]", "[us-west-2, us-east-1, us-west-2]", 1),
		args:   []string{"--per-region"},
		want: `{"include":[{"cloud":"aws","region":"us-east-1"},` +
			`{"cloud":"aws","region":"us-west-2"}]}`,
	},
	{
		name:   "single cloud per region, one region",
		config: strings.Replace(awsYAML, "  ami_regions: [us-west-2]\n", "", 1),
		args:   []string{"--per-region"},
		want:   `{"include":[{"cloud":"aws","region":"us-east-1"}]}`,
	},
	{
		name:   "multi cloud",
		config: multiYAML,
		want: `{"include":[{"cloud":"aws","region":"us-east-1"},` +
			`{"cloud":"gcp","region":"europe-west4-a"},{"cloud":"qemu","region":"local"}]}`,
	},
	{
		name:   "multi cloud per region",
		config: multiYAML,
		args:   []string{"--per-region"},
		want: `{"include":[{"cloud":"aws","region":"us-east-1"},` +
			`{"cloud":"aws","region":"us-west-2"},` +
			`{"cloud":"gcp","region":"europe-west4-a"},{"cloud":"qemu","region":"local"}]}`,
	},
	{
		name:   "multi cloud, some clouds",
		config: multiYAML,
		args:   []string{"--clouds", "qemu,aws", "--per-region"},
		want: `{"include":[{"cloud":"qemu","region":"local"},` +
			`{"cloud":"aws","region":"us-east-1"},` +
			`{"cloud":"aws","region":"us-west-2"}]}`,
	},
}

func TestMatrix(t *testing.T) {
	t.Parallel()
	tests := matrixCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := configFile(t, tt.config)
			outputs := filepath.Join(t.TempDir(), "output")

			// Outside GitHub Actions: only the JSON, no output file.
			r := run(t, []string{"GITHUB_OUTPUT=" + outputs}, append([]string{"matrix", "-c", cfg}, tt.args...)...)
			r.check(t, ExitOK, nil, nil)
			if r.stdout != tt.want+"\n" || r.stderr != "" {
				t.Errorf("got %s\nwant stdout %s", r, tt.want)
			}
			if _, err := os.Stat(outputs); !os.IsNotExist(err) {
				t.Errorf("GITHUB_OUTPUT written outside GitHub Actions (%v)", err)
			}

			// Inside: the same JSON, and the step output "matrix".
			env, outputs, _ := actionsEnv(t)
			r = run(t, env, append([]string{"matrix", "-c", cfg}, tt.args...)...)
			r.check(t, ExitOK, nil, nil)
			if r.stdout != tt.want+"\n" {
				t.Errorf("in GitHub Actions, got %s\nwant stdout %s", r, tt.want)
			}
			if got, want := readOutputs(t, outputs), ghaOutput("matrix", tt.want); got != want {
				t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestMatrixErrors(t *testing.T) {
	t.Parallel()
	cfg := configFile(t, awsYAML)
	r := run(t, nil, "matrix", "-c", filepath.Join(t.TempDir(), "missing.yaml"))
	r.check(t, ExitBadInput, nil, []string{"missing.yaml"})
	r = run(t, nil, "matrix", "-c", cfg, "--clouds", "gcp")
	r.check(t, ExitBadInput, nil, []string{"gcp is not configured"})
	// An outputs file that cannot be written is a tool failure.
	r = run(t, []string{"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + t.TempDir()}, "matrix", "-c", cfg)
	r.check(t, ExitFailure, nil, []string{"github actions output matrix"})
}

// Times of the summarize fixtures.
var (
	t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(10 * time.Minute)
	t2 = t0.Add(20 * time.Minute)
	t3 = t0.Add(30 * time.Minute)
)

// hashOf is a fake 64-hex config hash made of one repeated character.
func hashOf(c string) string { return strings.Repeat(c, 64) }

// jobManifest is the manifest of one matrix job that built one cloud.
func jobManifest(runID string, started, finished time.Time, cloud string, r *pipeline.CloudResult) *pipeline.Manifest {
	return &pipeline.Manifest{
		RunID:         runID,
		ConfigHash:    pipeline.RunHash(map[string]string{cloud: r.ConfigHash}),
		SindriVersion: "3.0.1",
		PackerVersion: "1.9.4",
		StartedAt:     started,
		FinishedAt:    finished,
		Clouds:        map[string]*pipeline.CloudResult{cloud: r},
	}
}

func awsBuilt() *pipeline.CloudResult {
	return &pipeline.CloudResult{
		Status: pipeline.StatusBuilt, ConfigHash: hashOf("a"), ImageID: "ami-0aaaaaaa", ImageName: "sindri-dev-1",
		Images: map[string]string{"us-east-1": "ami-0aaaaaaa", "us-west-2": "ami-0bbbbbbb"}, BuildSeconds: 492,
	}
}

func gcpBuilt() *pipeline.CloudResult {
	return &pipeline.CloudResult{Status: pipeline.StatusBuilt, ConfigHash: hashOf("b"), ImageID: "sindri-dev-2", ImageName: "sindri-dev-2", BuildSeconds: 61}
}

func writeManifests(t *testing.T, dir string, manifests map[string]*pipeline.Manifest) {
	t.Helper()
	for rel, m := range manifests {
		if err := m.Write(filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
}

// writeUnrelated puts JSON files beside the manifests that are not ours.
func writeUnrelated(t *testing.T, dir string) {
	t.Helper()
	for rel, data := range map[string]string{
		"package.json":                    `{"name":"x","version":"1.0.0"}`,
		"array.json":                      `[1,2,3]`,
		"broken.json":                     `{"clouds":`,
		"nested/packer-manifest.json":     `{"builds":[{"name":"sindri","artifact_id":"ami-0zzz","packer_run_uuid":"U"}],"last_run_uuid":"U"}`,
		"nested/deeper/inventory.json":    `{"clouds":{"aws":{"region":"us-east-1"},"gcp":null}}`,
		"nested/deeper/notes.txt":         `{"clouds":{"aws":{"status":"failed"}}}`,
		"nested/deeper/empty-clouds.json": `{"clouds":{"aws":null}}`,
	} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, p, data, 0o644)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeManifests(t, dir, map[string]*pipeline.Manifest{
		"manifest-gcp/job/sindri-manifest.json": jobManifest("run-2", t1, t3, "gcp", gcpBuilt()),
		"manifest-aws/sindri-manifest.json":     jobManifest("run-1", t0, t2, "aws", awsBuilt()),
	})
	writeUnrelated(t, dir)
	out := filepath.Join(t.TempDir(), "merged.json")
	env, outputs, summary := actionsEnv(t)

	r := run(t, env, "summarize", "--manifests", dir, "--manifest", out)
	wantRows := []string{
		"### sindri-packer build `run-1,run-2`\n",
		"| aws | us-east-1, us-west-2 | `ami-0aaaaaaa` | built | 8m12s | no | `" + hashOf("a")[:12] + "` |\n",
		"| gcp | — | `sindri-dev-2` | built | 1m01s | no | `" + hashOf("b")[:12] + "` |\n",
	}
	r.check(t, ExitOK, wantRows, nil)
	if strings.Contains(r.stdout, "::error") || r.stderr != "" {
		t.Errorf("errors from a clean summarize:\n%s", r)
	}

	m, err := pipeline.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	wantHash := pipeline.RunHash(map[string]string{"aws": hashOf("a"), "gcp": hashOf("b")})
	if m.RunID != "run-1,run-2" || !m.StartedAt.Equal(t0) || !m.FinishedAt.Equal(t3) || m.ConfigHash != wantHash ||
		m.SindriVersion != "3.0.1" || m.PackerVersion != "1.9.4" {
		t.Errorf("merged manifest run_id %q, started %s, finished %s, config_hash %q, versions %q %q",
			m.RunID, m.StartedAt, m.FinishedAt, m.ConfigHash, m.SindriVersion, m.PackerVersion)
	}
	if names := strings.Join(m.Names(), ","); names != "aws,gcp" {
		t.Fatalf("merged clouds %s, want aws,gcp (no other JSON file may count)", names)
	}
	if a := m.Clouds["aws"]; a.ImageID != "ami-0aaaaaaa" || a.Images["us-west-2"] != "ami-0bbbbbbb" || a.ConfigHash != hashOf("a") {
		t.Errorf("merged aws %+v", a)
	}

	want := ghaOutput("aws-image-id", "ami-0aaaaaaa") +
		ghaOutput("config-hashes", `{"aws":"`+hashOf("a")+`","gcp":"`+hashOf("b")+`"}`) +
		ghaOutput("gcp-image-id", "sindri-dev-2") +
		ghaOutput("image-regions", `{"aws":{"us-east-1":"ami-0aaaaaaa","us-west-2":"ami-0bbbbbbb"}}`) +
		ghaOutput("images", `{"aws":"ami-0aaaaaaa","gcp":"sindri-dev-2"}`) +
		ghaOutput("manifest", out) + ghaOutput("test-result", "skipped")
	if got := readOutputs(t, outputs); got != want {
		t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", got, want)
	}
	sum := readFile(t, summary)
	for _, row := range wantRows {
		if !strings.Contains(sum, row) {
			t.Errorf("job summary lacks %q:\n%s", row, sum)
		}
	}
}

// TestSummarizeLatestWins: a cloud in several manifests takes the result
// that finished last, whatever order the files are found in.
func TestSummarizeLatestWins(t *testing.T) {
	t.Parallel()
	failed := &pipeline.CloudResult{Status: pipeline.StatusFailed, ConfigHash: hashOf("f"), Error: "packer build exited 1: boom"}
	tests := []struct {
		name      string
		manifests map[string]*pipeline.Manifest // found in path order
		code      int
		wantRow   string
	}{
		{
			name: "retry succeeded",
			manifests: map[string]*pipeline.Manifest{
				"a/retry.json": jobManifest("run-1-2", t2, t3, "aws", awsBuilt()),
				"b/first.json": jobManifest("run-1-1", t0, t1, "aws", failed),
			},
			code:    ExitOK,
			wantRow: "| aws | us-east-1, us-west-2 | `ami-0aaaaaaa` | built |",
		},
		{
			name: "retry failed",
			manifests: map[string]*pipeline.Manifest{
				"a/first.json": jobManifest("run-1-1", t0, t1, "aws", awsBuilt()),
				"b/retry.json": jobManifest("run-1-2", t2, t3, "aws", failed),
			},
			code:    ExitFindings,
			wantRow: "| aws | — | — | failed: packer build exited 1: boom |",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeManifests(t, dir, tt.manifests)
			out := filepath.Join(t.TempDir(), "merged.json")
			r := run(t, nil, "summarize", "--manifests", dir, "--manifest", out)
			r.check(t, tt.code, []string{tt.wantRow}, nil)
			m, err := pipeline.ReadManifest(out)
			if err != nil {
				t.Fatal(err)
			}
			if m.RunID != "run-1-1,run-1-2" || !m.FinishedAt.Equal(t3) {
				t.Errorf("merged run_id %q, finished %s", m.RunID, m.FinishedAt)
			}
		})
	}
}

func TestSummarizeFailedCloud(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	failed := &pipeline.CloudResult{
		Status: pipeline.StatusFailed, ConfigHash: hashOf("b"), Error: "packer build exited 1: quota exceeded",
		PackerErrors: []string{"==> googlecompute.sindri: Error creating instance: quota exceeded"},
	}
	writeManifests(t, dir, map[string]*pipeline.Manifest{
		"aws/sindri-manifest.json": jobManifest("run-1", t0, t1, "aws", awsBuilt()),
		"gcp/sindri-manifest.json": jobManifest("run-1", t0, t2, "gcp", failed),
	})
	out := filepath.Join(t.TempDir(), "merged.json")
	env, outputs, _ := actionsEnv(t)
	r := run(t, env, "summarize", "--manifests", dir, "--manifest", out)
	r.check(t, ExitFindings,
		[]string{
			"| gcp | — | — | failed: packer build exited 1: quota exceeded |",
			"::error title=sindri-packer build gcp failed::packer build exited 1: quota exceeded%0A==> googlecompute.sindri: Error creating instance: quota exceeded\n",
		},
		[]string{"build failed: gcp (manifest: " + out + ")"})
	if strings.Contains(r.stdout, "build aws failed") {
		t.Errorf("the built cloud was annotated as failed:\n%s", r)
	}
	// The good cloud's image still reaches the outputs.
	if got := readOutputs(t, outputs); !strings.Contains(got, ghaOutput("aws-image-id", "ami-0aaaaaaa")) || strings.Contains(got, "gcp-image-id") {
		t.Errorf("GITHUB_OUTPUT:\n%s", got)
	}
	if m, err := pipeline.ReadManifest(out); err != nil || m.RunID != "run-1" || len(m.Clouds) != 2 {
		t.Errorf("merged manifest %+v, %v", m, err)
	}
}

// TestSummarizeSkipsItsOwnOutput: a merged manifest left in the searched
// folder (a re-run) is not read back as a job's manifest.
func TestSummarizeSkipsItsOwnOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeManifests(t, dir, map[string]*pipeline.Manifest{
		"aws/sindri-manifest.json": jobManifest("run-1", t0, t1, "aws", awsBuilt()),
		// A stale merged manifest at the output path, newer and failed.
		"merged.json": jobManifest("stale", t2, t3, "qemu", &pipeline.CloudResult{Status: pipeline.StatusFailed, ConfigHash: hashOf("c"), Error: "stale"}),
	})
	out := filepath.Join(dir, "merged.json")
	for i := range 2 {
		r := run(t, nil, "summarize", "--manifests", dir, "--manifest", out)
		r.check(t, ExitOK, []string{"| aws |"}, nil)
		m, err := pipeline.ReadManifest(out)
		if err != nil {
			t.Fatal(err)
		}
		if m.RunID != "run-1" || len(m.Clouds) != 1 || m.Clouds["aws"] == nil {
			t.Errorf("run %d: merged run_id %q, clouds %v; want run-1's aws only", i+1, m.RunID, m.Names())
		}
	}
}

func TestSummarizeBadInput(t *testing.T) {
	t.Parallel()
	onlyUnrelated := t.TempDir()
	writeUnrelated(t, onlyUnrelated)
	file := filepath.Join(t.TempDir(), "file.json")
	mustWrite(t, file, "{}", 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no --manifests", want: "summarize: --manifests DIR is required"},
		{name: "folder missing", args: []string{"--manifests", filepath.Join(onlyUnrelated, "missing")}, want: "missing: not a folder"},
		{name: "a file", args: []string{"--manifests", file}, want: "file.json: not a folder"},
		{name: "no manifests", args: []string{"--manifests", onlyUnrelated}, want: "no sindri-packer manifest under " + onlyUnrelated},
		{name: "empty folder", args: []string{"--manifests", t.TempDir()}, want: "no sindri-packer manifest under"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "merged.json")
			r := run(t, []string{"GITHUB_ACTIONS=true"}, append([]string{"summarize", "--manifest", out}, tt.args...)...)
			r.check(t, ExitBadInput, nil, []string{tt.want})
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("merged manifest written (%v)", err)
			}
		})
	}
}

// TestSummarizeUnreadableFolder: a folder that cannot be walked is bad
// input, not an empty result.
func TestSummarizeUnreadableFolder(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads any folder")
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	r := run(t, nil, "summarize", "--manifests", dir, "--manifest", filepath.Join(t.TempDir(), "m.json"))
	r.check(t, ExitBadInput, nil, []string{"permission denied"})
}
