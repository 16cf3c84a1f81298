package alibaba

import (
	"context"
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// CheckCredentials makes one cheap authenticated call (DescribeRegions)
// through the standard credential chain. ECS does not name the account,
// and no part of the key is printed.
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return "", err
	}
	req := ecs.CreateDescribeRegionsRequest()
	resp := ecs.CreateDescribeRegionsResponse()
	if err := a.call(ctx, req, resp); err != nil {
		return "", err
	}
	return fmt.Sprintf("credentials accepted in region %s (%d regions visible)", a.region, len(resp.Regions.Region)), nil
}

// credentialChain is the Packer plugin's variables first (ALICLOUD_ACCESS_KEY,
// ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN: the names users already set
// for the build), then the SDK's variables (ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN), both read
// through c.Env; then the rest of the SDK's standard chain (OIDC, the CLI
// profile, ~/.alibabacloud/credentials, the ECS RAM role), which reads its
// own settings.
func (c Cloud) credentialChain() credentials.CredentialsProvider {
	for _, names := range [][3]string{
		{"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"},
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"},
	} {
		id, secret := c.Env.Get(names[0]), c.Env.Get(names[1])
		if id == "" || secret == "" {
			continue
		}
		if tok := c.Env.Get(names[2]); tok != "" {
			return credentials.NewStaticSTSCredentialsProvider(id, secret, tok)
		}
		return credentials.NewStaticAKCredentialsProvider(id, secret)
	}
	return credentials.NewDefaultCredentialsProvider()
}
