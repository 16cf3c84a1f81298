package azure_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
)

// statusPolls counts the reads of long-running operations' status.
func statusPolls(f *azurefake.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "GET /fake/operations/") {
			n++
		}
	}
	return n
}

// Operations that stay InProgress for a while are waited for: the client
// returns only once ARM says Succeeded, and what it did is then done.
func TestOperationsInProgressAreWaitedFor(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.LROPolls = 3
	img := f.SeedImage("sindri-a", "ha", t0)
	req := launchReq(img)
	req.Config = cfg
	inst, err := c.Launch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := statusPolls(f); n < 5*4 {
		t.Errorf("%d status reads for 5 creations, want at least 3 InProgress and 1 Succeeded each", n)
	}
	if err := c.Terminate(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	onlyImages(t, f)
	if err := c.DeleteImage(t.Context(), cfg, img); err != nil {
		t.Fatal(err)
	}
	if f.Get(img) != nil {
		t.Error("DeleteImage returned before the deletion finished")
	}
}

// A long-running operation that ends Failed is an error that carries the
// code and message of the status document's error, and nothing is done.
func TestFailedOperationSurfacesItsError(t *testing.T) {
	for _, polls := range []int{0, 2} {
		c, f, cfg := setup(t, fakeConfig)
		f.LROPolls = polls
		img := f.SeedImage("sindri-a", "ha", t0)
		f.FailOperation("DELETE", "/images/sindri-a", "OperationNotAllowed", "The image is being used by a gallery image version.", 1)
		err := c.DeleteImage(t.Context(), cfg, img)
		if err == nil || !strings.Contains(err.Error(), "OperationNotAllowed") || !strings.Contains(err.Error(), "used by a gallery image version") {
			t.Errorf("polls %d: DeleteImage = %v, want the operation's code and message", polls, err)
		}
		if f.Get(img) == nil {
			t.Errorf("polls %d: the image is gone though the deletion failed", polls)
		}

		// A VM that cannot be allocated: Launch fails with Azure's words
		// and removes what it had made for it.
		f.FailOperation("PUT", "/virtualMachines/", "AllocationFailed", "Allocation failed. We do not have sufficient capacity for the requested VM size in this region.", 1)
		req := launchReq(img)
		req.Config = cfg
		_, err = c.Launch(t.Context(), req)
		if err == nil || !strings.Contains(err.Error(), "AllocationFailed") || !strings.Contains(err.Error(), "sufficient capacity") {
			t.Errorf("polls %d: Launch = %v, want the allocation failure", polls, err)
		}
		onlyImages(t, f)
	}
}

// Every list the client calls follows nextLink to the last page.
func TestListsReturnEveryPage(t *testing.T) {
	c, f, cfg := setup(t, galleryConfig)
	for i := range 5 {
		f.SeedImage("sindri-"+string(rune('a'+i)), "h", t0.Add(time.Duration(i)*time.Hour))
		v := azurefake.ID("Microsoft.Compute/galleries/sindri_gallery/images/sindri-dev/versions", "1.0."+string(rune('0'+i)))
		f.Put(v, map[string]any{"location": azurefake.Location, "tags": map[string]any{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: "g"}}, t0)
	}
	for _, k := range []string{cloud.KindInstance, cloud.KindDisk, cloud.KindSecurityGroup, cloud.KindNetwork} {
		for range 3 {
			f.SeedLeftover(k, "run-a", t0)
		}
	}
	img := f.SeedImage("sindri-z", "h", t0)
	for i := range 3 {
		req := launchReq(img)
		req.Config, req.RunID = cfg, "run-"+string(rune('x'+i))
		if _, err := c.Launch(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	type counts struct{ images, instances, leftovers int }
	count := func() counts {
		imgs, err := c.ListImages(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		insts, err := c.ListInstances(t.Context(), cfg, cloud.InstanceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		left, err := c.Leftovers(t.Context(), cfg, cloud.SweepFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return counts{len(imgs), len(insts), len(left)}
	}
	all := count()
	if all.images != 11 || all.instances < 6 {
		t.Fatalf("one page: %+v, want 11 images and every VM", all)
	}
	f.PageSize = 2
	before := len(f.Requests())
	if got := count(); got != all {
		t.Errorf("pages of 2: %+v, want %+v", got, all)
	}
	// 6 managed images in pages of 2: the list was read 3 times.
	pages := 0
	for _, r := range f.Requests()[before:] {
		if strings.HasSuffix(r, "/providers/Microsoft.Compute/images") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("managed images read in %d pages, want 3", pages)
	}
}
