package cli

import (
	"errors"
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

// oneTarget loads the configuration and returns the target of the one
// selected cloud, for a command (what) that works on a single cloud.
func (c *Command) oneTarget(g *global, what string) (*config.Config, string, cloud.Target, error) {
	cfg, clouds, err := c.load(g)
	if err != nil {
		return nil, "", nil, err
	}
	name, err := oneCloud(what, cfg, clouds)
	if err != nil {
		return nil, "", nil, err
	}
	t, err := c.target(name)
	if err != nil {
		return nil, "", nil, badInput("%v", err)
	}
	return cfg, name, t, nil
}

// skipped is a cloud a listing leaves out because its target cannot list
// (cloud.ErrNotSupported); the error says what is not available.
type skipped struct{ err error }

func (s skipped) Error() string { return s.err.Error() }

// skip marks err, the reason in the command's words, as a cloud to leave
// out.
func skip(err error) error { return skipped{err} }

// listEach gathers a listing's rows (status, images list) from every
// selected cloud. list returns one cloud's rows, or its error in the
// command's words: a skip (the target cannot list) is noted on stderr and
// the cloud left out; any other error is printed and the cloud named in
// failed. The other clouds are listed either way.
func listEach[R any](c *Command, clouds []string, list func(name string, t cloud.Target) ([]R, error)) (rows []R, failed []string, err error) {
	for _, name := range clouds {
		t, err := c.target(name)
		if err != nil {
			return nil, nil, badInput("%v", err)
		}
		got, err := list(name, t)
		var s skipped
		switch {
		case errors.As(err, &s):
			fmt.Fprintf(c.Stderr, "%s: skipped: %v\n", name, s.err)
		case err != nil:
			fmt.Fprintln(c.Stderr, err)
			failed = append(failed, name)
		default:
			rows = append(rows, got...)
		}
	}
	return rows, failed, nil
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
