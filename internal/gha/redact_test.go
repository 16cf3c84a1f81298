package gha_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sindri-dev/sindri-packer/internal/gha"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	r := gha.NewRedactor()
	r.Add("tok")               // too short to redact: it would hide every "tok"
	r.Add("ghs_abcdef")        // a token
	r.Add("ghs_abcdef_longer") // a longer one holding it: replaced whole
	r.Add("line-one\nline-two\n")
	tests := []struct{ in, want string }{
		{"token ghs_abcdef here", "token *** here"},
		{"x ghs_abcdef_longer y", "x *** y"},
		{"tok tok", "tok tok"},
		{"a line-two b", "a *** b"},
		{`json "line-one\nline-two"`, `json "***"`},
		{"nothing", "nothing"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A PEM key pasted into a secret on one line keeps its line breaks as \n
// escapes (OCI_CLI_KEY_CONTENT): the credentials bridge writes the real
// lines to a key file, so each real line must be masked, not only the
// one-line form the runner was given.
func TestMaskOneLineKeyMasksItsRealLines(t *testing.T) {
	t.Parallel()
	const oneLine = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7canaryline2\n-----END PRIVATE KEY-----\n`
	var out bytes.Buffer
	rep := gha.New(onRunner, &out)
	rep.Mask(oneLine)
	for _, line := range []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7canaryline2", "-----END PRIVATE KEY-----"} {
		if !strings.Contains(out.String(), "::add-mask::"+line+"\n") {
			t.Errorf("line %q not masked; wrote\n%s", line, out.String())
		}
		if got := rep.Redactor().Redact("tool says: " + line); strings.Contains(got, line) {
			t.Errorf("redactor keeps %q: %s", line, got)
		}
	}
	if !strings.Contains(out.String(), "::add-mask::"+strings.TrimSpace(oneLine)) {
		t.Errorf("one-line form not masked; wrote\n%s", out.String())
	}
}

// Everything written through a RedactWriter is redacted, also a secret
// split over two writes; the ::add-mask:: command that tells the runner is
// not, or the runner would mask "***".
func TestRedactWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r := gha.NewRedactor()
	w := r.Wrap(&out)
	if r.Wrap(w) != w {
		t.Error("Wrap wraps its own writer again")
	}
	rep := gha.New(onRunner, w)
	rep.Mask("s3cr3t-value")
	w.Write([]byte("before s3cr"))
	w.Write([]byte("3t-value after\n"))
	rep.Error(gha.Annotation{Title: "t", Message: "found s3cr3t-value"})
	w.Write([]byte("unfinished s3cr3t-value"))
	w.Flush()
	want := "::add-mask::s3cr3t-value\nbefore *** after\n::error title=t::found ***\nunfinished ***"
	if got := out.String(); got != want {
		t.Errorf("wrote\n%q\nwant\n%q", got, want)
	}
}

// The runner is told each form once, however many places mask it.
func TestMaskTellsTheRunnerOnce(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rep := gha.New(onRunner, &out)
	rep.Mask("s3cr3t-value")
	rep.Mask("s3cr3t-value")
	if got := out.String(); got != "::add-mask::s3cr3t-value\n" {
		t.Errorf("wrote %q", got)
	}
}
