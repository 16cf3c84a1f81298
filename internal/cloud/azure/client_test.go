package azure_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure"
	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const fakeConfig = `
packer:
  cloud: azure
  subscription_id: ` + azurefake.Subscription + `
  resource_group: ` + azurefake.ResourceGroup + `
  location: ` + azurefake.Location + `
  vm_size: Standard_B2s
  tags: {team: platform}
`

const galleryConfig = fakeConfig + `  gallery:
    gallery_name: sindri_gallery
    image_name: sindri-dev
    image_version: 1.0.0
`

// setup starts a fake ARM and a client pointed at it through the Env
// seam, with tiny retry and poll waits, so throttling tests run in
// milliseconds.
func setup(t *testing.T, yaml string) (azure.Cloud, *azurefake.Fake, *config.Config) {
	t.Helper()
	f := azurefake.New(t)
	c := azure.Cloud{
		Env: f.LookupEnv,
		Tuning: cloud.Tuning{
			CallTimeout:  5 * time.Second,
			MaxAttempts:  4,
			Retry:        cloud.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond},
			PollInterval: 5 * time.Millisecond,
			PollMax:      5 * time.Millisecond,
		},
	}
	return c, f, cloudtest.Load(t, yaml)
}

func TestRetryAfterBeyondCapIsNotWaited(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.RetryAfter = 3600 // an hour: more than Retry.Max, so azcore gives up at once
	f.FailNext(429, 1)
	start := time.Now()
	_, err := c.ListImages(t.Context(), cfg)
	var e *azure.APIError
	if !errors.As(err, &e) || e.Status != 429 || e.Code != "TooManyRequests" {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %s", time.Since(start))
	}
}

func TestMaxAttemptsBoundsRetries(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	f.FailNext(503, 100)
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, cloudtest.ErrorSays("ServiceUnavailable", "HTTP 503"))
	if n := len(f.Requests()); n != 4 {
		t.Errorf("requests = %d, want MaxAttempts (4)", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	c.Tuning.CallTimeout, c.Tuning.MaxAttempts = 100*time.Millisecond, 1 // one try only
	f.HangNext(1)
	cloudtest.ListImagesGivesUp(t, c, cfg, 5*time.Second, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
	// The next call, not hanging, works.
	if _, err := c.ListImages(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestErrorBodySurfaced(t *testing.T) {
	c, f, cfg := setup(t, fakeConfig)
	msg := "The client 'fa4e' with object id 'fa4e' does not have authorization to perform action 'Microsoft.Compute/images/read' over scope '/subscriptions/x' or the scope is invalid."
	f.Inject(cloudtest.Fault{Match: "/providers/Microsoft.Compute/images", Status: 403, Code: "AuthorizationFailed", Message: msg})
	_, err := c.ListImages(t.Context(), cfg)
	var e *azure.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T)", err, err)
	}
	if e.Message != msg || e.Code != "AuthorizationFailed" || !strings.HasPrefix(e.RequestID, "fa4e") {
		t.Errorf("APIError = %+v", e)
	}
	if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), e.RequestID) || !strings.HasPrefix(err.Error(), "azure: list images") {
		t.Errorf("Error() = %s", err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("unwrap: %v", err)
	}
}

// The Tuning is what azcore's retries get; a zero Tuning keeps azure's
// own pacing (7 attempts, waits of 1s up to 60s, 2 minutes a try).
func TestTuningMapsOntoAzcoreRetries(t *testing.T) {
	d := azure.RetryOptions(azure.Cloud{})
	if d.MaxRetries != 6 || d.RetryDelay != time.Second || d.MaxRetryDelay != time.Minute || d.TryTimeout != 2*time.Minute {
		t.Errorf("defaults = %+v, want 6 retries, 1s, 1m, 2m", d)
	}
	got := azure.RetryOptions(azure.Cloud{Tuning: cloud.Tuning{
		MaxAttempts: 3, CallTimeout: time.Second, Retry: cloud.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond},
	}})
	if got.MaxRetries != 2 || got.RetryDelay != time.Millisecond || got.MaxRetryDelay != 2*time.Millisecond || got.TryTimeout != time.Second {
		t.Errorf("tuned = %+v", got)
	}
	// One attempt is no retry: azcore reads MaxRetries 0 as its default 3.
	if one := azure.RetryOptions(azure.Cloud{Tuning: cloud.Tuning{MaxAttempts: 1}}); one.MaxRetries >= 0 {
		t.Errorf("MaxAttempts 1: MaxRetries = %d, want negative (no retry)", one.MaxRetries)
	}
}

// The endpoint comes from the Env the caller passes, never from the
// process environment when an Env is given.
func TestEnvWinsOverTheProcessEnvironment(t *testing.T) {
	f := azurefake.New(t)
	cfg := cloudtest.Load(t, fakeConfig)
	t.Setenv(azure.EndpointEnv, "http://example.com") // refused if it were read
	c := azure.Cloud{Env: f.LookupEnv}
	if _, err := c.ListImages(t.Context(), cfg); err != nil {
		t.Fatalf("ListImages through the Env's endpoint: %v", err)
	}
	if len(f.Requests()) == 0 {
		t.Error("the fake named in the Env got no request")
	}
	bad := azure.Cloud{Env: cloud.EnvList([]string{azure.EndpointEnv + "=http://example.com"})}
	if _, err := bad.ListImages(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), azure.EndpointEnv) {
		t.Errorf("a plain-http endpoint from the Env: err = %v", err)
	}
}

func TestEndpointChecks(t *testing.T) {
	cfg := cloudtest.Load(t, fakeConfig)
	for _, ep := range []string{"http://example.com", "::bad"} {
		if _, err := (azure.Cloud{Endpoint: ep}).ListImages(t.Context(), cfg); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
	qemu := cloudtest.Load(t, "packer:\n  cloud: qemu\n")
	if _, err := (azure.Cloud{}).ListImages(t.Context(), qemu); err == nil || !strings.Contains(err.Error(), "no azure block") {
		t.Errorf("err = %v", err)
	}
}

// statusPolls counts the reads of long-running operations' status.
func statusPolls(f *azurefake.Fake) int {
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
	if _, err := c.Launch(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if n := statusPolls(f); n < 5*4 {
		t.Errorf("%d status reads for 5 creations, want at least 3 InProgress and 1 Succeeded each", n)
	}
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
