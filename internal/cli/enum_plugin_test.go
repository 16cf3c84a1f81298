package cli

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// TestEveryEnumValueThePluginAccepts: each value sindri.yaml allows for a
// field with a fixed list (enum tag) passes the real plugin's packer
// validate. The plugin is the second, independent reader of these values:
// Azure's managed_image_storage_account_type once allowed StandardSSD_LRS and
// the ZRS kinds here, which packer-plugin-azure v1.4.0 refuses.
func TestEveryEnumValueThePluginAccepts(t *testing.T) {
	environ := realToolsEnv(t)
	clouds := map[string]reflect.Type{
		"aws":     reflect.TypeFor[config.AWS](),
		"azure":   reflect.TypeFor[config.Azure](),
		"gcp":     reflect.TypeFor[config.GCP](),
		"oci":     reflect.TypeFor[config.OCI](),
		"alibaba": reflect.TypeFor[config.Alibaba](),
	}
	for name, typ := range clouds {
		for i := range typ.NumField() {
			f := typ.Field(i)
			enum := f.Tag.Get("enum")
			if enum == "" {
				continue
			}
			field, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			for _, v := range strings.Split(enum, ",") {
				t.Run(name+"/"+field+"="+v, func(t *testing.T) {
					t.Parallel()
					cfg := filepath.Join("..", "render", "testdata", "configs", name+".yaml")
					r := run(t, environ, "validate", "-c", cfg, "--set", "packer."+field+"="+v)
					if r.code != ExitOK {
						t.Errorf("packer.%s: %s is allowed by sindri.yaml but the %s plugin refuses it (exit %d):\n%s%s", field, v, name, r.code, r.stdout, r.stderr)
					}
				})
			}
		}
	}
}
