package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// CheckCredentials asks STS who the standard chain's credentials belong
// to: "account N (ARN)". Neither the key nor the token is ever printed.
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return "", err
	}
	out, err := cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("aws: check credentials (sts get-caller-identity in %s): %w", a.Region, err)
	}
	return fmt.Sprintf("account %s (%s)", awssdk.ToString(out.Account), awssdk.ToString(out.Arn)), nil
}
