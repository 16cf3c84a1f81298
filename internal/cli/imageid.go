package cli

import (
	"strings"
	"unicode"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// checkImageID checks a config image_id against its cloud's form.
func (c *Command) checkImageID(name, id string) error {
	t, err := c.target(name)
	if err != nil {
		return err
	}
	return t.ValidImageID(id)
}

// validImageID checks an image ID of a result against its target's form
// (the injected targets' in tests); an unknown cloud's IDs must be plain.
func (c *Command) validImageID(name, id string) error {
	t, err := c.target(name)
	if err != nil {
		return cloud.PlainID(id)
	}
	return t.ValidImageID(id)
}

// checkOutputPath refuses a path that would reach a step output with a
// control character in it (a line break ends the value for a later step's
// script).
func checkOutputPath(what, path string) error {
	if strings.ContainsFunc(path, unicode.IsControl) {
		return badInput("%s %q: a path with control characters cannot be a step output", what, path)
	}
	return nil
}
