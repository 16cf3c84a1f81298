package report

import (
	"bytes"
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
