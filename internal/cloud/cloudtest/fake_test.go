package cloudtest

import (
	"sync"
	"testing"
)

func TestReadAndCopyTags(t *testing.T) {
	var mu sync.Mutex
	tags := map[string]string{"a": "1"}
	m := map[string]map[string]string{"x": tags}
	got := Read(&mu, m, "x", CopyTags)
	got["a"] = "changed"
	if tags["a"] != "1" {
		t.Fatal("CopyTags shares the map it copies")
	}
	if none := Read(&mu, m, "y", CopyTags); none != nil {
		t.Fatalf("Read of a missing id = %v, want the zero value", none)
	}
	if empty := CopyTags(nil); empty == nil || len(empty) != 0 {
		t.Fatalf("CopyTags(nil) = %#v, want an empty map", empty)
	}
	if !mu.TryLock() {
		t.Fatal("Read left the lock held")
	}
}
