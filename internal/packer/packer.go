// Package packer runs the packer binary (init, fmt, validate, build) with an
// explicit environment and parses what it prints.
package packer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Runner runs one packer binary.
type Runner struct {
	Bin string   // path of the packer executable
	Env []string // the complete environment of every run
	Dir string   // working directory: relative paths in a template resolve here
	// Wrap, when set, is a command that runs packer in Run (validate,
	// fmt, version): packer's path and arguments are appended to it
	// (e.g. unshare --net --).
	Wrap []string
	// Log, when set, receives packer's stderr during Build as it arrives,
	// a whole line at a time: its log, when PACKER_LOG is set in Env and
	// PACKER_LOG_PATH is not. Redact secrets in the writer.
	Log io.Writer
}

// command is packer with args, under Wrap when set.
func (r *Runner) command(ctx context.Context, args []string) *exec.Cmd {
	if len(r.Wrap) == 0 {
		return exec.CommandContext(ctx, r.Bin, args...)
	}
	rest := append(append(slices.Clone(r.Wrap[1:]), r.Bin), args...)
	return exec.CommandContext(ctx, r.Wrap[0], rest...)
}

// Result is a finished run.
type Result struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// Run runs packer with args. A non-zero exit is not an error (callers read
// ExitCode); failing to start, or a cancelled context, is.
func (r *Runner) Run(ctx context.Context, args ...string) (Result, error) {
	cmd := r.command(ctx, args)
	// Never nil: a nil Env would make packer inherit this process's whole
	// environment (credentials included).
	cmd.Env = append([]string{}, r.Env...)
	cmd.Dir = r.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("packer %s: %w", strings.Join(args, " "), ctx.Err())
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		return res, fmt.Errorf("packer %s: %w", strings.Join(args, " "), err)
	}
	return res, nil
}

// Validate runs `packer validate` on a template folder.
func (r *Runner) Validate(ctx context.Context, dir string, syntaxOnly bool, vars map[string]string) (Result, error) {
	args := []string{"validate"}
	if syntaxOnly {
		args = append(args, "-syntax-only")
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		args = append(args, "-var", k+"="+vars[k])
	}
	return r.Run(ctx, append(args, dir)...)
}

// FmtCheck runs `packer fmt -check -recursive` on dir and its sub-folders
// and returns the files that need formatting (packer exits 3 for those).
// Without -recursive packer only looks at dir's own files, and rendered
// templates live one level down, in <dir>/<cloud>/.
func (r *Runner) FmtCheck(ctx context.Context, dir string) ([]string, error) {
	res, err := r.Run(ctx, "fmt", "-check", "-recursive", dir)
	if err != nil {
		return nil, err
	}
	switch res.ExitCode {
	case 0:
		return nil, nil
	case 3:
		// One path per line; a path may contain spaces.
		var files []string
		for _, l := range strings.Split(res.Stdout, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				files = append(files, l)
			}
		}
		return files, nil
	}
	return nil, fmt.Errorf("packer fmt -check %s: exit %d: %s", dir, res.ExitCode, strings.TrimSpace(res.Stderr+res.Stdout))
}

// Version returns the packer version, e.g. "1.9.4".
func (r *Runner) Version(ctx context.Context) (string, error) {
	res, err := r.Run(ctx, "version")
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("packer version: exit %d: %s", res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	m := regexp.MustCompile(`v?(\d+\.\d+\.\d+)`).FindStringSubmatch(res.Stdout)
	if m == nil {
		return "", fmt.Errorf("packer version: unexpected output %q", res.Stdout)
	}
	return m[1], nil
}

// Diagnostic is one error packer reported, with where it points when it
// says so ("on FILE line N").
type Diagnostic struct {
	File    string
	Line    int
	Summary string
	Detail  string
	// Items are the "* " entries of a detail that lists several errors
	// (a builder's "N error(s) occurred:"), continuation lines joined.
	Items []string
}

var onLine = regexp.MustCompile(`^\s*on (.+?) line (\d+)`)

// ParseDiagnostics extracts the "Error: ..." blocks of packer's text output
// (hcl's diagnostic text format: summary, "on FILE line N:", a source
// snippet up to a blank line, then the detail).
func ParseDiagnostics(out string) []Diagnostic {
	var diags []Diagnostic
	var cur *Diagnostic
	var detail []string
	inSnippet := false
	flush := func() {
		if cur != nil {
			cur.Detail = strings.TrimSpace(strings.Join(detail, " "))
			diags = append(diags, *cur)
		}
		cur, detail, inSnippet = nil, nil, false
	}
	item := func(t string) {
		switch s, ok := strings.CutPrefix(t, "* "); {
		case ok:
			cur.Items = append(cur.Items, strings.TrimSpace(s))
		case len(cur.Items) > 0:
			cur.Items[len(cur.Items)-1] += " " + t
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "Error: "); ok {
			flush()
			cur = &Diagnostic{Summary: strings.TrimSpace(s)}
			continue
		}
		if cur == nil {
			continue
		}
		if m := onLine.FindStringSubmatch(line); m != nil && cur.File == "" {
			cur.File = strings.TrimSuffix(m[1], ":")
			cur.Line, _ = strconv.Atoi(m[2])
			inSnippet = true
			continue
		}
		t := strings.TrimSpace(line)
		if inSnippet {
			// The quoted source lines ("  12: source ...") end at a blank
			// line; they are not part of the message.
			inSnippet = t != ""
			continue
		}
		if t == "" || t == "(source code not available)" || strings.HasPrefix(t, "==>") {
			continue
		}
		if strings.HasPrefix(t, "Warning: ") {
			flush()
			continue
		}
		detail = append(detail, t)
		item(t)
	}
	flush()
	return diags
}

// logLine matches a line of packer's own log ("2006/01/02 15:04:05 ..."),
// which plugins' log lines also carry.
var logLine = regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} `)

// WithoutLog drops the lines of packer's log from its stderr, keeping
// what packer printed for a person (a crash's panic, a usage error).
func WithoutLog(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if !logLine.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
