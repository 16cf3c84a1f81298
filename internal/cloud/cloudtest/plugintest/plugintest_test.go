package plugintest

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestWithoutCommunicatorDropsProvisionersAndSetsAttributes(t *testing.T) {
	src := []byte(`source "amazon-ebs" "sindri" {
  ssh_username = "ubuntu"
  ssh_timeout  = "20m"
  region       = "us-west-2"
}

build {
  sources = ["source.amazon-ebs.sindri"]
  provisioner "shell" {
    inline = ["true"]
  }
  post-processor "manifest" {
    output = var.manifest_path
  }
}
`)
	got := string(withoutCommunicator(t, src, map[string]cty.Value{"custom_endpoint_ec2": cty.StringVal("http://127.0.0.1:1")}))
	for _, want := range []string{`communicator        = "none"`, `custom_endpoint_ec2 = "http://127.0.0.1:1"`, `region`, `post-processor "manifest"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	for _, gone := range []string{"ssh_username", "ssh_timeout", `provisioner "shell"`} {
		if strings.Contains(got, gone) {
			t.Errorf("%q still in\n%s", gone, got)
		}
	}
}

func TestLastErrorIsTheLastErrorLine(t *testing.T) {
	out := "1,,ui,say,starting\n2,,ui,error,first\n3,,ui,error,Build 'x' errored: CreateImage: InvalidParameter\\nmore\n4,,ui,say,done\n"
	if got := LastError(out); got != "stopped at: 3,,ui,error,Build 'x' errored: CreateImage: InvalidParameter more" {
		t.Fatalf("LastError = %q", got)
	}
	if got := LastError("all fine\n"); got != "stopped (no error line)" {
		t.Fatalf("LastError without an error = %q", got)
	}
	if got := LastError("error " + strings.Repeat("x", 400)); len(got) != len("stopped at: ")+300 {
		t.Fatalf("a long line is not cut to 300 bytes: %d", len(got))
	}
}
