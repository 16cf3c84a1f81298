package alibaba

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// customImageID is a custom ECS image's ID, what alicloud-ecs builds make.
var customImageID = regexp.MustCompile(`^m-[a-z0-9]{1,64}$`)

// ValidImageID checks an ECS custom image ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, customImageID, "an ECS custom image ID (m- and lower-case letters and digits)")
}
