package gha

import (
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Redacted replaces every secret in text the process writes.
const Redacted = "***"

// MinSecretLen is the shortest value the redactor replaces: shorter ones
// (a "1", an "on") would turn every log into asterisks and hide nothing.
const MinSecretLen = 4

// Redactor is the process's one set of secret strings. The runner masks its
// log, but text that leaves the process another way (a pull request comment
// through the API, a log outside a runner) passes through Redact.
type Redactor struct {
	mu      sync.RWMutex
	set     map[string]bool
	secrets []string        // longest first, so a secret's part never wins over it
	told    map[string]bool // forms the runner has been given with ::add-mask::
}

// NewRedactor returns an empty redactor.
func NewRedactor() *Redactor { return &Redactor{set: map[string]bool{}, told: map[string]bool{}} }

// tell reports whether the runner still has to be told to mask form, and
// remembers that it now is.
func (r *Redactor) tell(form string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.told[form] {
		return false
	}
	r.told[form] = true
	return true
}

// Add registers a secret in every form it can take in output (see
// SecretForms).
func (r *Redactor) Add(secret string) {
	forms := SecretForms(secret)
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, f := range forms {
		if len(f) >= MinSecretLen && !r.set[f] {
			r.set[f] = true
			r.secrets = append(r.secrets, f)
			changed = true
		}
	}
	if changed {
		slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	}
}

// Redact returns s with every registered secret replaced by ***.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// SecretForms is every form a secret may be printed in: the value, its
// trimmed form, each of its lines, and for a multi-line secret the one-line
// forms with \n escapes (as a workflow secret pasted on one line holds it,
// and as JSON or %q print it). A one-line value holding \n escapes (a PEM
// key pasted on one line) is unescaped too, since that is what gets written
// to a key file and what a tool may print, line by line.
func SecretForms(secret string) []string {
	if strings.TrimSpace(secret) == "" {
		return nil
	}
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(secret)
	add(strings.TrimSpace(secret))
	real := strings.ReplaceAll(secret, "\r\n", "\n")
	if !strings.Contains(real, "\n") && strings.Contains(real, `\n`) {
		real = strings.ReplaceAll(strings.ReplaceAll(real, `\r\n`, "\n"), `\n`, "\n")
	}
	if strings.Contains(real, "\n") {
		add(real)
		add(strings.TrimSpace(real))
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(real), "\n") {
			lines = append(lines, strings.TrimSpace(l))
			add(strings.TrimSpace(l))
		}
		add(strings.Join(lines, `\n`))
		add(strings.ReplaceAll(strings.TrimSpace(real), "\n", `\n`))
		if q := strconv.Quote(strings.TrimSpace(real)); len(q) > 2 {
			add(q[1 : len(q)-1])
		}
		if j, err := json.Marshal(strings.TrimSpace(real)); err == nil && len(j) > 2 {
			add(string(j[1 : len(j)-1]))
		}
	}
	return out
}

// maxPending bounds a line the writer holds back waiting for its end.
const maxPending = 64 << 10

// RedactWriter redacts what passes through it, a whole line at a time, so
// a secret split over two writes is still found. Flush writes a last
// unfinished line.
type RedactWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

// Wrap returns w redacted by r; a writer r already wraps is returned as is.
func (r *Redactor) Wrap(w io.Writer) *RedactWriter {
	if rw, ok := w.(*RedactWriter); ok && rw.r == r {
		return rw
	}
	return &RedactWriter{r: r, w: w}
}

// Redactor returns the redactor the writer uses.
func (rw *RedactWriter) Redactor() *Redactor { return rw.r }

// Raw returns the writer underneath, for a caller that redacts itself.
func (rw *RedactWriter) Raw() io.Writer { return rw.w }

func (rw *RedactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	end := strings.LastIndexByte(string(rw.buf), '\n') + 1
	if end == 0 && len(rw.buf) > maxPending {
		end = len(rw.buf)
	}
	if end > 0 {
		out := rw.r.Redact(string(rw.buf[:end]))
		rw.buf = append(rw.buf[:0], rw.buf[end:]...)
		if _, err := io.WriteString(rw.w, out); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes the unfinished line, redacted.
func (rw *RedactWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.buf) == 0 {
		return nil
	}
	out := rw.r.Redact(string(rw.buf))
	rw.buf = rw.buf[:0]
	_, err := io.WriteString(rw.w, out)
	return err
}

// writeRaw writes p unredacted: an ::add-mask:: command must reach the
// runner with the value it masks.
func (rw *RedactWriter) writeRaw(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.w.Write(p)
}

// rawWriter is a RedactWriter's unredacted side.
type rawWriter struct{ rw *RedactWriter }

func (w rawWriter) Write(p []byte) (int, error) { return w.rw.writeRaw(p) }
