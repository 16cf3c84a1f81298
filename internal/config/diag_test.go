package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"abc", "abc", 0},
		{"kitten", "sitting", 3},
		{"gpc", "gcp", 2},
		{"volume_sise", "volume_size", 1},
		{"flaw", "lawn", 2},
		{"ünï", "uni", 2}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := levenshtein(tt.b, tt.a); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		in         string
		candidates []string
		want       string
	}{
		{"volume_sise", []string{"volume_size", "volume_type"}, "volume_size"},
		{"gpc", Clouds, "gcp"},
		{"azur", Clouds, "azure"},
		{"qmeu", Clouds, "qemu"},
		{"premium_lrs", []string{"Premium_LRS", "Standard_LRS"}, "Premium_LRS"}, // case only
		{"digitalocean", Clouds, ""},
		{"x", []string{"abc"}, ""}, // short words need close matches
		{"ab", []string{"abc"}, "abc"},
		{"frobnicate", []string{"name", "version", "provider", "packer"}, ""},
		{"anything", nil, ""},
		{"abcdefghij", []string{"abcdefg"}, "abcdefg"},  // distance 3: suggested
		{"abcdefghij", []string{"abcdef"}, ""},          // distance 4: too far
		{"gp4", []string{"gp3", "gp2", "io1"}, "gp3"},   // ties go to the first
		{"cloud", []string{"clouds", "cloud"}, "cloud"}, // exact beats close
	}
	for _, tt := range tests {
		if got := suggest(tt.in, tt.candidates); got != tt.want {
			t.Errorf("suggest(%q, %v) = %q, want %q", tt.in, tt.candidates, got, tt.want)
		}
	}
}

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{File: "a.yaml", Line: 3, Col: 5, Field: "packer.region", Message: "bad"}, "a.yaml:3:5: packer.region: bad"},
		{Diagnostic{File: "a.yaml", Message: "file is empty"}, "a.yaml: file is empty"},
		{Diagnostic{File: "--set", Field: "packer.x", Message: "bad"}, "--set: packer.x: bad"},
		{Diagnostic{File: "a.yaml", Line: 1, Col: 1, Message: "no field"}, "a.yaml:1:1: no field"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	ds := Diagnostics{tests[0].d, tests[1].d}
	if got, want := ds.Error(), "a.yaml:3:5: packer.region: bad\na.yaml: file is empty"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDiagnosticsSort(t *testing.T) {
	ds := Diagnostics{
		{File: "b.yaml", Line: 1, Col: 1, Field: "z"},
		{File: "a.yaml", Line: 2, Col: 1, Field: "y"},
		{File: "a.yaml", Line: 1, Col: 9, Field: "x"},
		{File: "a.yaml", Line: 1, Col: 2, Field: "w2"},
		{File: "a.yaml", Line: 1, Col: 2, Field: "w1"},
		{File: "--set", Field: "v"},
	}
	ds.Sort()
	var got []string
	for _, d := range ds {
		got = append(got, d.Field)
	}
	if want := []string{"v", "w1", "w2", "x", "y", "z"}; !cmp.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
