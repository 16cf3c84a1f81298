package config

import "testing"

// TestPositionOfPointsAtTheField: a parsed config answers where each of its
// fields was written, and that a defaulted one was not.
func TestPositionOfPointsAtTheField(t *testing.T) {
	cfg, err := Parse("sindri.yaml", []byte("provider: packer\npacker:\n  cloud: aws\n  region: us-east-1\n  instance_type: t3.small\n"), Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := cfg.PositionOf(&cfg.Packer.Clouds.AWS.InstanceType)
	if !ok || p.File != "sindri.yaml" || p.Line != 5 || p.Col != 18 || !p.Set || p.Field != "packer.instance_type" {
		t.Fatalf("instance_type: %+v %v", p, ok)
	}
	if p, ok := cfg.PositionOf(&cfg.Packer.Clouds.AWS.VolumeSize); !ok || p.Set {
		t.Fatalf("volume_size is a default: %+v %v", p, ok)
	}
	if _, ok := (&Config{}).PositionOf(&cfg.Packer.Build.Profile); ok {
		t.Fatal("a config built in code has no positions")
	}
}
