package packer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/report"
)

// Line is one line of `packer -machine-readable` output:
// timestamp,target,type,data... with commas in data written %!(PACKER_COMMA).
type Line struct {
	Time   time.Time
	Target string
	Type   string
	Data   []string
}

// ParseLine parses one machine-readable line.
func ParseLine(s string) (Line, bool) {
	parts := strings.Split(strings.TrimRight(s, "\r\n"), ",")
	if len(parts) < 3 {
		return Line{}, false
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Line{}, false
	}
	data := parts[3:]
	for i, d := range data {
		d = strings.ReplaceAll(d, "%!(PACKER_COMMA)", ",")
		data[i] = strings.ReplaceAll(d, `\n`, "\n")
	}
	return Line{Time: time.Unix(sec, 0), Target: parts[1], Type: parts[2], Data: data}, true
}

// Message is the human text of a ui line ("say", "message", "error").
func (l Line) Message() string {
	if l.Type == "ui" && len(l.Data) >= 2 {
		return strings.Join(l.Data[1:], ",")
	}
	return strings.Join(l.Data, ",")
}

// IsError reports whether the line is a ui error.
func (l Line) IsError() bool { return l.Type == "ui" && len(l.Data) >= 2 && l.Data[0] == "error" }

// Artifact is what a build produced, from the machine-readable artifact lines.
type Artifact struct {
	Target  string
	Builder string
	ID      string
	String  string
	Files   []string
}

// BuildOptions configure one `packer build`.
type BuildOptions struct {
	Dir  string            // template folder
	Vars map[string]string // -var k=v, passed sorted
	// VarFiles are -var-file arguments, in order.
	VarFiles []string
	OnError  string // "cleanup" (default) or "abort"
	// OnLine receives every machine-readable line as it arrives.
	OnLine func(Line)
	// Grace is how long packer may take to clean up after an interrupt
	// before it and everything it started are killed (default 2m).
	Grace time.Duration
}

// BuildResult is a finished build.
type BuildResult struct {
	ExitCode  int
	Artifacts []Artifact
	Errors    []string // packer's own ui error lines
	Cancelled bool     // the context ended and packer was interrupted
	Stderr    string   // the last part of stderr, for crashes
	// Killed: packer had not exited by itself when Grace ended after the
	// interrupt, so it was killed before its cleanup finished; what it
	// made may still exist (sindri-packer cleanup --run-id sweeps it).
	Killed bool
}

// Build runs `packer build -machine-readable`. Cancelling ctx sends packer
// one interrupt, so it runs its own cleanup (terminating instances,
// deleting temporary keys), and waits up to Grace; after that packer and
// its process group are killed. A failed build is not an error: read
// ExitCode. Errors mean packer could not be run at all.
func (r *Runner) Build(ctx context.Context, o BuildOptions) (BuildResult, error) {
	grace := o.Grace
	if grace <= 0 {
		grace = 2 * time.Minute
	}
	cmd := exec.Command(r.Bin, buildArgs(o)...)
	cmd.Env = append([]string{}, r.Env...)
	cmd.Dir = r.Dir
	// Its own process group: a terminal's Ctrl-C reaches only us, and we
	// forward exactly one interrupt; the group can be killed as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return BuildResult{}, err
	}
	var stderr report.Tail // the last 64 KiB
	cmd.Stderr = &stderr
	var log *lineWriter
	if r.Log != nil {
		// packer's own log (PACKER_LOG set, no PACKER_LOG_PATH) as it
		// comes, whole lines, so parallel builds do not cut each other's.
		log = &lineWriter{w: r.Log}
		cmd.Stderr = io.MultiWriter(&stderr, log)
	}
	if err := cmd.Start(); err != nil {
		return BuildResult{}, fmt.Errorf("packer build %s: %w", o.Dir, err)
	}

	var res BuildResult
	var cancelled sync.WaitGroup
	done := make(chan struct{})
	cancelled.Add(1)
	go func() {
		defer cancelled.Done()
		interruptOnCancel(ctx, cmd.Process.Pid, grace, done, &res)
	}()
	scanErr := readOutput(stdout, o.OnLine, &res)
	waitErr := cmd.Wait()
	close(done)
	cancelled.Wait()
	if res.Cancelled {
		// Whatever an interrupted packer left in its group (plugins,
		// qemu) goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res.Stderr = stderr.String()
	if log != nil {
		log.flush()
	}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exit):
		res.ExitCode = exit.ExitCode()
		if res.ExitCode < 0 {
			res.ExitCode = 1 // killed by a signal
		}
	default:
		return res, fmt.Errorf("packer build %s: %w", o.Dir, waitErr)
	}
	if scanErr != nil {
		return res, fmt.Errorf("packer build %s: reading its output: %w", o.Dir, scanErr)
	}
	return res, nil
}

