package oci_test

import (
	"maps"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
)

func TestPrepareConfigFile(t *testing.T) {
	for _, tt := range []struct {
		cli, sdk string
		want     map[string]string
	}{
		{},
		{cli: "/a/config", sdk: "/b/config", want: map[string]string{"oci_access_cfg_file": "/a/config"}},
		{sdk: "/b/config", want: map[string]string{"oci_access_cfg_file": "/b/config"}},
	} {
		t.Setenv("OCI_CLI_CONFIG_FILE", tt.cli)
		t.Setenv("OCI_CONFIG_FILE", tt.sdk)
		vars, cleanup, err := oci.Cloud{}.Prepare(t.Context(), &cloud.BuildRun{})
		if err != nil || cleanup != nil || !maps.Equal(vars, tt.want) {
			t.Errorf("%+v: Prepare = %v, %v; want %v", tt, vars, err, tt.want)
		}
	}
}
