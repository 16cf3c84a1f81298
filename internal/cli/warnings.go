package cli

import (
	"fmt"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
)

// configWarning prints a problem in sindri.yaml that does not stop the
// command (an extension missing from Sindri's catalogue) to stderr, and
// inside GitHub Actions as a warning annotation. Stdout stays for results
// (--json).
func (c *Command) configWarning(d config.Diagnostic) {
	fmt.Fprintln(c.Stderr, "warning:", d)
	gha.New(c.getenv, c.Stderr).Warning(gha.Annotation{Title: "sindri.yaml", Message: d.String()})
}
