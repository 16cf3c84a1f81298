package azure

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// credentialVars are the Packer variables of the service principal login,
// each from the variable azidentity's chain reads. A workload identity
// (OIDC) token file becomes client_jwt; a client secret, client_secret.
var credentialVars = []cloud.Variable{
	{Name: "azure_client_id", Description: "service principal (app) ID; empty: the Azure CLI login", Default: ""},
	{Name: "azure_tenant_id", Description: "Entra ID tenant of the service principal", Default: ""},
	{Name: "azure_client_jwt", Description: "federated (OIDC) token of the service principal", Default: "", Sensitive: true},
	{Name: "azure_client_secret", Description: "client secret of the service principal", Default: "", Sensitive: true},
}

// Prepare hands Packer the service principal credentials the SDK side uses
// (AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or
// AZURE_CLIENT_SECRET), so a build inside the Action's container, where the
// runner's az login is out of sight, logs in the same way. They go to a
// variable file in the build's private folder, never onto the command line.
// Without them the template falls back to the Azure CLI login.
func (Cloud) Prepare(_ context.Context, run *cloud.BuildRun) (map[string]string, func(), error) {
	vals := map[string]string{}
	if id, tenant := os.Getenv("AZURE_CLIENT_ID"), os.Getenv("AZURE_TENANT_ID"); id != "" && tenant != "" {
		if f := os.Getenv("AZURE_FEDERATED_TOKEN_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("azure: AZURE_FEDERATED_TOKEN_FILE: %w", err)
			}
			vals["azure_client_jwt"] = strings.TrimSpace(string(b))
		} else if s := os.Getenv("AZURE_CLIENT_SECRET"); s != "" {
			vals["azure_client_secret"] = s
		}
		if len(vals) > 0 {
			vals["azure_client_id"], vals["azure_tenant_id"] = id, tenant
		}
	}
	if len(vals) == 0 {
		return nil, nil, nil
	}
	f := hclwrite.NewEmptyFile()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		f.Body().SetAttributeValue(k, cty.StringVal(vals[k]))
	}
	p := filepath.Join(run.WorkDir, "azure-credentials.pkrvars.hcl")
	if err := os.WriteFile(p, f.Bytes(), 0o600); err != nil {
		return nil, nil, fmt.Errorf("azure: %w", err)
	}
	run.VarFiles = append(run.VarFiles, p)
	return nil, nil, nil
}
