package packer_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/packer"
)

// Killed tells a packer killed at the end of the grace period (its cleanup
// cut short) from one that exited by itself after the interrupt.
func TestBuildReportsWhetherPackerWasKilled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fake       string
		grace      time.Duration
		wantKilled bool
	}{
		{fake: "fake-packer-ignores-interrupt", grace: time.Second, wantKilled: true},
		// Its trap runs once its `sleep 1` ends, well inside the grace.
		{fake: "fake-packer-leaves-child", grace: 10 * time.Second, wantKilled: false},
	}
	for _, tt := range tests {
		t.Run(tt.fake, func(t *testing.T) {
			t.Parallel()
			bin, err := filepath.Abs(filepath.Join("testdata", tt.fake))
			if err != nil {
				t.Fatal(err)
			}
			r := &packer.Runner{Bin: bin, Dir: t.TempDir(), Env: []string{"PATH=/usr/bin:/bin"}}
			res, _ := cancelWhenWaiting(t, r, t.TempDir(), tt.grace)
			if !res.Cancelled || res.Killed != tt.wantKilled {
				t.Errorf("Cancelled=%v Killed=%v, want Cancelled and Killed=%v", res.Cancelled, res.Killed, tt.wantKilled)
			}
		})
	}
}
