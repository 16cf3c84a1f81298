package cloud_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// A target's sign-in advice answers only the errors its pattern matches.
func TestSignInHint(t *testing.T) {
	h := cloud.SignInHint{Errors: regexp.MustCompile(`(?i)credential|expired token`), Text: "sign in with `x login`"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"credential failure", errors.New("no valid Credential found"), h.Text},
		{"wrapped", fmt.Errorf("list images: %w", errors.New("ExpiredToken: Expired Token")), h.Text},
		{"other", cloud.ErrNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.For(tc.err); got != tc.want {
				t.Errorf("For(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// A target built in one region reads that region from its own block,
// pins it in either form of the file, and has none without its block.
func TestOneRegion(t *testing.T) {
	o := cloud.OneRegion{Target: "oci", Field: "region", Of: func(s *config.CloudSet) string { return s.OCI.Region }}
	c := &config.Config{Packer: config.Packer{Clouds: config.CloudSet{OCI: &config.OCI{Region: "us-phoenix-1"}}}}
	if field, regions := o.Regions(c); field != "region" || !slices.Equal(regions, []string{"us-phoenix-1"}) {
		t.Errorf("Regions = %q %v, want region [us-phoenix-1]", field, regions)
	}
	if sets, err := o.Pin(c, "eu-frankfurt-1"); err != nil || !slices.Equal(sets, []string{"packer.clouds.oci.region=eu-frankfurt-1"}) {
		t.Errorf("Pin = %v, %v", sets, err)
	}
	c.Packer.SingleCloud = true
	if sets, err := o.Pin(c, "eu-frankfurt-1"); err != nil || !slices.Equal(sets, []string{"packer.region=eu-frankfurt-1"}) {
		t.Errorf("Pin (single-cloud form) = %v, %v", sets, err)
	}
	other := &config.Config{Packer: config.Packer{Clouds: config.CloudSet{GCP: &config.GCP{Zone: "us-west1-a"}}}}
	for _, c := range []*config.Config{nil, other} {
		if field, regions := o.Regions(c); field != "" || regions != nil {
			t.Errorf("Regions without an oci block = %q %v", field, regions)
		}
	}
	if _, err := o.Pin(other, "x"); !errors.Is(err, cloud.ErrNotSupported) {
		t.Errorf("Pin without an oci block = %v, want ErrNotSupported", err)
	}
}
