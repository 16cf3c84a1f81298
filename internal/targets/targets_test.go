package targets_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

func TestBuilderForEveryCloud(t *testing.T) {
	for _, name := range config.Clouds {
		t.Run(name, func(t *testing.T) {
			b, err := targets.Builder(name)
			if err != nil {
				t.Fatal(err)
			}
			if b.Name() != name {
				t.Errorf("Builder(%q).Name() = %q", name, b.Name())
			}
		})
	}
}

func TestBuilderUnknown(t *testing.T) {
	for _, name := range []string{"", "AWS", "ec2", "aws ", "digitalocean"} {
		t.Run(name, func(t *testing.T) {
			b, err := targets.Builder(name)
			if err == nil {
				t.Fatalf("Builder(%q) = %v, want an error", name, b)
			}
			if b != nil {
				t.Errorf("Builder(%q) returned %v beside the error", name, b)
			}
			if !strings.Contains(err.Error(), "unknown cloud") || !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Errorf("error %q does not name the unknown cloud", err)
			}
		})
	}
}

func TestBuildersOrder(t *testing.T) {
	var names []string
	for _, b := range targets.Builders() {
		names = append(names, b.Name())
	}
	if !slices.Equal(names, config.Clouds) {
		t.Errorf("Builders() names %q, want config.Clouds order %q", names, config.Clouds)
	}
}

func TestBuildersReturnsACopy(t *testing.T) {
	first := targets.Builders()
	for i := range first {
		first[i] = nil
	}
	second := targets.Builders()
	if len(second) != len(config.Clouds) {
		t.Fatalf("second call returned %d builders, want %d", len(second), len(config.Clouds))
	}
	for i, b := range second {
		if b == nil {
			t.Fatalf("Builders()[%d] is nil after the caller cleared its slice: the list is shared", i)
		}
		if b.Name() != config.Clouds[i] {
			t.Errorf("Builders()[%d] = %s, want %s", i, b.Name(), config.Clouds[i])
		}
	}
	if _, err := targets.Builder("aws"); err != nil {
		t.Errorf("Builder(aws) after clearing the copy: %v", err)
	}
}

// TestBuildersAreDistinct guards against one target registered twice,
// which would hide another behind it in Builder's lookup.
func TestBuildersAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range targets.Builders() {
		if seen[b.Name()] {
			t.Errorf("%s registered twice", b.Name())
		}
		seen[b.Name()] = true
		if b.SourceType() == "" || b.Plugin().Name == "" {
			t.Errorf("%s has no source type or plugin", b.Name())
		}
	}
}

// TestAllPassesTheEnvironment: every target All makes reads the
// environment it was given (its Env field), not the process's.
func TestAllPassesTheEnvironment(t *testing.T) {
	env := cloud.EnvList([]string{"SINDRI_TEST=1"})
	for _, tg := range targets.All(env) {
		f := reflect.ValueOf(tg).FieldByName("Env")
		if !f.IsValid() || f.IsNil() {
			t.Errorf("%s: Env not set by All", tg.Name())
			continue
		}
		if v, _ := f.Interface().(cloud.Env).Lookup("SINDRI_TEST"); v != "1" {
			t.Errorf("%s: Env reads %q, not the given environment", tg.Name(), v)
		}
	}
}

// TestSecretEnvNamesEveryCredential: the one list of secret variables holds
// the runner's and GitHub's and each target's own.
func TestSecretEnvNamesEveryCredential(t *testing.T) {
	all := targets.SecretEnv()
	want := slices.Clone(config.CredentialEnv)
	for _, tg := range targets.Builders() {
		want = append(want, tg.SecretEnv()...)
	}
	for _, k := range want {
		if !slices.Contains(all, k) {
			t.Errorf("SecretEnv() lacks %s", k)
		}
	}
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "GOOGLE_CREDENTIALS", "OCI_CLI_KEY_CONTENT", "ALICLOUD_SECRET_KEY", "ARM_CLIENT_SECRET", "GITHUB_TOKEN"} {
		if !slices.Contains(all, k) {
			t.Errorf("SecretEnv() lacks %s", k)
		}
	}
}
