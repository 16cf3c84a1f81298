package cli

import (
	"fmt"
	"path/filepath"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/targets"
)

// target returns the named target reading this command's environment
// (Environ, never the process's): Command.Targets when a test set it.
func (c *Command) target(name string) (cloud.Target, error) {
	if c.Targets != nil {
		return c.Targets(name)
	}
	return targets.Find(targets.All(cloud.EnvList(c.Environ)), name)
}

// targetsOf returns the targets of the named clouds.
func (c *Command) targetsOf(names []string) ([]cloud.Target, error) {
	ts := make([]cloud.Target, len(names))
	for i, name := range names {
		t, err := c.target(name)
		if err != nil {
			return nil, badInput("%v", err)
		}
		ts[i] = t
	}
	return ts, nil
}

// notAvailable is the one place an operation a target cannot do
// (cloud.ErrNotSupported) becomes the tool failure saying so; any other
// error, or nil, is returned as it is.
func notAvailable(what, name string, err error) error {
	if cloud.Supported(err) {
		return err
	}
	return toolFailure(fmt.Errorf("%s: not available for %s", what, name))
}

// launchNeeds is bad input (exit 2, at the field) when a command that will
// launch an instance in one of clouds misses a field only launching needs
// (config.LaunchNeeds), before anything is built or started.
func launchNeeds(cfg *config.Config, clouds []string) error {
	var ds config.Diagnostics
	for _, name := range clouds {
		ds = append(ds, cfg.LaunchNeeds(name)...)
	}
	if len(ds) > 0 {
		return ds
	}
	return nil
}

// secretEnv names environment variables whose values must never appear in
// a job log: the runner's, GitHub's and every target's credentials.
var secretEnv = targets.SecretEnv()

// path resolves a path the user gave (a flag, the config) against the
// command's working folder, Dir; "" or "." is the process's own.
func (c *Command) path(p string) string {
	if c.Dir == "" || c.Dir == "." || p == "" || p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}
