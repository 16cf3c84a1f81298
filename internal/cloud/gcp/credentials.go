package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"

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

// credentialsFile is the credential file g.Env names in
// GOOGLE_APPLICATION_CREDENTIALS, as Application Default Credentials would
// read it from the process environment: the Action passes the path
// google-github-actions/auth wrote, rewritten to the container's
// workspace, only in the environment it hands down (the process keeps the
// runner's host path, which does not exist in the container). The file's
// own type field says what it holds, as ADC reads it. nil when g.Env names
// no file: ADC's other sources (gcloud's login, the metadata server) stay.
func (g Cloud) credentialsFile() (option.ClientOption, error) {
	path := g.Env.Get("GOOGLE_APPLICATION_CREDENTIALS")
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gcp: credentials: GOOGLE_APPLICATION_CREDENTIALS: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("gcp: credentials: GOOGLE_APPLICATION_CREDENTIALS=%s is not a JSON credential file: %w", path, err)
	}
	switch t := option.CredentialsType(f.Type); t {
	case option.ServiceAccount, option.AuthorizedUser, option.ExternalAccount, option.ImpersonatedServiceAccount,
		"external_account_authorized_user", "gdc_service_account":
		return option.WithAuthCredentialsFile(t, path), nil
	default:
		return nil, fmt.Errorf("gcp: credentials: GOOGLE_APPLICATION_CREDENTIALS=%s: unknown credential type %q", path, f.Type)
	}
}
