package aws_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

func TestRegions(t *testing.T) {
	c := aws.Cloud{}
	cfg := cloudtest.Load(t, "packer:\n  cloud: aws\n  region: eu-west-1\n  ami_regions: [us-east-1, ap-south-1]\n")
	field, regions := c.Regions(cfg)
	if field != "region" || !slices.Equal(regions, []string{"eu-west-1", "us-east-1", "ap-south-1"}) {
		t.Errorf("Regions = %q %v, want region [eu-west-1 us-east-1 ap-south-1]", field, regions)
	}
	cloudtest.WantNoRegions(t, c, cloudtest.Load(t, "packer:\n  cloud: qemu\n"))
}

// The overrides PinRegion returns, applied as --set, build in that region
// only: the copies to ami_regions are dropped.
func TestPinRegion(t *testing.T) {
	c := aws.Cloud{}
	for _, yaml := range []string{
		"packer:\n  cloud: aws\n  ami_regions: [us-east-1]\n",
		"packer:\n  clouds:\n    aws:\n      ami_regions: [us-east-1]\n",
	} {
		cfg := cloudtest.Load(t, yaml)
		sets, err := c.PinRegion(cfg, "eu-north-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, regions := c.Regions(cloudtest.LoadSet(t, yaml, sets)); !slices.Equal(regions, []string{"eu-north-1"}) {
			t.Errorf("%q pinned with %v: regions %v, want [eu-north-1]", yaml, sets, regions)
		}
	}
	if _, err := c.PinRegion(cloudtest.Load(t, "packer:\n  cloud: qemu\n"), "eu-north-1"); err == nil || !strings.Contains(err.Error(), "no aws block") {
		t.Errorf("PinRegion without an aws block: err = %v", err)
	}
}

// The standard chain's secrets (what config.CredentialEnv listed for aws
// before the targets named their own) are masked and never read from
// sindri.yaml; the access key ID is an identifier, not a secret.
func TestSecretEnv(t *testing.T) {
	got := aws.Cloud{}.SecretEnv()
	if want := []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}; !slices.Equal(got, want) {
		t.Errorf("SecretEnv = %v, want %v", got, want)
	}
}

// An offline validate never asks the instance metadata service.
func TestPlaceholders(t *testing.T) {
	env, vars, err := aws.Cloud{}.Placeholders(t.TempDir())
	if err != nil || !slices.Contains(env, "AWS_EC2_METADATA_DISABLED=true") || vars != nil {
		t.Errorf("Placeholders = %v %v %v", env, vars, err)
	}
}

func TestValidImageID(t *testing.T) {
	cloudtest.CheckImageIDs(t, aws.Cloud{}, []string{"ami-0123abcd", "ami-0123456789abcdef0"},
		[]string{"", "ami-0123", "ami-0123ABCD", "us-east-1:ami-0123abcd", "ami-0123abcd\n", "m-bp1abc2def3"})
}
