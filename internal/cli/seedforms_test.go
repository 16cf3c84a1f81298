package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// The seed's CLI forms: deploy --list-images runs images list; deploy
// --delete-image names the exact images delete command; init --provider
// packer is accepted, any other provider explained; all bad input exit 2.
func TestSeedCLIForms(t *testing.T) {
	cfg := writeConfig(t, "aws")
	fake := newMemCloud(t, "aws")
	fake.images = []cloud.Image{{ID: "ami-0123456789abcdef0", Name: "sindri-1", Region: "us-west-2"}}
	env := os.Environ()

	r := runWith(t, fake, "", env, "deploy", "-c", cfg, "--list-images")
	r.check(t, 0, []string{"ami-0123456789abcdef0", "sindri-1"}, []string{"running sindri-packer images list"})
	if len(fake.callsWith("Launch")) > 0 {
		t.Error("deploy --list-images launched an instance")
	}

	r = runWith(t, fake, "", env, "deploy", "-c", cfg, "--set", "packer.build.profile=minimal", "--delete-image", "ami-old123")
	r.check(t, 2, nil, []string{"error: deploy --delete-image is the seed's form; delete the image with: sindri-packer images delete --config " +
		cfg + " --set packer.build.profile=minimal --clouds aws ami-old123"})
	if calls := fake.callsWith("DeleteImage"); len(calls) > 0 {
		t.Errorf("deploy --delete-image deleted: %v", calls)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "sindri.yaml")
	run(t, nil, "init", "--provider", "packer", "--cloud", "qemu", "-o", out).check(t, 0, []string{"wrote " + out}, nil)
	run(t, nil, "init", "--provider", "fly", "--cloud", "qemu", "-o", filepath.Join(dir, "b.yaml")).
		check(t, 2, nil, []string{"init: --provider fly: sindri-packer builds VM images with Packer only", "sindri init --provider fly"})
	run(t, nil, "init", "--cloud", "gpc", "-o", filepath.Join(dir, "c.yaml")).
		check(t, 2, nil, []string{`error: init: --cloud: unknown cloud "gpc"; did you mean "gcp"?`})
	run(t, nil, "render", "-c", out, "--clouds", "qemu,gpc").
		check(t, 2, nil, []string{`error: --clouds: unknown cloud "gpc"; did you mean "gcp"?`})

	// --set packer.cloud=azure on the aws file: one error, with the way.
	r = run(t, cloudEnv, "render", "-c", cfg, "--set", "packer.cloud=azure", "--out", t.TempDir())
	r.check(t, 2, nil, []string{"--set packer.cloud=azure cannot switch this file", "--clouds azure", "sindri-packer init --cloud azure"})
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("%d lines on stderr, want the one error:\n%s", n, r.stderr)
	}
}

// Upstream Sindri's form: the loader says to migrate; migrate converts in
// place, keeps the original, lists what changed, and the result loads.
func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sindri.yaml")
	upstream := "name: my-vm\ndeployment:\n  provider: packer\nextensions:\n  profile: minimal\n  additional: [node]\nproviders:\n  packer:\n    cloud: qemu\n    build:\n      sindri_version: 3.0.0\n"
	if err := os.WriteFile(file, []byte(upstream), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "validate", "-c", file).check(t, 2, nil, []string{file + ":7:1: this is upstream Sindri's form (deployment:, providers: packer:); run: sindri-packer migrate " + file})

	r := run(t, nil, "migrate", "-o", "-", file)
	r.check(t, 0, []string{"provider: packer", "cloud: qemu", "profile: minimal"}, []string{"migrate: extensions.profile → packer.build.profile",
		`packer.build.extensions[0]: "node" is not in Sindri v3's extension catalogue; did you mean "nodejs"?`})

	r = run(t, nil, "migrate", file)
	r.check(t, 0, nil, []string{"migrate: deployment.provider → provider", "migrate: wrote " + file + " (the original is kept as " + file + ".upstream)"})
	if kept, _ := os.ReadFile(file + ".upstream"); string(kept) != upstream {
		t.Errorf("the original is not kept: %q", kept)
	}
	if _, err := config.Load(file, config.Options{}); err != nil {
		t.Errorf("the migrated file does not load: %v", err)
	}
	// Twice: nothing to convert, nothing written.
	run(t, nil, "migrate", file).check(t, 0, nil, []string{"nothing to convert"})
	// An existing output is kept.
	if err := os.WriteFile(file, []byte(upstream), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "migrate", file).check(t, 2, nil, []string{file + ".upstream already exists; use --force"})
	run(t, nil, "migrate", filepath.Join(dir, "none.yaml")).check(t, 2, nil, []string{"migrate: open"})
}

