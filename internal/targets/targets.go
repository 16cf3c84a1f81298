// Package targets assembles the list of build targets once, above the
// cloud packages (a registry inside package cloud would be an import cycle).
// It is the only package that names the clouds; everything above it asks
// a cloud.Target.
package targets

import (
	"fmt"
	"slices"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/alibaba"
	"github.com/sindri-dev/sindri-packer/internal/cloud/aws"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp"
	"github.com/sindri-dev/sindri-packer/internal/cloud/oci"
	"github.com/sindri-dev/sindri-packer/internal/cloud/qemu"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// All returns every target, in config.Clouds order, each reading its
// environment (endpoints, credential files, tokens) from env: the command
// line passes its own, so nothing reads the process's (a nil env does).
func All(env cloud.Env) []cloud.Target {
	return []cloud.Target{
		aws.Cloud{Env: env}, azure.Cloud{Env: env}, gcp.Cloud{Env: env},
		oci.Cloud{Env: env}, alibaba.Cloud{Env: env}, qemu.Cloud{Env: env},
	}
}

// Find returns the target of that name among ts.
func Find(ts []cloud.Target, name string) (cloud.Target, error) {
	for _, t := range ts {
		if t.Name() == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unknown cloud %q", name)
}

// Builder returns the target of that name, reading the process
// environment.
func Builder(name string) (cloud.Target, error) { return Find(All(nil), name) }

// Builders returns every target reading the process environment, in
// config.Clouds order.
func Builders() []cloud.Target { return All(nil) }

// CheckImageID checks an image ID of the target called name.
func CheckImageID(name, id string) error {
	t, err := Builder(name)
	if err != nil {
		return err
	}
	return t.ValidImageID(id)
}

// SecretEnv names every credential variable: the runner's and GitHub's
// (config.CredentialEnv) and each target's (cloud.Target SecretEnv). Their
// values are masked in every log, and sindri.yaml may not read them.
func SecretEnv() []string {
	names := slices.Clone(config.CredentialEnv)
	for _, t := range All(nil) {
		for _, k := range t.SecretEnv() {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	return names
}
