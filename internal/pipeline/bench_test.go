package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// BenchmarkParallelBuilds compares five real packer builds of ~3 s each,
// run at once, with one such build. Goal (issue 3): ratio at most 1.2.
// Run: go test -run '^$' -bench ParallelBuilds ./internal/pipeline
func BenchmarkParallelBuilds(b *testing.B) {
	one := func() time.Duration {
		o := options(b, nullTarget{name: "a", sleep: 3 * time.Second})
		start := time.Now()
		m, err := Run(b.Context(), o)
		if err != nil || m.Clouds["a"].Status != StatusBuilt {
			b.Fatalf("one build: %v %+v", err, m)
		}
		return time.Since(start)
	}
	five := func() time.Duration {
		var ts []cloud.Target
		for i := range 5 {
			ts = append(ts, nullTarget{name: fmt.Sprintf("t%d", i), sleep: 3 * time.Second})
		}
		o := options(b, ts...)
		start := time.Now()
		m, err := Run(b.Context(), o)
		if err != nil || len(m.Failed()) > 0 {
			b.Fatalf("five builds: %v %v", err, m.Failed())
		}
		return time.Since(start)
	}
	var t1, t5 time.Duration
	for range b.N {
		t1 += one()
		t5 += five()
	}
	n := time.Duration(b.N)
	b.ReportMetric((t1 / n).Seconds(), "s/one-build")
	b.ReportMetric((t5 / n).Seconds(), "s/five-parallel")
	b.ReportMetric(float64(t5)/float64(t1), "ratio")
}
