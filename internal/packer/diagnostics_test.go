package packer_test

import (
	"cmp"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/toolstest"
	"github.com/sindri-dev/sindri-packer/tools"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt from the real packer (needs tools/install.sh)")

// Each testdata/<name>.txt is what the real packer 1.9.4 printed for
// `packer validate <name>` run in testdata/templates (stdout, then stderr).
// TestGoldenOutputsAreRealPacker checks them against the real tool and
// rewrites them with -update.
var goldens = []struct {
	name string
	exit int // packer's exit code
	want []packer.Diagnostic
}{
	{
		name: "unsupported-argument",
		exit: 1,
		want: []packer.Diagnostic{{
			File: "unsupported-argument/sindri.pkr.hcl", Line: 4,
			Summary: "Unsupported argument",
			Detail:  `An argument named "bogus_field" is not expected here.`,
		}},
	},
	{
		// A builder's Prepare error: the messages come before the position.
		name: "builder-prepare",
		exit: 1,
		want: []packer.Diagnostic{{
			File: "builder-prepare/sindri.pkr.hcl", Line: 12,
			Summary: "2 error(s) occurred:",
			Detail:  `* One of iso_url or iso_urls must be specified * An ssh_username must be specified Note: some builders used to default ssh_username to "root".`,
			Items:   []string{"One of iso_url or iso_urls must be specified", `An ssh_username must be specified Note: some builders used to default ssh_username to "root".`},
		}},
	},
	{
		// A parse error quotes the source; the quote is not the detail.
		name: "syntax-error",
		exit: 1,
		want: []packer.Diagnostic{{
			File: "syntax-error/sindri.pkr.hcl", Line: 2,
			Summary: "Unclosed configuration block",
			Detail:  "There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
		}},
	},
	{
		// Packer reports the two sources in either order.
		name: "several-errors",
		exit: 1,
		want: []packer.Diagnostic{
			{File: "several-errors/sindri.pkr.hcl", Line: 4, Summary: "Unsupported argument", Detail: `An argument named "bogus_one" is not expected here.`},
			{File: "several-errors/sindri.pkr.hcl", Line: 5, Summary: "Unsupported argument", Detail: `An argument named "bogus_two" is not expected here.`},
			{File: "several-errors/sindri.pkr.hcl", Line: 10, Summary: "Unsupported argument", Detail: `An argument named "bogus_three" is not expected here.`},
		},
	},
	{
		// The warning before the error is not a diagnostic.
		name: "warning-and-error",
		exit: 1,
		want: []packer.Diagnostic{{
			File: "warning-and-error/sindri.pkr.hcl", Line: 5,
			Summary: "Unsupported argument",
			Detail:  `An argument named "bogus_field" is not expected here.`,
		}},
	},
	{name: "warning-only", exit: 0, want: nil},
}

func sortDiags(ds []packer.Diagnostic) []packer.Diagnostic {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b packer.Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Summary, b.Summary))
	})
	return ds
}

func TestParseDiagnosticsGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range goldens {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tt.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			got := packer.ParseDiagnostics(string(data))
			if !reflect.DeepEqual(sortDiags(got), tt.want) {
				t.Errorf("ParseDiagnostics =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  string
		want []packer.Diagnostic
	}{
		{name: "empty", out: ""},
		{name: "success", out: "The configuration is valid.\n"},
		{
			name: "no position",
			out:  "Error: Unset variable \"region\"\n\nA used variable must be set or have a default value; see\nhttps://packer.io/docs/templates/hcl_templates/syntax for details.\n\n",
			want: []packer.Diagnostic{{
				Summary: `Unset variable "region"`,
				Detail:  "A used variable must be set or have a default value; see https://packer.io/docs/templates/hcl_templates/syntax for details.",
			}},
		},
		{
			name: "absolute path, context and snippet",
			out: "Error: Invalid expression\n\n  on /tmp/out/qemu/sindri.pkr.hcl line 2, in locals:\n   2:   a = \n   3: }\n\n" +
				"Expected the start of an expression, but found an invalid expression token.\n\n\n",
			want: []packer.Diagnostic{{
				File: "/tmp/out/qemu/sindri.pkr.hcl", Line: 2,
				Summary: "Invalid expression",
				Detail:  "Expected the start of an expression, but found an invalid expression token.",
			}},
		},
		{
			name: "build output lines are not detail",
			out:  "==> qemu.sindri: Retrieving ISO\nError: Failed to prepare build: \"qemu.sindri\"\n\n==> Wait completed after 1 second\n",
			want: []packer.Diagnostic{{Summary: `Failed to prepare build: "qemu.sindri"`}},
		},
		{
			name: "warning after an error ends it",
			out:  "Error: A\n\nfirst\n\nWarning: B\n\n  on x.pkr.hcl line 3:\n  (source code not available)\n\nsecond\n",
			want: []packer.Diagnostic{{Summary: "A", Detail: "first"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := packer.ParseDiagnostics(tt.out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDiagnostics =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// realPacker returns a Runner on the packer that tools/install.sh installed,
// with a minimal isolated environment. It skips when the tools are missing,
// except on CI (CI=true), which installs them.
func realPacker(t *testing.T) *packer.Runner {
	t.Helper()
	bin, plugins := toolstest.Packer(t)
	home := t.TempDir()
	return &packer.Runner{
		Bin: bin,
		Env: []string{
			"HOME=" + home,
			"PACKER_CONFIG_DIR=" + filepath.Join(home, ".packer.d"),
			"PACKER_PLUGIN_PATH=" + plugins,
			"CHECKPOINT_DISABLE=1",
			"PACKER_NO_COLOR=1",
		},
	}
}

func TestGoldenOutputsAreRealPacker(t *testing.T) {
	t.Parallel()
	run := realPacker(t)
	templates, err := filepath.Abs(filepath.Join("testdata", "templates"))
	if err != nil {
		t.Fatal(err)
	}
	run.Dir = templates
	for _, tt := range goldens {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := run.Validate(t.Context(), tt.name, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.exit {
				t.Errorf("packer validate exit %d, want %d:\n%s%s", res.ExitCode, tt.exit, res.Stdout, res.Stderr)
			}
			golden := filepath.Join("testdata", tt.name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(res.Stdout+res.Stderr), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			// Compared parsed and sorted: packer's order across blocks varies.
			got := sortDiags(packer.ParseDiagnostics(res.Stdout + res.Stderr))
			if !reflect.DeepEqual(got, sortDiags(packer.ParseDiagnostics(string(want)))) {
				t.Errorf("real packer now prints\n%s%s\nwhich differs from %s (rerun with -update)", res.Stdout, res.Stderr, golden)
			}
		})
	}
}

func TestRealPackerVersion(t *testing.T) {
	t.Parallel()
	run := realPacker(t)
	run.Dir = t.TempDir()
	got, err := run.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := tools.PackerVersion(); got != want {
		t.Errorf("Version = %q, want the pinned %q", got, want)
	}
}
