package packer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// TestBuildLogGoesToRunnerLog: with PACKER_LOG set, packer's log reaches
// Runner.Log in whole lines (the last one finished); without it, nothing.
func TestBuildLogGoesToRunnerLog(t *testing.T) {
	t.Parallel()
	bin, err := filepath.Abs(filepath.Join("testdata", "fake-packer-log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  []string
		want bool
	}{
		{name: "PACKER_LOG=1", env: []string{"PACKER_LOG=1"}, want: true},
		{name: "PACKER_LOG empty", env: []string{"PACKER_LOG="}},
		{name: "PACKER_LOG=0", env: []string{"PACKER_LOG=0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log report.Buffer
			r := &packer.Runner{Bin: bin, Env: tt.env, Dir: t.TempDir(), Log: &log}
			res, err := r.Build(t.Context(), packer.BuildOptions{Dir: "tpl", Vars: map[string]string{"db_password": "s3cret"}})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("%+v %v", res, err)
			}
			got := log.String()
			if !tt.want {
				if got != "" {
					t.Errorf("log without PACKER_LOG:\n%s", got)
				}
				return
			}
			for _, want := range []string{"[INFO] Packer version: 1.9.4 [fake]\n", "-var db_password=s3cret", "[DEBUG] no final newline\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("log lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "ui,say") {
				t.Errorf("stdout reached the log:\n%s", got)
			}
		})
	}
}

// TestRunWrap: a Wrap command runs packer with its arguments.
func TestRunWrap(t *testing.T) {
	t.Parallel()
	r, rec := fakeRunner(t)
	r.Wrap = []string{"/usr/bin/env", "--"}
	if _, err := os.Stat(r.Wrap[0]); err != nil {
		t.Skip(err)
	}
	if _, err := r.Validate(t.Context(), "DIR", false, nil); err != nil {
		t.Fatal(err)
	}
	got := readRecord(t, rec)
	if strings.Join(got.args, " ") != "validate DIR" {
		t.Errorf("packer under Wrap got %q", got.args)
	}
}
