package validate

import (
	"strings"
	"testing"
)

func TestSummaryTableEscapesCells(t *testing.T) {
	got := Summary([]string{"aws"}, []Finding{
		{File: "/ws/sindri.yaml", Line: 6, Col: 3, Tool: "sindri-packer", Message: "a | b\nc <script>"},
		{Tool: "actionlint", Message: "info", Level: LevelNotice},
	}, func(p string) string { return strings.TrimPrefix(p, "/ws/") })
	for _, want := range []string{
		"❌ sindri-packer validate: 1 finding(s) (aws)",
		"| error | `sindri.yaml:6:3` | sindri-packer | a \\| b c &lt;script&gt; |\n",
		"| notice | — | actionlint | info |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if ok := Summary([]string{"gcp"}, nil, func(p string) string { return p }); !strings.Contains(ok, "✅ sindri-packer validate passed (gcp)") {
		t.Errorf("passing summary %q", ok)
	}
}
