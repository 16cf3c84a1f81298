package report

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects what several goroutines write (a command's stdout and
// stderr, the logs of parallel builds) in the order written, for a report
// or a comment; Write and String are safe to call concurrently. The zero
// value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Tail keeps the last Max bytes written to it: the end of a command's
// output, for the error that quotes it. Write and String are safe to call
// concurrently; the zero value keeps 64 KiB.
type Tail struct {
	Max int

	mu  sync.Mutex
	buf []byte
	cut bool // something was dropped
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	limit := t.Max
	if limit <= 0 {
		limit = 64 << 10
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - limit; over > 0 {
		t.buf = append(t.buf[:0:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns the kept bytes as written.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Lines returns the kept text trimmed, from its first whole line on and
// led by "...", when the start was dropped.
func (t *Tail) Lines() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if t.cut {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		s = "...\n" + s
	}
	return strings.TrimSpace(s)
}
