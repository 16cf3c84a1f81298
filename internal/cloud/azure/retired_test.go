package azure_test

import (
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// A deprecated image is no cache hit, even with the hash.
func TestFindImageSkipsDeprecated(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	id := f.SeedImage("sindri-a", "h1", time.Now().Add(-time.Hour))
	if got, err := c.FindImage(t.Context(), cfg, "h1"); err != nil || got == nil || got.ID != id {
		t.Fatalf("before: %+v, %v; want %s", got, err, id)
	}
	if err := c.DeprecateImage(t.Context(), cfg, id, cloud.Deprecation{}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.FindImage(t.Context(), cfg, "h1"); err != nil || got != nil {
		t.Fatalf("after deprecation: %+v, %v; want no image", got, err)
	}
}
