package aws_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func TestIdentity(t *testing.T) {
	cloudtest.CheckIdentity(t, aws.Cloud{}, cloudtest.Identity{
		Name: "aws", SourceType: "amazon-ebs", Plugin: "amazon",
		Minimal: "packer:\n  cloud: aws\n", DefaultUser: "ubuntu", User: "ec2-user", NoVariables: true,
	})
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, aws.Cloud{}, cloudtest.Load(t, "packer:\n  cloud: aws\n"))

	cloudtest.WantStrs(t, b, map[string]string{
		"region":                  "us-west-2",
		"instance_type":           "t3.large",
		"ami_name":                "sindri-20240101",
		"ssh_username":            "ubuntu",
		"ssh_timeout":             "20m",
		"temporary_key_pair_type": "ed25519",
	})
	cloudtest.WantAbsent(t, b, "source_ami", "ami_description", "vpc_id", "subnet_id", "ami_regions",
		"ami_users", "ami_groups", "kms_key_id")

	// The newest official Ubuntu 24.04 AMI of Canonical's account.
	f := cloudtest.Block(t, b, "source_ami_filter")
	if got := cloudtest.Strs(t, f, "owners"); !slices.Equal(got, []string{"099720109477"}) {
		t.Errorf("owners = %q, want Canonical's account", got)
	}
	wantFilters := map[string]string{
		"name":                "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
		"root-device-type":    "ebs",
		"virtualization-type": "hvm",
	}
	if got := cloudtest.StrMap(t, f, "filters"); !maps.Equal(got, wantFilters) {
		t.Errorf("filters = %v, want %v", got, wantFilters)
	}
	if !cloudtest.Bool(t, f, "most_recent") {
		t.Error("most_recent is not true")
	}

	// encrypt_boot defaults to true, with the AWS managed key.
	if !cloudtest.Bool(t, b, "encrypt_boot") {
		t.Error("encrypt_boot is not true by default")
	}

	md := cloudtest.Block(t, b, "metadata_options")
	if cloudtest.Str(t, md, "http_tokens") != "required" || cloudtest.Str(t, md, "http_endpoint") != "enabled" {
		t.Error("metadata_options does not require IMDSv2")
	}
	cloudtest.WantInt(t, md, "http_put_response_hop_limit", 1)

	dev := wantVolume(t, b, 80, "gp3")
	cloudtest.WantStrs(t, dev, map[string]string{"device_name": "/dev/sda1"})
	if !cloudtest.Bool(t, dev, "delete_on_termination") {
		t.Error("delete_on_termination is not true")
	}
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, aws.Cloud{}, cloudtest.Load(t, `
packer:
  cloud: aws
  region: eu-west-1
  instance_type: m6i.xlarge
  volume_size: 120
  volume_type: io2
  kms_key_id: alias/sindri
  vpc_id: vpc-0123abcd
  subnet_id: subnet-0123abcd
  ami_regions: [eu-central-1, us-east-1]
  ami_users: ["111122223333", "444455556666"]
  source_ami: ami-0123abcd
  ssh_username: ec2-user
  tags: {Team: platform, note: '"$${x}" %{y}'}
  build:
    description: 'Team "dev" image'
    ssh_timeout: 1h
`))
	cloudtest.WantStrs(t, b, map[string]string{
		"region":          "eu-west-1",
		"instance_type":   "m6i.xlarge",
		"source_ami":      "ami-0123abcd",
		"ssh_username":    "ec2-user",
		"ssh_timeout":     "1h",
		"vpc_id":          "vpc-0123abcd",
		"subnet_id":       "subnet-0123abcd",
		"kms_key_id":      "alias/sindri",
		"ami_description": `Team "dev" image`,
	})
	if cloudtest.Blocks(b, "source_ami_filter") != 0 {
		t.Error("source_ami_filter written although source_ami is set")
	}
	if got := cloudtest.Strs(t, b, "ami_regions"); !slices.Equal(got, []string{"eu-central-1", "us-east-1"}) {
		t.Errorf("ami_regions = %q", got)
	}
	if got := cloudtest.Strs(t, b, "ami_users"); !slices.Equal(got, []string{"111122223333", "444455556666"}) {
		t.Errorf("ami_users = %q", got)
	}
	if _, ok := b.Attributes["ami_groups"]; ok {
		t.Error("ami_groups written: the AMI must never be public")
	}
	wantVolume(t, b, 120, "io2")

	wantTags := cloudtest.ImageTags(map[string]string{"Team": "platform", "note": `"${x}" %{y}`})
	cloudtest.WantStrMap(t, b, wantTags, "tags", "snapshot_tags")
	// Temporary resources carry the run ID so cleanup can find them.
	cloudtest.WantStrMap(t, b, cloudtest.WithRunTags(wantTags), "run_tags", "run_volume_tags")
	if _, ok := cloudtest.StrMap(t, b, "tags")["sindri-run-id"]; ok {
		t.Error("the image's tags carry the run ID")
	}
}

// wantVolume checks the root volume's size and type and returns its
// block.
func wantVolume(t *testing.T, b *hclsyntax.Body, size int64, typ string) *hclsyntax.Body {
	t.Helper()
	dev := cloudtest.Block(t, b, "launch_block_device_mappings")
	cloudtest.WantInt(t, dev, "volume_size", size)
	cloudtest.WantStrs(t, dev, map[string]string{"volume_type": typ})
	return dev
}

func TestSourceEncryptBoot(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		encrypt bool
		kms     string
	}{
		{"default managed key", "packer:\n  cloud: aws\n", true, ""},
		{"own key", "packer:\n  cloud: aws\n  kms_key_id: alias/k\n", true, "alias/k"},
		{"off ignores the key", "packer:\n  cloud: aws\n  encrypt_boot: false\n  kms_key_id: alias/k\n", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cloudtest.Source(t, aws.Cloud{}, cloudtest.Load(t, tc.yaml))
			if got := cloudtest.Value(t, b, "encrypt_boot"); !got.RawEquals(cty.BoolVal(tc.encrypt)) {
				t.Errorf("encrypt_boot = %#v, want %v", got, tc.encrypt)
			}
			_, has := b.Attributes["kms_key_id"]
			if has != (tc.kms != "") {
				t.Fatalf("kms_key_id present = %v, want %v", has, tc.kms != "")
			}
			if has && cloudtest.Str(t, b, "kms_key_id") != tc.kms {
				t.Errorf("kms_key_id = %q, want %q", cloudtest.Str(t, b, "kms_key_id"), tc.kms)
			}
		})
	}
}

func TestSourceNeverShares(t *testing.T) {
	// No config value makes the AMI public, and without ami_users it is
	// shared with nobody.
	b := cloudtest.Source(t, aws.Cloud{}, cloudtest.Load(t, "packer:\n  cloud: aws\n  ami_regions: [us-east-1]\n"))
	for _, name := range []string{"ami_groups", "ami_users", "snapshot_groups", "snapshot_users"} {
		if _, ok := b.Attributes[name]; ok {
			t.Errorf("%s written", name)
		}
	}
}
