package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const setBase = `packer:
  cloud: aws
  region: us-east-1
  tags: {Team: platform}
  build:
    profile: anthropic-dev
    extensions: [python]
    security:
`

func parseSets(t *testing.T, sets ...string) (*Config, error) {
	t.Helper()
	return Parse("sindri.yaml", []byte(setBase), Options{Getenv: lookup(testEnv), Sets: sets})
}

func TestSetOverrides(t *testing.T) {
	tests := []struct {
		name  string
		sets  []string
		check func(*Config) any // returns the value under test
		want  any
	}{
		{"replaces a value", []string{"packer.build.profile=minimal"},
			func(c *Config) any { return c.Packer.Build.Profile }, "minimal"},
		{"lands in the single-cloud block", []string{"packer.image_id=ami-123"},
			func(c *Config) any { return c.Packer.Clouds.AWS.ImageID }, "ami-123"},
		{"list value", []string{"packer.build.extensions=[a,b]"},
			func(c *Config) any { return c.Packer.Build.Extensions }, []string{"a", "b"}},
		{"integer", []string{"packer.volume_size=200"},
			func(c *Config) any { return c.Packer.Clouds.AWS.VolumeSize }, 200},
		{"false over a true default", []string{"packer.build.security.cis_hardening=false"},
			func(c *Config) any { return c.Packer.Build.Security.CISHardening }, false},
		{"adds a map key", []string{"packer.tags.Owner=me"},
			func(c *Config) any { return c.Packer.Clouds.AWS.Tags }, map[string]string{"Team": "platform", "Owner": "me"}},
		{"creates missing mappings", []string{"packer.build.environment.FOO=bar"},
			func(c *Config) any { return c.Packer.Build.Environment }, map[string]string{"FOO": "bar"}},
		{"value containing =", []string{"packer.build.description=a=b"},
			func(c *Config) any { return c.Packer.Build.Description }, "a=b"},
		{"empty value restores the default", []string{"packer.region="},
			func(c *Config) any { return c.Packer.Clouds.AWS.Region }, "us-west-2"},
		{"later wins", []string{"packer.build.profile=minimal", "packer.build.profile=devops"},
			func(c *Config) any { return c.Packer.Build.Profile }, "devops"},
		{"expands ${VAR}", []string{"packer.region=${REGION}"},
			func(c *Config) any { return c.Packer.Clouds.AWS.Region }, "eu-central-1"},
		{"switches cloud", []string{"packer.cloud=alibaba"},
			func(c *Config) any { return c.Selected() }, []string{"alibaba"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseSets(t, tt.sets...)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.check(cfg)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetOnEmptyFile(t *testing.T) {
	cfg, err := Parse("sindri.yaml", nil, Options{Getenv: lookup(testEnv), Sets: []string{"packer.cloud=qemu"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Packer.Clouds.QEMU == nil || cfg.Packer.Clouds.QEMU.CPUs != 2 {
		t.Errorf("QEMU = %+v, want defaults", cfg.Packer.Clouds.QEMU)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"not an integer", []string{"packer.volume_size=big"},
			`--set: packer.volume_size: expected an integer, got "big"`},
		{"out of range", []string{"packer.volume_size=4"},
			`--set: packer.volume_size: must be at least 8, got 4`},
		{"no =", []string{"foo"},
			`--set: "foo": expected path=value, e.g. packer.build.profile=minimal`},
		{"no path", []string{"=x"},
			`--set: "=x": expected path=value, e.g. packer.build.profile=minimal`},
		{"empty segment", []string{"packer..x=1"},
			`--set: "packer..x=1": expected path=value, e.g. packer.build.profile=minimal`},
		{"through a scalar", []string{"packer.cloud.x=1"},
			`--set: packer.cloud.x: packer.cloud is "aws" in the file, not a mapping`},
		{"through a list", []string{"packer.build.extensions.x=1"},
			`--set: packer.build.extensions.x: packer.build.extensions is a list in the file, not a mapping`},
		{"invalid YAML value", []string{"packer.region=[a"},
			`--set: packer.region: invalid value "[a": did not find expected ',' or ']'`},
		{"unknown field", []string{"packer.volume_sise=100"},
			`--set: packer.volume_sise: unknown field for cloud aws; did you mean "volume_size"?`},
		{"unknown cloud", []string{"packer.cloud=gpc"},
			`--set: packer.cloud: unknown cloud "gpc"; did you mean "gcp"?`},
		{"bad list item", []string{"packer.build.extensions=[a, B]"},
			`--set: packer.build.extensions[1]: "B" is not valid: expected lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`},
		{"reserved tag", []string{"packer.tags.managed-by=x"},
			`--set: packer.tags.managed-by: tag "managed-by" is set by sindri-packer itself`},
		{"every problem, --set first", []string{"foo", "packer.volume_size=big", "packer.build.profile=Big"},
			"--set: \"foo\": expected path=value, e.g. packer.build.profile=minimal\n" +
				"--set: packer.build.profile: \"Big\" is not valid: expected lower-case letters, digits, '.', '_' and '-', starting with a letter or digit\n" +
				"--set: packer.volume_size: expected an integer, got \"big\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSets(t, tt.sets...)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			for _, d := range diagnostics(t, err) {
				if d.File != "--set" || d.Line != 0 {
					t.Errorf("diagnostic not attributed to --set: %#v", d)
				}
			}
		})
	}
}

// A --set that passes through an alias writes into the anchored mapping.
func TestSetThroughAlias(t *testing.T) {
	data := "packer:\n  cloud: aws\n  tags: &t {Team: a}\n  build:\n    environment: *t\n"
	cfg, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(testEnv), Sets: []string{"packer.build.environment.FOO=bar"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Packer.Build.Environment["FOO"]; got != "bar" {
		t.Errorf("environment = %v", cfg.Packer.Build.Environment)
	}
}

// A problem in the file stays at its line while a --set is applied.
func TestSetKeepsFilePositions(t *testing.T) {
	data := "packer:\n  cloud: aws\n  volume_size: 2\n"
	_, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(testEnv), Sets: []string{"packer.region=Bad"}})
	want := "--set: packer.region: \"Bad\" is not valid: expected a region or zone name such as us-west-2\n" +
		"sindri.yaml:3:16: packer.volume_size: must be at least 8, got 2"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
