package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/packer"
	"github.com/sindri-dev/sindri-packer/internal/render"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// TestRealPackerFindingIsShortAndOnTheField: a builder error from the real
// packer validate is packer's one message, placed on the sindri.yaml line
// of the field that produced the value. It used to carry packer's whole
// debug log (TRACE lines, temporary paths; kilobytes) and point at the
// rendered template.
func TestRealPackerFindingIsShortAndOnTheField(t *testing.T) {
	packerBin, sc, env := tools(t)
	file := writeYAML(t, "provider: packer\npacker:\n  cloud: aws\n  region: us-west-2\n  kms_key_id: \"not a key\"\n  instance_type: t3.large\n")
	cfg := loadConfig(t, file)
	findings, err := Run(t.Context(), Options{Targets: targets.Builders(), Config: cfg, Clouds: []string{"aws"}, Packer: packerBin, Shellcheck: sc, HostEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 {
		t.Fatalf("want one finding, got %d: %v", len(findings), findings)
	}
	f := findings[0]
	if f.File != file || f.Line != 5 || f.Col != 15 {
		t.Errorf("finding at %s:%d:%d, want %s:5:15 (kms_key_id)", f.File, f.Line, f.Col, file)
	}
	if !strings.HasPrefix(f.Message, `packer.kms_key_id: "not a key" is not a valid KMS Key Id.`) {
		t.Errorf("message is not packer's own: %q", f.Message)
	}
	s := f.String()
	if n := strings.Count(s, "\n"); n > 3 || len(s) > 400 {
		t.Errorf("finding is %d lines, %d bytes:\n%s", n+1, len(s), s)
	}
	for _, bad := range []string{"TRACE", "[INFO]", os.TempDir() + "/sindri-validate", "$HOME", ".tools"} {
		if strings.Contains(s, bad) {
			t.Errorf("finding contains %q:\n%s", bad, s)
		}
	}
}

// TestPlacer places messages of the kinds packer prints on the field they
// are about, and leaves the rest on the template.
func TestPlacer(t *testing.T) {
	file := writeYAML(t, `provider: packer
packer:
  clouds:
    aws:
      region: us-west-2
      instance_type: t3.large
      kms_key_id: "alias/x"
    qemu:
      base_image: ./base.qcow2
  build:
    ssh_timeout: 30m
`)
	cfg := loadConfig(t, file)
	tpl := func(cloud string) []byte {
		b, err := targets.Builder(cloud)
		if err != nil {
			t.Fatal(err)
		}
		return render.Template(cfg, b, render.Options{SindriVersion: "3.0.1"})
	}
	lineOf := func(tpl []byte, s string) int {
		for i, l := range strings.Split(string(tpl), "\n") {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		t.Fatalf("%q not in template", s)
		return 0
	}
	aws, qemu := tpl("aws"), tpl("qemu")
	p := placer{cfg: cfg, scrub: func(s string) string { return s }}
	tests := []struct {
		name     string
		cloud    string
		tpl      []byte
		line     int
		msg      string
		wantLine int // 0: stays on the template
		wantPath string
	}{
		{name: "value quoted", cloud: "aws", tpl: aws, line: lineOf(aws, `source "amazon-ebs"`), msg: `"alias/x" is not a valid KMS Key Id.`, wantLine: 7, wantPath: "packer.clouds.aws.kms_key_id"},
		{name: "field named", cloud: "aws", tpl: aws, line: lineOf(aws, `source "amazon-ebs"`), msg: "instance_type must be set", wantLine: 6, wantPath: "packer.clouds.aws.instance_type"},
		{name: "build field", cloud: "aws", tpl: aws, line: lineOf(aws, `source "amazon-ebs"`), msg: `error decoding 'ssh_timeout': time: invalid duration "x"`, wantLine: 11, wantPath: "packer.build.ssh_timeout"},
		{name: "renamed attribute traced by value", cloud: "qemu", tpl: qemu, line: lineOf(qemu, `source "qemu"`), msg: "iso_url: stat ./base.qcow2: no such file", wantLine: 9, wantPath: "packer.clouds.qemu.base_image"},
		{name: "attribute on the line", cloud: "aws", tpl: aws, line: lineOf(aws, "instance_type"), msg: `Invalid value for "instance_type"`, wantLine: 6, wantPath: "packer.clouds.aws.instance_type"},
		{name: "unrelated argument stays", cloud: "aws", tpl: aws, line: lineOf(aws, "instance_type"), msg: `An argument named "bogus_field" is not expected here.`},
		{name: "nothing to go by", cloud: "aws", tpl: aws, line: lineOf(aws, `source "amazon-ebs"`), msg: "something went wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := p.findings(tt.cloud, "rendered/x.pkr.hcl", tt.tpl, packer.Diagnostic{Line: tt.line, Summary: "1 error(s) occurred:", Items: []string{tt.msg}})
			if len(fs) != 1 {
				t.Fatalf("%v", fs)
			}
			f := fs[0]
			if tt.wantLine == 0 {
				if f.File != "rendered/x.pkr.hcl" || f.Line != tt.line || f.Message != tt.msg {
					t.Errorf("want it left on the template: %s", f)
				}
				return
			}
			if f.File != file || f.Line != tt.wantLine || !strings.HasPrefix(f.Message, tt.wantPath+": "+tt.msg) {
				t.Errorf("got %s, want %s:%d %s", f, file, tt.wantLine, tt.wantPath)
			}
		})
	}
}

// TestScrubber removes this run's temporary paths from messages.
func TestScrubber(t *testing.T) {
	tmp := strings.TrimSuffix(os.TempDir(), "/")
	out := filepath.Join(tmp, "sindri-validate-123")
	home := filepath.Join(tmp, "sindri-validate-home-9")
	s := scrubber(out, "rendered", home)
	got := s("on " + out + "/qemu/sindri.pkr.hcl: " + home + "/.oci/config, " + tmp + "/packer-plugin123 gone")
	if want := "on rendered/qemu/sindri.pkr.hcl: $HOME/.oci/config, <temp> gone"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
