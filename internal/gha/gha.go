// Package gha speaks the GitHub Actions runner protocol through
// go-githubactions: annotations, outputs, the job summary, log groups and
// masks. Outside a runner every call is a no-op or plain text, so commands
// use one code path either way.
package gha

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Reporter writes to the runner when GITHUB_ACTIONS=true.
type Reporter struct {
	action  *githubactions.Action
	masks   *githubactions.Action // writes ::add-mask:: unredacted
	redact  *Redactor
	enabled bool
}

// New returns a reporter reading the environment through getenv and
// writing workflow commands to w. When w is a RedactWriter, Mask feeds its
// redactor, so one Mask hides a value from the runner's log and from
// everything the process writes or sends; otherwise the reporter keeps a
// redactor of its own.
func New(getenv func(string) string, w io.Writer) *Reporter {
	r := &Reporter{enabled: getenv("GITHUB_ACTIONS") == "true"}
	raw := w
	if rw, ok := w.(*RedactWriter); ok {
		r.redact, raw = rw.Redactor(), rawWriter{rw}
	} else {
		r.redact = NewRedactor()
	}
	r.action = githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(bestEffort{w}))
	r.masks = githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(bestEffort{raw}))
	return r
}

// Redactor returns the redactor Mask feeds.
func (r *Reporter) Redactor() *Redactor { return r.redact }

// bestEffort drops write errors: go-githubactions panics when its writer
// fails, and a lost annotation must not crash the command.
type bestEffort struct{ w io.Writer }

func (b bestEffort) Write(p []byte) (int, error) {
	_, _ = b.w.Write(p)
	return len(p), nil
}

// Enabled reports whether we run inside GitHub Actions.
func (r *Reporter) Enabled() bool { return r.enabled }

// Annotation is one error shown on a file in the pull request.
type Annotation struct {
	File    string
	Line    int
	Col     int
	Title   string
	Message string
}

// Error writes an error annotation (only inside Actions).
func (r *Reporter) Error(a Annotation) {
	if !r.enabled {
		return
	}
	r.action.WithFieldsMap(r.fields(a, true)).Errorf("%s", r.redact.Redact(a.Message))
}

// fields are an annotation's workflow-command properties, redacted; the
// position only where the annotation kind shows one.
func (r *Reporter) fields(a Annotation, position bool) map[string]string {
	fields := map[string]string{}
	if position && a.File != "" {
		fields["file"] = r.redact.Redact(a.File)
	}
	if position && a.Line > 0 {
		fields["line"] = strconv.Itoa(a.Line)
	}
	if position && a.Col > 0 {
		fields["col"] = strconv.Itoa(a.Col)
	}
	if a.Title != "" {
		fields["title"] = r.redact.Redact(a.Title)
	}
	return fields
}

// Warning writes a warning annotation (only inside Actions).
func (r *Reporter) Warning(a Annotation) {
	if !r.enabled {
		return
	}
	r.action.WithFieldsMap(r.fields(a, false)).Warningf("%s", r.redact.Redact(a.Message))
}

// guard turns go-githubactions' panics on failed file writes into errors.
func guard(what string, fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("github actions %s: %v", what, r)
		}
	}()
	fn()
	return nil
}

// SetOutput writes a step output to $GITHUB_OUTPUT (only inside Actions).
// Runners without the file (old self-hosted ones) get none. Each value is
// framed with a random delimiter (output.go), never go-githubactions' fixed
// one, so no value can define outputs of its own.
func (r *Reporter) SetOutput(name, value string) error {
	path := r.action.Getenv("GITHUB_OUTPUT")
	if !r.enabled || path == "" {
		return nil
	}
	if err := AppendFileCommand(path, name, value); err != nil {
		return fmt.Errorf("github actions output %s: %w", name, err)
	}
	return nil
}

// AddSummary appends markdown to the job summary (only inside Actions).
func (r *Reporter) AddSummary(markdown string) error {
	if !r.enabled || r.action.Getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	return guard("step summary", func() { r.action.AddStepSummary(r.redact.Redact(markdown)) })
}

// Mask hides a secret value in the rest of the job's log (the runner's
// ::add-mask::) and in everything redacted by the reporter's redactor. A
// multi-line value, or one holding \n escapes (a PEM key pasted on one
// line), is masked in every form SecretForms lists: the runner masks only
// single lines, so each line is masked on its own.
func (r *Reporter) Mask(value string) {
	forms := SecretForms(value)
	if r.enabled {
		for _, f := range forms {
			// A short line of a longer secret ("-----", "AB==") would mask
			// that text everywhere in the log; the whole value is masked.
			if strings.Contains(f, "\n") || (len(strings.TrimSpace(f)) < MinSecretLen && f != value) || !r.redact.tell(f) {
				continue
			}
			r.masks.AddMask(f)
		}
	}
	r.redact.Add(value)
}

// Start opens a folded log group (only inside Actions).
func (r *Reporter) Start(title string) {
	if r.enabled {
		r.action.Group(title)
	}
}

// End closes the log group Start opened.
func (r *Reporter) End() {
	if r.enabled {
		r.action.EndGroup()
	}
}
