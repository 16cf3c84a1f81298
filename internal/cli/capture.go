package cli

import (
	"io"

	"github.com/sindri-dev/sindri-packer/internal/gha"
	"github.com/sindri-dev/sindri-packer/internal/report"
)

// capture collects what a child command writes to stdout and stderr, in
// order, for the pull request comment: its diagnostics go to stderr.
type capture struct{ report.Buffer }

// tee writes to w's unredacted stream (the child redacts with the same
// redactor) and to the capture, which is redacted when the comment is sent.
func (c *capture) tee(w io.Writer) io.Writer {
	if rw, ok := w.(*gha.RedactWriter); ok {
		_ = rw.Flush()
		w = rw.Raw()
	}
	return io.MultiWriter(w, c)
}
