package azure_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
)

func TestPrepareCredentials(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJ.fake\"${x}.jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // the var file, "" for none
	}{
		{name: "nothing set: the CLI login", env: map[string]string{}},
		{name: "an id without a credential", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant"}},
		{name: "workload identity token", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant", "AZURE_FEDERATED_TOKEN_FILE": token, "AZURE_CLIENT_SECRET": "ignored"},
			want: "azure_client_id  = \"app\"\nazure_client_jwt = \"eyJ.fake\\\"$${x}.jwt\"\nazure_tenant_id  = \"tenant\"\n"},
		{name: "client secret", env: map[string]string{"AZURE_CLIENT_ID": "app", "AZURE_TENANT_ID": "tenant", "AZURE_CLIENT_SECRET": "s3cret"},
			want: "azure_client_id     = \"app\"\nazure_client_secret = \"s3cret\"\nazure_tenant_id     = \"tenant\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET"} {
				t.Setenv(k, tt.env[k])
			}
			run := &cloud.BuildRun{WorkDir: t.TempDir()}
			vars, cleanup, err := azure.Cloud{}.Prepare(t.Context(), run)
			if err != nil || vars != nil || cleanup != nil {
				t.Fatalf("Prepare = %v, %v, %v", vars, cleanup != nil, err)
			}
			if tt.want == "" {
				if len(run.VarFiles) != 0 {
					t.Fatalf("var files %v, want none", run.VarFiles)
				}
				return
			}
			if len(run.VarFiles) != 1 {
				t.Fatalf("var files %v", run.VarFiles)
			}
			b, err := os.ReadFile(run.VarFiles[0])
			if err != nil || string(b) != tt.want {
				t.Fatalf("var file:\n%s\nwant:\n%s", b, tt.want)
			}
			if fi, _ := os.Stat(run.VarFiles[0]); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
		})
	}
	t.Setenv("AZURE_CLIENT_ID", "app")
	t.Setenv("AZURE_TENANT_ID", "tenant")
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, _, err := (azure.Cloud{}).Prepare(t.Context(), &cloud.BuildRun{WorkDir: t.TempDir()}); err == nil {
		t.Fatal("a missing token file is no error")
	}
}
