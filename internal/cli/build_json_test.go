package cli

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/pipeline"
)

// TestBuildJSONPrintsOnlyTheManifest: build --json puts the manifest, and
// nothing else (no table, no workflow commands), on stdout for a build
// that succeeded or failed, with the exit codes of a plain build; bad
// input prints no JSON.
func TestBuildJSONPrintsOnlyTheManifest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fail   bool
		code   int
		status pipeline.Status
	}{
		{"built", false, ExitOK, pipeline.StatusBuilt},
		{"failed", true, ExitFindings, pipeline.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newBuildFixture(t)
			if tc.fail {
				f.fail(t, 1, "Build 'amazon-ebs.sindri' errored: UnauthorizedOperation, status code: 403")
			}
			env, _, _ := actionsEnv(t)
			r := f.build(t, env, "--json")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			var got pipeline.Manifest
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stdout is not the manifest: %v\n%s", err, r)
			}
			if dec.More() || strings.TrimSpace(r.stdout[dec.InputOffset():]) != "" {
				t.Errorf("stdout holds more than the manifest:\n%s", r.stdout)
			}
			if want := f.readManifest(t); !reflect.DeepEqual(&got, want) {
				t.Errorf("stdout's manifest differs from the file:\n%+v\n%+v", got, *want)
			}
			if got.Clouds["aws"] == nil || got.Clouds["aws"].Status != tc.status {
				t.Errorf("aws %+v, want %s", got.Clouds["aws"], tc.status)
			}
			if !strings.Contains(r.stderr, "| aws |") {
				t.Errorf("the table is not on stderr:\n%s", r)
			}
		})
	}
	f := newBuildFixture(t)
	r := f.build(t, nil, "--json", "--parallel", "-1")
	if r.code != ExitBadInput || r.stdout != "" {
		t.Errorf("bad input with --json: exit %d, stdout %q", r.code, r.stdout)
	}
	if _, err := os.Stat(f.manifest); !os.IsNotExist(err) {
		t.Errorf("bad input wrote a manifest (%v)", err)
	}
}
