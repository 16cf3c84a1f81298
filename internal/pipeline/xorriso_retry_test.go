package pipeline

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// A build whose packer failed because xorriso aborted while making the
// cd_files ISO (Debian's xorriso 1.5.4 now and then does; a CI run failed
// so) is run again once; another failure, or a second abort, is the
// result. The fake packer aborts its first ABORT_RUNS runs.
func TestXorrisoAbortIsBuiltAgainOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, abortRuns string
		wantRuns        int
		wantError       string
	}{
		{"one abort", "1", 2, "run 2 failed otherwise"},
		{"two aborts", "2", 2, "Bad exit status: 1"},
		{"no abort", "0", 1, "run 1 failed otherwise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runner := fakePacker(t, "fake-packer-xorriso-abort")
			runner.Env = append(runner.Env, "ABORT_RUNS="+tt.abortRuns)
			var log report.Buffer
			work := t.TempDir()
			o := Options{
				Config: testConfig(t), Targets: map[string]cloud.Target{"a": nullTarget{name: "a"}}, Render: renderOwn,
				Packer: runner, RunID: "test-run", WorkDir: work, Clouds: []string{"a"}, Log: &log,
			}
			m, err := Run(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			r := m.Clouds["a"]
			if r.Status != StatusFailed || !strings.Contains(r.Error, tt.wantError) {
				t.Errorf("result %s %q, want failed with %q", r.Status, r.Error, tt.wantError)
			}
			if got := packerRuns(t, work); got != tt.wantRuns {
				t.Errorf("packer ran %d times, want %d\n%s", got, tt.wantRuns, log.String())
			}
			if again := strings.Count(log.String(), "building again"); again != tt.wantRuns-1 {
				t.Errorf("the log says building again %d times, want %d", again, tt.wantRuns-1)
			}
		})
	}
}

// packerRuns counts the fake packer's runs, recorded in its template
// folder under work.
func packerRuns(t *testing.T, work string) int {
	t.Helper()
	runs := 0
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "attempts" {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			runs += strings.Count(string(b), "x")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}
