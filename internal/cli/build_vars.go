package cli

import (
	"slices"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// checkVarFields refuses a --var that sets a template variable standing
// for a sindri.yaml field (region, instance type, sindri_version...):
// packer would take it, but the rest of the run (cache lookup, the test
// instance, images and repave) reads the field, so the
// image would be built in one region and looked for in another. The error
// gives the --set that changes both.
func checkVarFields(cfg *config.Config, clouds []string, vars map[string]string) error {
	for _, k := range slices.Sorted(mapKeys(vars)) {
		if k == "sindri_version" {
			return badInput("build: --var sindri_version: use --set packer.build.sindri_version=%s (the config hash, the cache lookup and the image test read the field; --var sets the template only)", vars[k])
		}
		for _, name := range clouds {
			for _, v := range cfg.Packer.Clouds.PackerVariables(name) {
				if v.Name == k {
					return badInput("build: --var %s: use --set %s=%s (the cache lookup, the image test and images read the field; --var sets the template only)", k, cfg.Packer.FieldPath(name, k), vars[k])
				}
			}
		}
	}
	return nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
