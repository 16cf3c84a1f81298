package report

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestCell(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "plain", in: "exit 1", want: "exit 1"},
		{name: "pipe escaped", in: "a|b", want: `a\|b`},
		{name: "line breaks are spaces", in: "a\nb\r\nc\rd", want: "a b c d"},
		{name: "no HTML", in: "<img src=x onerror=alert(1)>", want: "&lt;img src=x onerror=alert(1)&gt;"},
		// The cut counts the text, not the entities: none is cut in two.
		{name: "entities never cut", in: strings.Repeat("<", MaxCell+1), want: strings.Repeat("&lt;", MaxCell) + "…"},
		{name: "exactly MaxCell kept", in: strings.Repeat("x", MaxCell), want: strings.Repeat("x", MaxCell)},
		{name: "longer cut with an ellipsis", in: strings.Repeat("x", MaxCell+1), want: strings.Repeat("x", MaxCell) + "…"},
		// byte MaxCell falls inside an é: the cut goes back before it.
		{name: "cut never inside a character", in: "x" + strings.Repeat("é", MaxCell), want: "x" + strings.Repeat("é", (MaxCell-1)/2) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Cell(tc.in)
			if got != tc.want {
				t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Cell(%q) = %q is not valid UTF-8", tc.in, got)
			}
		})
	}
}

func TestCodeIsEscapedButNeverCut(t *testing.T) {
	long := "/subscriptions/" + strings.Repeat("a", 200)
	if got := Code(long); got != "`"+long+"`" {
		t.Errorf("a long ID was changed: %q", got)
	}
	if got := Code("a`b|c\nd"); got != "`a'b\\|c d`" {
		t.Errorf("Code = %q", got)
	}
}

func TestMarkdownTable(t *testing.T) {
	tb := NewTable(Column{Name: "cloud"}, Column{Name: "image", Code: true, Dash: true}, Column{Name: "why", Dash: true})
	tb.Row("aws", "ami-1", "a|b")
	tb.Row("gcp", "", "")
	tb.Row("oci") // missing values are empty
	want := "| cloud | image | why |\n|---|---|---|\n" +
		"| aws | `ami-1` | a\\|b |\n" +
		"| gcp | — | — |\n" +
		"| oci | — | — |\n"
	if got := tb.Markdown(); got != want {
		t.Errorf("Markdown() =\n%s\nwant\n%s", got, want)
	}
	if tb.Len() != 3 {
		t.Errorf("Len() = %d, want 3", tb.Len())
	}
}

func TestTextTable(t *testing.T) {
	tb := NewTable(Column{Name: "CLOUD"}, Column{Name: "ID"}, Column{Name: "NAME", Dash: true})
	tb.Row("aws", "ami-1", "")
	tb.Row("gcp", "img\twith\ntab", "n")
	var b strings.Builder
	if err := tb.Text(&b); err != nil {
		t.Fatal(err)
	}
	want := "CLOUD  ID            NAME\n" +
		"aws    ami-1         -\n" +
		"gcp    img with tab  n\n"
	if b.String() != want {
		t.Errorf("Text() =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestSetOutputsSorted(t *testing.T) {
	var names []string
	set := func(name, _ string) error { names = append(names, name); return nil }
	outputs := map[string]string{}
	for _, k := range []string{"z", "instance-id", "instance-address", "b", "a", "m", "c", "y"} {
		outputs[k] = "v"
	}
	// Map order differs between runs; a few rounds catch an unsorted write.
	for range 20 {
		names = nil
		if err := SetOutputs(set, outputs); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(names) || len(names) != len(outputs) {
			t.Fatalf("outputs written in order %q, want sorted", names)
		}
	}
	boom := errors.New("boom")
	if err := SetOutputs(func(string, string) error { return boom }, outputs); !errors.Is(err, boom) {
		t.Errorf("error %v, want the setter's", err)
	}
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("ab\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("ab\n", 800) {
		t.Errorf("lost or torn writes: %d bytes", len(got))
	}
}

// Tail keeps the last Max bytes; Lines starts at the first whole line
// after a cut and says something was dropped.
func TestTail(t *testing.T) {
	tests := []struct {
		name       string
		max        int
		writes     []string
		str, lines string
	}{
		{name: "under the limit", max: 16, writes: []string{"one\n", "two\n"}, str: "one\ntwo\n", lines: "one\ntwo"},
		{name: "cut mid-line", max: 10, writes: []string{"first line\n", "second\nthird\n"}, str: "ond\nthird\n", lines: "...\nthird"},
		{name: "cut at a line end", max: 6, writes: []string{"abc\n", "def\n", "ghi\n"}, str: "f\nghi\n", lines: "...\nghi"},
		{name: "no newline after the cut", max: 4, writes: []string{"abcdefgh"}, str: "efgh", lines: "...\nefgh"},
		{name: "empty", max: 4, str: "", lines: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tail := &Tail{Max: tt.max}
			for _, w := range tt.writes {
				if n, err := tail.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := tail.String(); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
			if got := tail.Lines(); got != tt.lines {
				t.Errorf("Lines = %q, want %q", got, tt.lines)
			}
		})
	}
	var zero Tail // keeps 64 KiB
	_, _ = zero.Write([]byte("HEAD" + strings.Repeat("x", 64<<10)))
	if got := zero.String(); len(got) != 64<<10 || strings.Contains(got, "HEAD") {
		t.Errorf("zero Tail kept %d bytes (want %d)", len(got), 64<<10)
	}
}
