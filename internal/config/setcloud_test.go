package config

import "testing"

// The seed's `--set packer.cloud=azure` on a file written for one cloud is
// one error that says what to do, not one "unknown field" per aws field.
func TestSetCloudCannotSwitchFile(t *testing.T) {
	single := "provider: packer\npacker:\n  cloud: aws\n  region: us-west-2\n  instance_type: t3.large\n  volume_size: 80\n  build: {profile: minimal}\n"
	multi := "packer:\n  clouds:\n    aws: {}\n    azure: {subscription_id: x, resource_group: rg}\n"
	for _, tt := range []struct{ name, src, set, want string }{
		{"single-cloud file", single, "packer.cloud=azure",
			"--set: packer.cloud: --set packer.cloud=azure cannot switch this file: its fields (region, instance_type, volume_size) are aws's; " +
				"write a file for azure (sindri-packer init --cloud azure -o sindri-azure.yaml, then --config sindri-azure.yaml), " +
				"or list both under packer.clouds (aws: {...}, azure: {...}) and choose with --clouds azure"},
		{"multi-cloud file", multi, "packer.cloud=azure",
			"--set: packer.cloud: the file lists its clouds under packer.clouds; choose one with --clouds azure instead of --set packer.cloud=azure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("sindri.yaml", []byte(tt.src), Options{Getenv: lookup(nil), Sets: []string{tt.set}})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
	// A file whose fields all fit the new cloud still switches.
	cfg, err := Parse("sindri.yaml", []byte("packer:\n  cloud: aws\n  region: eu-west-1\n"), Options{Getenv: lookup(nil), Sets: []string{"packer.cloud=alibaba"}})
	if err != nil || cfg.Packer.Clouds.Alibaba == nil || cfg.Packer.Clouds.Alibaba.Region != "eu-west-1" {
		t.Errorf("switch with shared fields: %v", err)
	}
}
