package oci

import (
	"context"
	"fmt"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/identity"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// CheckCredentials reads the configured user through the identity API:
// proof that the key signs and the tenancy and user OCIDs are right.
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return "", err
	}
	tenancy, err := cl.provider.TenancyOCID()
	if err != nil {
		return "", fmt.Errorf("oci credentials: %w", err)
	}
	user, err := cl.provider.UserOCID()
	if err != nil {
		return "", fmt.Errorf("oci credentials: %w", err)
	}
	resp, err := cl.identity.GetUser(sdk(ctx), identity.GetUserRequest{UserId: common.String(user)})
	if err != nil {
		return "", wrap("GetUser "+user, err)
	}
	desc := fmt.Sprintf("tenancy %s user %s", tenancy, user)
	if n := str(resp.Name); n != "" {
		desc += " (" + n + ")"
	}
	return desc + " in " + cl.region, nil
}
