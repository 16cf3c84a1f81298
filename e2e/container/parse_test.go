package container

import (
	"reflect"
	"testing"
)

// The harness reads GITHUB_OUTPUT as the runner does, so an output the
// runner would reject or read differently fails the journeys too.
func TestParseFileCommand(t *testing.T) {
	t.Parallel()
	got, err := parseFileCommand("a=1\nb<<EOF\nline 1\nx=y\nEOF\nc=with=equals\nd<<_D_\n_D_\n")
	want := map[string]string{"a": "1", "b": "line 1\nx=y", "c": "with=equals", "d": ""}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"no-separator\n", "a<<EOF\nnever closed\n", "=value\n", "a<<\nx\n"} {
		if _, err := parseFileCommand(bad); err == nil {
			t.Errorf("%q: accepted; the runner fails the step", bad)
		}
	}
}

func TestParseAnnotations(t *testing.T) {
	t.Parallel()
	got := parseAnnotations("plain\n::error col=3,file=images/sindri.yaml,line=6,title=sindri.yaml::bad%0Avalue\n::warning::w\n::add-mask::x\n")
	want := []annotation{{level: "error", file: "images/sindri.yaml", line: 6, title: "sindri.yaml", message: "bad\nvalue"}, {level: "warning", message: "w"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