// buildArgs are packer build's arguments: variables sorted, then the
// variable files in order, then the template folder.
func buildArgs(o BuildOptions) []string {
	args := []string{"build", "-machine-readable", "-color=false", "-timestamp-ui=false"}
	onError := o.OnError
	if onError == "" {
		onError = "cleanup"
	}
	args = append(args, "-on-error="+onError)
	for _, k := range slices.Sorted(maps.Keys(o.Vars)) {
		args = append(args, "-var", k+"="+o.Vars[k])
	}
	for _, f := range o.VarFiles {
		args = append(args, "-var-file="+f)
	}
	return append(args, o.Dir)
}

// interruptOnCancel interrupts packer's process group once when ctx ends
// before done, and kills it when it has not exited within grace (Killed)
// or when packer exited but the rest of its group still runs.
func interruptOnCancel(ctx context.Context, pid int, grace time.Duration, done <-chan struct{}, res *BuildResult) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	res.Cancelled = true
	// To the whole group, as a terminal's Ctrl-C would: packer's outer
	// (panicwrap) process does not forward a signal sent to it alone, and
	// the plugins ignore interrupts by design.
	_ = syscall.Kill(-pid, syscall.SIGINT)
	deadline := time.After(grace)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-deadline:
			res.Killed = !exited(pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return
		case <-tick.C:
			// Packer has finished its cleanup and exited, but a child that
			// ignored the interrupt (a provisioner's command) may still
			// hold its output open, and we read to the end: that rest of
			// the group goes now.
			if exited(pid) {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				return
			}
		}
	}
}

// readOutput reads packer's machine-readable output to its end, passing
// each line to onLine and keeping the ui errors and the artifacts in res.
func readOutput(stdout io.Reader, onLine func(Line), res *BuildResult) error {
	arts := map[string]*Artifact{}
	var order []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		l, ok := ParseLine(sc.Text())
		if !ok {
			continue
		}
		if onLine != nil {
			onLine(l)
		}
		switch {
		case l.IsError():
			res.Errors = append(res.Errors, l.Message())
		case l.Type == "artifact" && len(l.Data) >= 2:
			key := l.Target + "#" + l.Data[0]
			a := arts[key]
			if a == nil {
				a = &Artifact{Target: l.Target}
				arts[key] = a
				order = append(order, key)
			}
			a.set(l.Data[1], l.Data[2:])
		}
	}
	err := sc.Err()
	if err != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	for _, k := range order {
		res.Artifacts = append(res.Artifacts, *arts[k])
	}
	return err
}

// set records one artifact line's field.
func (a *Artifact) set(field string, rest []string) {
	switch field {
	case "builder-id":
		a.Builder = strings.Join(rest, ",")
	case "id":
		a.ID = strings.Join(rest, ",")
	case "string":
		a.String = strings.Join(rest, ",")
	case "file":
		if len(rest) >= 2 {
			a.Files = append(a.Files, strings.Join(rest[1:], ","))
		}
	}
}

// exited reports whether the process has exited and waits to be reaped (a
// zombie), from /proc; false where /proc cannot tell.
func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain them.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// logMu serializes writes of whole lines to every Runner.Log.
var logMu sync.Mutex

// lineWriter passes what is written to it on to w a whole line at a time.
type lineWriter struct {
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	end := bytes.LastIndexByte(l.buf, '\n') + 1
	if end == 0 && len(l.buf) > 64*1024 {
		end = len(l.buf) // no line end in sight: do not hold it all
	}
	if end > 0 {
		logMu.Lock()
		_, _ = l.w.Write(l.buf[:end])
		logMu.Unlock()
		l.buf = append(l.buf[:0], l.buf[end:]...)
	}
	return len(p), nil
}

// flush writes an unfinished last line.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.buf = append(l.buf, '\n')
		_, _ = l.Write(nil)
	}
}
