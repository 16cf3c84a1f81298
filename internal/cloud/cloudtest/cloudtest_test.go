package cloudtest_test

import (
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// The helpers read back what a real target renders.
func TestHelpersReadARenderedSource(t *testing.T) {
	cfg := cloudtest.Load(t, "provider: packer\npacker:\n  cloud: aws\n  region: eu-west-1\n  ami_regions: [us-east-1]\n  tags: {Team: core}\n")
	b := cloudtest.Source(t, aws.Cloud{}, cfg)
	if got := cloudtest.Str(t, b, "region"); got != "eu-west-1" {
		t.Errorf("Str region = %q", got)
	}
	if !cloudtest.Bool(t, b, "encrypt_boot") || !cloudtest.Has(b, "ami_name") || cloudtest.Has(b, "ami_groups") {
		t.Error("Bool/Has")
	}
	if got := cloudtest.Strs(t, b, "ami_regions"); len(got) != 1 || got[0] != "us-east-1" {
		t.Errorf("Strs = %v", got)
	}
	tags := cloudtest.StrMap(t, b, "tags")
	if tags["Team"] != "core" || tags["config-hash"] != "CFG-HASH-123" || tags["sindri-version"] != cloudtest.SindriVersion {
		t.Errorf("StrMap = %v", tags)
	}
	if refs := cloudtest.Refs(t, b, "ami_name"); len(refs) != 1 || refs[0] != "local.image_name" {
		t.Errorf("Refs = %v", refs)
	}
	dev := cloudtest.Block(t, b, "launch_block_device_mappings")
	if cloudtest.Int(t, dev, "volume_size") != 80 || cloudtest.Blocks(b, "source_ami_filter") != 1 {
		t.Error("Block/Int/Blocks")
	}
	if v := cloudtest.Value(t, b, "instance_type"); v.AsString() != "t3.large" {
		t.Errorf("Value = %v", v)
	}
}
