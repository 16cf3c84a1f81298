package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/err/*.want from the current output")

// testEnv is the only environment the tests see.
var testEnv = map[string]string{
	"EMPTY":                 "",
	"REGION":                "eu-central-1",
	"SIZE":                  "big",
	"SMALL":                 "4",
	"BAD_REGION":            "EU Central",
	"VOLUME_SIZE":           "120",
	"NO":                    "false",
	"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
	"GCP_PROJECT_ID":        "sindri-test-123",
	"OCI_COMPARTMENT_OCID":  "ocid1.compartment.oc1..aaaaaaaatest",
	"OCI_SUBNET_OCID":       "ocid1.subnet.oc1.iad.aaaaaaaatest",
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func testOptions() Options { return Options{Getenv: lookup(testEnv)} }

// writeFile writes a file a test's configuration names (mode 0600).
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// diagnostics asserts that err is Diagnostics and returns them.
func diagnostics(t *testing.T, err error) Diagnostics {
	t.Helper()
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("error is %T (%v), want Diagnostics", err, err)
	}
	return ds
}

// TestBadConfigs loads every testdata/err/*.yaml and compares the
// diagnostics with the .want file beside it.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "err", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d cases; testdata/err is incomplete", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			// The path as a user would type it, with forward slashes.
			path := "testdata/err/" + name + ".yaml"
			cfg, err := Load(path, testOptions())
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want diagnostics", cfg)
			}
			if cfg != nil {
				t.Errorf("Load returned a config with its error")
			}
			ds := diagnostics(t, err)
			for _, d := range ds {
				if d.File == "" || d.Message == "" {
					t.Errorf("diagnostic without file or message: %#v", d)
				}
			}
			got := err.Error() + "\n"
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -update, then review the .want file)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// TestBadConfigsHaveWant keeps .want files from outliving their cases.
func TestBadConfigsHaveWant(t *testing.T) {
	wants, _ := filepath.Glob(filepath.Join("testdata", "err", "*.want"))
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want") + ".yaml"); err != nil {
			t.Errorf("%s has no .yaml beside it", w)
		}
	}
}