// --json output for scripts: images list prints nothing on stdout when a
// cloud failed (exit 3); doctor and validate print one JSON object.
func TestJSONForScripts(t *testing.T) {
	cfg := writeConfig(t, "aws")
	fake := newMemCloud(t, "aws")
	fake.fail["ListImages"] = errors.New("RequestLimitExceeded: slow down")
	r := runWith(t, fake, "", os.Environ(), "images", "list", "-c", cfg, "--json")
	r.check(t, 3, nil, []string{"images list failed for aws"})
	if r.stdout != "" {
		t.Errorf("stdout on failure: %q, want nothing", r.stdout)
	}
	fake.fail = map[string]error{}
	r = runWith(t, fake, "", os.Environ(), "images", "list", "-c", cfg, "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("no images: %s", r)
	}

	r = runWith(t, fake, "", []string{"PATH=" + t.TempDir()}, "doctor", "-c", cfg, "--json")
	var doc struct {
		OK     bool
		Checks []struct {
			Cloud, Check, Status, Detail string
			Required                     bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc.OK || len(doc.Checks) < 3 {
		t.Fatalf("doctor --json: %v\n%s", err, r)
	}
	if c := doc.Checks[0]; c.Check != "packer" || c.Status != "missing" || !c.Required {
		t.Errorf("first check %+v, want packer missing", c)
	}
}

// Shell completion offers cloud names for --clouds (item by item) and
// --cloud.
func TestCompleteClouds(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "build", "--clouds", "a"}, "all\naws\nazure\nalibaba\n:6\n"},
		{[]string{"__complete", "build", "--clouds", "aws,"}, "aws,azure\naws,gcp\naws,oci\naws,alibaba\naws,qemu\n:6\n"},
		{[]string{"__complete", "build", "--clouds", "aws,g"}, "aws,gcp\n:6\n"},
		{[]string{"__complete", "init", "--cloud", "g"}, "gcp\n:4\n"},
	} {
		r := run(t, nil, tt.args...)
		if r.stdout != tt.want {
			t.Errorf("%q:\n%s\nwant stdout %q", tt.args, r, tt.want)
		}
	}
}

// validate --json: one JSON object on stdout, findings included, text and
// annotations on stderr; the exit code is unchanged.
func TestValidateJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	finding := strings.ReplaceAll(readFile(t, validateFinding), "@OUT@", out)
	bin := fakeTools(t, finding, 1)
	r := run(t, []string{"PATH=" + bin, "GITHUB_ACTIONS=true"}, "validate", "-c", writeConfig(t, "qemu"), "--out", out, "--json")
	var got struct {
		OK       bool     `json:"ok"`
		Clouds   []string `json:"clouds"`
		Findings []struct {
			File, Tool, Message string
			Line, Col           int
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitFindings {
		t.Fatalf("stdout is not one JSON object (%v):\n%s", err, r)
	}
	if got.OK || len(got.Clouds) != 1 || len(got.Findings) != 1 || got.Findings[0].Line != 61 || got.Findings[0].Tool != "packer-validate" ||
		got.Findings[0].File != filepath.Join(out, "qemu", "sindri.pkr.hcl") {
		t.Errorf("validate --json: %+v", got)
	}
	if !strings.Contains(r.stderr, "::error") || !strings.Contains(r.stderr, "Unsupported argument") {
		t.Errorf("the finding's text and annotation are not on stderr:\n%s", r)
	}
	r = run(t, []string{"PATH=" + fakeTools(t, "", 0)}, "validate", "-c", writeConfig(t, "qemu"), "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) || !strings.Contains(r.stdout, `"findings": []`) {
		t.Errorf("validate --json, no finding:\n%s", r)
	}
}

// A notice (a file: checksum is not fetched by the offline validate) is
// printed and in the JSON, but it is not a finding: exit 0, ok true.
func TestValidateNoticeIsNotAFinding(t *testing.T) {
	cfg := writeConfig(t, "qemu", "base_image_checksum: none", "base_image_checksum: file:https://example.com/SHA256SUMS")
	r := run(t, []string{"PATH=" + fakeTools(t, "", 0)}, "validate", "-c", cfg, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) || !strings.Contains(r.stdout, `"level": "notice"`) ||
		!strings.Contains(r.stderr, "notice: packer.base_image_checksum") {
		t.Errorf("validate with a notice:\n%s", r)
	}
}
