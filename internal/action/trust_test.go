package action_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/action"
)

// clouds: the runner passes action.yml's default (all) when the workflow
// leaves the input out, and "" when it is given empty: both mean every
// configured cloud. A value that is there but names no cloud is refused
// instead of silently meaning all.
func TestCloudsInputThatNamesNoCloudIsBadInput(t *testing.T) {
	t.Parallel()
	for _, v := range []string{",", " , ", "\n,\n", ",,"} {
		_, err := action.FromEnv(inputs(append(slices.Clone(defaults), "clouds", v)...))
		ie, ok := err.(*action.InputError)
		if !ok || ie.Input != "clouds" || !strings.Contains(ie.Message, "names no cloud") {
			t.Errorf("clouds %q: %v, want an error on input clouds", v, err)
		}
	}
	for _, v := range []string{"", "  ", "all", " all "} {
		p, err := action.FromEnv(inputs(append(slices.Clone(defaults), "clouds", v)...))
		if err != nil || slices.Contains(p.Steps[0], "--clouds") {
			t.Errorf("clouds %q: %v, %v; want every configured cloud (no --clouds)", v, p, err)
		}
	}
}

// Every flag and --set path made from an input maps back to that input,
// so a value the command itself refuses is reported against the input.
func TestPlanKnowsWhichInputMadeWhichFlag(t *testing.T) {
	t.Parallel()
	p, err := action.FromEnv(inputs(append(slices.Clone(defaults), "command", "repave", "clouds", "aws,gcp",
		"max-age", "30d", "keep", "3", "timeout", "90m", "profile", "minimal", "extensions", "git,docker",
		"set", "packer.region=eu-west-1\npacker.build.cache=false")...))
	if err != nil {
		t.Fatal(err)
	}
	// Each lookup with what it must answer: an error message's flag, or
	// a --set field, to the input it came from ("" for none).
	lookups := []struct {
		name string
		fn   func(string) string
		want map[string]string
	}{
		{"InputForFlag", p.InputForFlag, map[string]string{
			"--clouds: gcp is not configured in sindri.yaml (configured: aws)": "clouds",
			"repave: --keep must be at least 1, got 0":                         "keep",
			"repave: --max-age: not a duration":                                "max-age",
			"build: --timeout and --clouds both wrong":                         "timeout",
			"--config: something":                                              "config",
			"build: --parallelism is not ours":                                 "",
			"nothing named":                                                    "",
		}},
		{"InputForSet", p.InputForSet, map[string]string{
			"packer.build.profile":       "profile",
			"packer.build.extensions[1]": "extensions",
			"packer.region":              "set",
			"packer.build.cache":         "set",
			"packer.build.profiles":      "",
			"packer.zone":                "",
		}},
	}
	for _, l := range lookups {
		for in, want := range l.want {
			if got := l.fn(in); got != want {
				t.Errorf("%s(%q) = %q, want %q", l.name, in, got, want)
			}
		}
	}
}
