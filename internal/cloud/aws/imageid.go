package aws

import (
	"regexp"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// amiID is an AMI ID: "ami-" and 8 or 17 hex digits. Packer's multi-region
// artifact ("us-east-1:ami-...,us-west-2:ami-...") is split by region
// before it becomes a result: outputs carry bare AMI IDs, one per region.
var amiID = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

// ValidImageID checks an AMI ID.
func (Cloud) ValidImageID(id string) error {
	return cloud.CheckID(id, amiID, "an AMI ID (ami- and 8 to 17 hex digits)")
}
