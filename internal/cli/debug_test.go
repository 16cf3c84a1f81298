package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildShowsPackerLogMasked: --debug, PACKER_LOG from the step's
// environment, or RUNNER_DEBUG=1 put packer's own log on stderr with the
// secrets masked, and never into a PACKER_LOG_PATH file; without them
// there is no log. Before, --debug set PACKER_LOG but the log was only
// kept in memory, and the step's PACKER_LOG was blanked.
func TestBuildShowsPackerLogMasked(t *testing.T) {
	t.Parallel()
	const token, password = "canary-token-0123456789", "canary-password-9876"
	tests := []struct {
		name string
		env  []string
		args []string
		log  bool
	}{
		{name: "--debug", args: []string{"--debug"}, log: true},
		{name: "PACKER_LOG=1", env: []string{"PACKER_LOG=1"}, log: true},
		{name: "RUNNER_DEBUG=1", env: []string{"RUNNER_DEBUG=1"}, log: true},
		{name: "PACKER_LOG_PATH is not used", env: []string{"PACKER_LOG=1", "PACKER_LOG_PATH=@LOGFILE@"}, log: true},
		{name: "off", env: []string{"PACKER_LOG_PATH=@LOGFILE@"}},
		{name: "PACKER_LOG=0", env: []string{"PACKER_LOG=0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newBuildFixture(t)
			mustWrite(t, filepath.Join(f.bin, "packer-build"), readFile(t, filepath.Join("testdata", "fake-packer-build")), 0o755)
			mustWrite(t, filepath.Join(f.bin, "packer"), readFile(t, filepath.Join("testdata", "fake-packer-log-wrapper")), 0o755)
			logFile := filepath.Join(t.TempDir(), "packer.log")
			env := []string{"GITHUB_TOKEN=" + token}
			for _, e := range tt.env {
				env = append(env, strings.ReplaceAll(e, "@LOGFILE@", logFile))
			}
			r := f.build(t, env, append([]string{"--var", "db_password=" + password}, tt.args...)...)
			r.check(t, ExitOK, nil, nil)
			shown := strings.Contains(r.stderr, "fake packer log: build ")
			if shown != tt.log {
				t.Errorf("packer's log on stderr: %v, want %v\n%s", shown, tt.log, r)
			}
			if tt.log && !strings.Contains(r.stderr, "-var db_password=*** ") {
				t.Errorf("the -var value is not masked in the log:\n%s", r.stderr)
			}
			if tt.log && !strings.Contains(r.stderr, "token in the environment: ***") {
				t.Errorf("GITHUB_TOKEN is not masked in the log:\n%s", r.stderr)
			}
			for _, canary := range []string{token, password} {
				if strings.Contains(r.stdout+r.stderr, canary) {
					t.Errorf("%s printed:\n%s", canary, r)
				}
			}
			if _, err := os.Stat(logFile); !os.IsNotExist(err) {
				t.Errorf("packer wrote its log to PACKER_LOG_PATH, past the masking (%v)", err)
			}
		})
	}
}
