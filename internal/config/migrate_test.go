package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upstreamVM is upstream Sindri's documented packer configuration
// (v3/docs/providers/VM.md, "sindri.yaml Configuration"), plus fields that
// do not carry over.
const upstreamVM = `version: "1.0"
name: my-sindri-image

deployment:
  provider: packer

extensions:
  profile: fullstack
  additional:
    - docker

providers:
  packer:
    cloud: aws
    image_name: sindri-production
    description: "Production Sindri environment"

    build:
      sindri_version: "3.0.0"
      cache: true
      ssh_timeout: "20m"
      parallel_builds: 2
      security:
        cis_hardening: true
        openscap_scan: false

    aws:
      region: us-west-2   # Oregon
      instance_type: t3.large
      ami_regions:
        - us-east-1
      ami_users:
        - "123456789012"
      ami_groups: [all]

    tags:
      Environment: production
`

// The loader names upstream's form once, with the command that converts it,
// instead of "did you mean provider?" and a missing packer: section.
func TestLoadUpstreamFormSaysMigrate(t *testing.T) {
	_, err := Parse("conf/my sindri.yaml", []byte(upstreamVM), Options{Getenv: lookup(nil)})
	want := `conf/my sindri.yaml:12:1: this is upstream Sindri's form (deployment:, providers: packer:); run: sindri-packer migrate 'conf/my sindri.yaml'`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	// Another provider's file is not ours at all.
	_, err = Parse("sindri.yaml", []byte("deployment:\n  provider: fly\nproviders:\n  fly: {region: sjc}\n"), Options{Getenv: lookup(nil)})
	want = `sindri.yaml:1:1: this is upstream Sindri's configuration for provider fly; sindri-packer builds VM images: write one with sindri-packer init --cloud CLOUD`
	if err == nil || err.Error() != want {
		t.Errorf("fly config:\n%v\nwant:\n%s", err, want)
	}
}

// migrated migrates src, an upstream sindri.yaml, and loads the result,
// which must load.
func migrated(t *testing.T, src string) (*Config, []byte, []Change) {
	t.Helper()
	out, changes, err := Migrate("sindri.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("sindri.yaml", out, Options{Getenv: lookup(nil)})
	if err != nil {
		t.Fatalf("the migrated file does not load:\n%v\n%s", err, out)
	}
	return cfg, out, changes
}

func TestMigrateUpstreamVM(t *testing.T) {
	cfg, out, changes := migrated(t, upstreamVM)
	want := defaultAWS()
	want.InstanceType, want.AMIRegions, want.AMIUsers = "t3.large", []string{"us-east-1"}, []string{"123456789012"}
	want.Tags = map[string]string{"Environment": "production"}
	if diff := cmp.Diff(want, cfg.Packer.Clouds.AWS); diff != "" {
		t.Errorf("aws (-want +got):\n%s", diff)
	}
	b := cfg.Packer.Build
	if cfg.Name != "my-sindri-image" || b.NamePrefix != "sindri-production" || b.Description != "Production Sindri environment" ||
		b.Profile != "fullstack" || !slices.Equal(b.Extensions, []string{"docker"}) || b.SindriVersion != "3.0.0" ||
		!b.Security.CISHardening || !cfg.Packer.SingleCloud {
		t.Errorf("migrated config: name %q, build %+v", cfg.Name, b)
	}
	if !strings.Contains(string(out), "region: us-west-2 # Oregon") {
		t.Errorf("the comment of a moved field is lost:\n%s", out)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	for _, w := range []string{
		`version: "1.0" → "3.0.0", sindri-packer's format version`,
		"deployment.provider → provider",
		"providers.packer.aws.region → packer.region",
		"dropped providers.packer.aws.ami_groups: sindri-packer never makes an image public; share it with accounts in ami_users",
		"providers.packer.image_name → packer.build.name_prefix",
		"dropped providers.packer.build.parallel_builds: a command-line option here: --parallel N",
		"providers.packer.tags → packer.tags",
		"extensions.profile → packer.build.profile",
		"extensions.additional → packer.build.extensions",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("changes lack %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// Where upstream's defaults differ from ours they are written out, so the
// image stays what it was; other clouds' blocks become the multi-cloud
// form; upstream's cloud aliases are spelt our way.
func TestMigrateDefaultsAndClouds(t *testing.T) {
	src := `deployment: {provider: packer}
providers:
  packer:
    cloud: google
    gcp: {project_id: my-project-123, image_family: sindri}
    aws: {region: eu-west-1}
    tags: {team: platform}
`
	cfg, _, changes := migrated(t, src)
	if got := cfg.Selected(); !slices.Equal(got, []string{"aws", "gcp"}) || cfg.Packer.SingleCloud {
		t.Errorf("clouds %v (single %v), want the multi-cloud form with aws, gcp", got, cfg.Packer.SingleCloud)
	}
	g := cfg.Packer.Clouds.GCP
	if g.EnableSecureBoot || cfg.Packer.Build.Security.CISHardening || cfg.Packer.Build.ImageFamily != "sindri" ||
		g.Labels["team"] != "platform" || cfg.Packer.Clouds.AWS.Tags["team"] != "platform" || cfg.Packer.Clouds.AWS.Region != "eu-west-1" {
		t.Errorf("gcp %+v, aws %+v, build %+v", g, cfg.Packer.Clouds.AWS, cfg.Packer.Build)
	}
	text := ""
	for _, c := range changes {
		text += c.String() + "\n"
	}
	for _, w := range []string{"google is spelt gcp here", "add --clouds gcp", "packer.build.security.cis_hardening: false, upstream's default",
		"providers.packer.tags → packer.clouds.gcp.labels"} {
		if !strings.Contains(text, w) {
			t.Errorf("changes do not say %q:\n%s", w, text)
		}
	}
}

func TestMigrateRefuses(t *testing.T) {
	if _, _, err := Migrate("sindri.yaml", []byte("provider: packer\npacker: {cloud: qemu}\n")); !errors.Is(err, ErrNotUpstream) {
		t.Errorf("our own form: %v, want ErrNotUpstream", err)
	}
	for _, tt := range []struct{ src, want string }{
		{"deployment: {provider: packer}\nproviders:\n  packer:\n    cloud: gpc\n",
			`sindri.yaml:4:12: providers.packer.cloud: unknown cloud "gpc"; did you mean "gcp"?`},
		{"deployment: {provider: packer}\nproviders:\n  packer:\n    aws: {}\n    gcp: {}\n",
			`sindri.yaml:3:3: providers.packer.cloud: missing: name the target cloud (aws, azure, gcp, oci, alibaba, qemu)`},
		{"deployment: {provider: packer}\nproviders:\n  packer: [aws]\n",
			`sindri.yaml:3:11: providers.packer: expected a mapping, got a list`},
	} {
		_, _, err := Migrate("sindri.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}
