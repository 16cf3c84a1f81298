package gcp

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// CheckCredentials reads the configured project through the standard
// credential chain and names it.
func (g Cloud) CheckCredentials(ctx context.Context, c *config.Config) (string, error) {
	gc, pc, done, err := open(ctx, g, c, (*clients).Projects)
	if err != nil {
		return "", err
	}
	defer done()
	var p *computepb.Project
	err = g.call(ctx, "get project "+gc.ProjectID, func(ctx context.Context) error {
		var err error
		p, err = pc.Get(ctx, &computepb.GetProjectRequest{Project: gc.ProjectID}, noSDKRetry)
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("project %s (number %d)", p.GetName(), p.GetId()), nil
}
