package cli

import (
	"path/filepath"
	"strings"

	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/gha"
)

// annotationPath turns a file path as the command opened it (resolved from
// Command.Dir, which the Action's working-directory sets) into the
// path GitHub places annotations at: relative to GITHUB_WORKSPACE, the
// repository root. Outside Actions, or for a path outside the workspace or
// no file ("--set"), it is returned unchanged.
func (c *Command) annotationPath(file string) string {
	ws := c.getenv("GITHUB_WORKSPACE")
	if ws == "" || file == "" || file == "--set" {
		return file
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	rel, err := filepath.Rel(ws, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return file
	}
	return filepath.ToSlash(rel)
}

// configNotice prints a placeholder notice (config.Options.Notice) to
// stderr and, inside GitHub Actions, as a notice at the field's line.
func (c *Command) configNotice(d config.Diagnostic) {
	if c.Stderr != nil {
		_, _ = c.Stderr.Write([]byte("notice: " + d.String() + "\n"))
	}
	gha.New(c.getenv, c.Stderr).Notice(gha.Annotation{File: c.annotationPath(d.File), Line: d.Line, Col: d.Col, Title: "sindri.yaml placeholder", Message: d.Field + ": " + d.Message})
}

// workflowDirs are the folders validate lints workflows in: .github/workflows
// of the repository root (the workspace in Actions, where the real ones
// are, whatever folder the configuration is in; else the configuration's
// folder) and workflows/ beside the configuration.
func (c *Command) workflowDirs(base string) []string {
	root := c.getenv("GITHUB_WORKSPACE")
	if root == "" {
		root = base
	}
	return []string{filepath.Join(root, ".github", "workflows"), filepath.Join(base, "workflows")}
}
