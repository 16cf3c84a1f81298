package pipeline

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// logWriter serialises the clouds' log lines onto one writer: each line
// as it comes ("[cloud] line"), with its time when stamped, or buffered
// per cloud when grouped.
type logWriter struct {
	mu        sync.Mutex
	w         io.Writer
	grouped   bool
	stamped   bool
	heartbeat time.Duration
	group     interface {
		Start(title string)
		End()
	}
}

type cloudLog struct {
	lw    *logWriter
	name  string
	buf   []string
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

func (lw *logWriter) forCloud(name string) *cloudLog {
	c := &cloudLog{lw: lw, name: name, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	if !lw.grouped || lw.w == nil {
		close(c.done)
		return c
	}
	go c.beat()
	return c
}

// beat prints a progress line outside the group while the cloud's own
// lines wait in the buffer.
func (c *cloudLog) beat() {
	defer close(c.done)
	t := time.NewTicker(c.lw.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.lw.mu.Lock()
			last := ""
			if n := len(c.buf); n > 0 {
				last = "; last: " + strings.TrimPrefix(c.buf[n-1], "["+c.name+"] ")
			}
			fmt.Fprintf(c.lw.w, "[%s] still running after %s%s\n", c.name, time.Since(c.start).Round(time.Second), last)
			c.lw.mu.Unlock()
		}
	}
}

// printf logs a message of the pipeline's, at the current time.
func (c *cloudLog) printf(format string, args ...any) {
	c.at(time.Time{}, format, args...)
}

// at logs a message that happened at t (packer's own time of a line); a
// zero t is now.
func (c *cloudLog) at(t time.Time, format string, args ...any) {
	if c.lw.w == nil {
		return
	}
	prefix := "[" + c.name + "] "
	if c.lw.stamped {
		if t.IsZero() {
			t = time.Now()
		}
		prefix += t.UTC().Format(time.RFC3339) + " "
	}
	msg := fmt.Sprintf(format, args...)
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		lines = append(lines, prefix+l)
	}
	c.lw.mu.Lock()
	defer c.lw.mu.Unlock()
	if c.lw.grouped {
		c.buf = append(c.buf, lines...)
		return
	}
	for _, l := range lines {
		fmt.Fprintln(c.lw.w, l)
	}
}

// close writes a grouped cloud's buffered lines in one piece.
func (c *cloudLog) close() {
	if !c.lw.grouped || c.lw.w == nil {
		return
	}
	close(c.stop)
	<-c.done
	c.lw.mu.Lock()
	defer c.lw.mu.Unlock()
	if c.lw.group != nil {
		c.lw.group.Start("packer build: " + c.name)
	}
	for _, l := range c.buf {
		fmt.Fprintln(c.lw.w, l)
	}
	if c.lw.group != nil {
		c.lw.group.End()
	}
}
