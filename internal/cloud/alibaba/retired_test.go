package alibaba_test

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// A deprecated image is no cache hit, even with the hash.
func TestFindImageSkipsDeprecated(t *testing.T) {
	f, cfg := start(t)
	id := f.SeedImage("sindri-a", "H", time.Now().Add(-time.Hour))
	if got, err := fast.FindImage(t.Context(), cfg, "H"); err != nil || got == nil || got.ID != id {
		t.Fatalf("before: %+v, %v; want %s", got, err, id)
	}
	if err := fast.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if got, err := fast.FindImage(t.Context(), cfg, "H"); err != nil || got != nil {
		t.Fatalf("after deprecation: %+v, %v; want no image", got, err)
	}
}
