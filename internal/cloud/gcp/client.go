package gcp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/api/option/internaloption"
	htransport "google.golang.org/api/transport/http"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// EndpointEnv overrides the Compute Engine API endpoint (the cross-cloud
// tests point the real binary at a local fake with it).
const EndpointEnv = "SINDRI_GCP_ENDPOINT"

// The gcp target's own pace where its Tuning leaves a field zero: the
// SDK's Operation.Wait starts at 1 s and grows to a minute; launching
// wants a tighter pace, and a bound.
var defaults = cloud.Tuning{
	PollInterval: time.Second,
	PollMax:      10 * time.Second,
	WaitTimeout:  15 * time.Minute,
}

// tuning is g.Tuning with the gcp defaults, then the shared ones.
func (g Cloud) tuning() cloud.Tuning { return g.Tuning.Or(defaults).WithDefaults() }

// clients are the REST clients of one top-level call, made on first use.
type clients struct {
	ctx  context.Context
	g    Cloud
	opts []option.ClientOption
	err  error
	made []interface{ Close() error }

	images    *compute.ImagesClient
	instances *compute.InstancesClient
	firewalls *compute.FirewallsClient
	disks     *compute.DisksClient
	projects  *compute.ProjectsClient
}

func (g Cloud) newClients(ctx context.Context) *clients {
	return &clients{ctx: ctx, g: g}
}

// open checks c's gcp block and makes the one REST client a call needs
// (get picks it); done closes it.
func open[C any](ctx context.Context, g Cloud, c *config.Config, get func(*clients) (C, error)) (gc *config.GCP, cl C, done func(), err error) {
	if gc, err = gcpConfig(c); err != nil {
		return nil, cl, nil, err
	}
	k := g.newClients(ctx)
	if cl, err = get(k); err != nil {
		k.Close()
		return nil, cl, nil, err
	}
	return gc, cl, k.Close, nil
}

// options are the client options every REST client of this call shares:
// one HTTP client with a time-out per request. The SDK's list iterators
// do not pass their context to the request, so only the HTTP client's own
// time-out can bound a list page that hangs.
func (k *clients) options() ([]option.ClientOption, error) {
	if k.opts != nil || k.err != nil {
		return k.opts, k.err
	}
	ep := k.g.Endpoint
	if ep == "" {
		ep = k.g.Env.Get(EndpointEnv)
	}
	var opts []option.ClientOption
	if ep != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(ep, "/")))
	}
	hc := k.g.HTTPClient
	if hc == nil {
		base := []option.ClientOption{
			internaloption.WithDefaultEndpoint("https://compute.googleapis.com"),
			internaloption.WithDefaultEndpointTemplate("https://compute.UNIVERSE_DOMAIN"),
			internaloption.WithDefaultMTLSEndpoint("https://compute.mtls.googleapis.com"),
			internaloption.WithDefaultUniverseDomain("googleapis.com"),
			internaloption.WithDefaultAudience("https://compute.googleapis.com/"),
			internaloption.WithDefaultScopes(compute.DefaultAuthScopes()...),
			internaloption.EnableNewAuthLibrary(),
		}
		base = append(base, opts...)
		// A local fake: Application Default Credentials must never be
		// looked up (they could probe the metadata server).
		if ep != "" && loopbackHTTP(ep) {
			base = append(base, option.WithoutAuthentication())
		} else if cred, err := k.g.credentialsFile(); err != nil {
			k.err = err
			return nil, err
		} else if cred != nil {
			base = append(base, cred)
		}
		authed, _, err := htransport.NewClient(k.ctx, base...)
		if err != nil {
			// The auth library's errors mostly say "credentials:" already.
			format := "gcp: credentials: %w"
			if strings.HasPrefix(err.Error(), "credentials:") {
				format = "gcp: %w"
			}
			k.err = fmt.Errorf(format, err)
			return nil, k.err
		}
		hc = &http.Client{Transport: authed.Transport, Timeout: k.g.tuning().CallTimeout}
	}
	k.opts = append(opts, option.WithHTTPClient(hc))
	return k.opts, nil
}

// loopbackHTTP reports whether ep is a plain-http URL on this machine.
func loopbackHTTP(ep string) bool {
	u, err := url.Parse(ep)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (k *clients) Close() {
	for _, c := range k.made {
		_ = c.Close()
	}
}

// client makes the REST client in slot on first use, with the shared
// options, and remembers it for Close.
func client[C interface {
	comparable
	Close() error
}](k *clients, slot *C, what string, mk func(context.Context, ...option.ClientOption) (C, error)) (C, error) {
	var zero C
	if *slot != zero {
		return *slot, nil
	}
	opts, err := k.options()
	if err != nil {
		return zero, err
	}
	c, err := mk(k.ctx, opts...)
	if err != nil {
		return zero, fmt.Errorf("gcp: %s client: %w", what, err)
	}
	*slot = c
	k.made = append(k.made, c)
	return c, nil
}

func (k *clients) Images() (*compute.ImagesClient, error) {
	return client(k, &k.images, "images", compute.NewImagesRESTClient)
}

func (k *clients) Instances() (*compute.InstancesClient, error) {
	return client(k, &k.instances, "instances", compute.NewInstancesRESTClient)
}

func (k *clients) Firewalls() (*compute.FirewallsClient, error) {
	return client(k, &k.firewalls, "firewalls", compute.NewFirewallsRESTClient)
}

func (k *clients) Disks() (*compute.DisksClient, error) {
	return client(k, &k.disks, "disks", compute.NewDisksRESTClient)
}

func (k *clients) Projects() (*compute.ProjectsClient, error) {
	return client(k, &k.projects, "projects", compute.NewProjectsRESTClient)
}

// noSDKRetry turns off the SDK's own retries: its defaults retry only some
// methods, on 503/504 only, for up to ten minutes. Every call goes through
// call instead, which retries 429 and 5xx on all methods, bounded.
var noSDKRetry = gax.WithRetry(func() gax.Retryer { return nil })

// call runs one API call with retries and a time-out per attempt, and
// turns a failure into "gcp: WHAT: <the API's message> (request id ...)".
// Tuning.MaxAttempts, when set, bounds the attempts; otherwise the
// retries end only with Tuning.Retry's MaxElapsed.
func (g Cloud) call(ctx context.Context, what string, op func(ctx context.Context) error) error {
	t := g.tuning()
	timeout := t.CallTimeout
	attempts, most, again := 0, g.Tuning.MaxAttempts, retryable(ctx)
	retry := func(err error) bool {
		attempts++
		return again(err) && (most <= 0 || attempts < most)
	}
	err := cloud.Retry(ctx, t.Retry, retry, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return op(actx)
	})
	if err != nil {
		return fmt.Errorf("gcp: %s: %w", what, describe(err))
	}
	return nil
}

// retryable accepts throttling, transient server errors and time-outs of
// one attempt while the caller's context is still alive.
func retryable(parent context.Context) func(error) bool {
	return func(err error) bool {
		if parent.Err() != nil {
			return false
		}
		var ge *googleapi.Error
		if errors.As(err, &ge) {
			return cloud.RetryableStatus(ge.Code)
		}
		return cloud.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded)
	}
}

// describe is an API failure as the user should read it: the cloud's own
// message, reason and request id; the SDK's error stays reachable.
func describe(err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "googleapi: Error %d: %s", ge.Code, ge.Message)
	if ge.Message == "" {
		fmt.Fprintf(&b, "%s", strings.TrimSpace(ge.Body))
	}
	if len(ge.Errors) > 0 && ge.Errors[0].Reason != "" {
		fmt.Fprintf(&b, " (reason %s)", ge.Errors[0].Reason)
	}
	if id := requestID(ge); id != "" {
		fmt.Fprintf(&b, " (request id %s)", id)
	}
	return cloud.Reworded(b.String(), err)
}

// requestID reads the google.rpc.RequestInfo detail of an error body (the
// SDK's own parser drops all details when the body carries the legacy
// "errors" list, which Compute Engine always sends), or a request-id header.
func requestID(ge *googleapi.Error) string {
	var body struct {
		Error struct {
			Details []struct {
				Type      string `json:"@type"`
				RequestID string `json:"requestId"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(ge.Body), &body) == nil {
		for _, d := range body.Error.Details {
			if strings.HasSuffix(d.Type, "google.rpc.RequestInfo") && d.RequestID != "" {
				return d.RequestID
			}
		}
	}
	for _, h := range []string{"X-Goog-Request-Id", "X-Request-Id"} {
		if v := ge.Header.Get(h); v != "" {
			return v
		}
	}
	return ""
}

// isNotFound reports a 404 from the API.
func isNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

// operation is what the SDK's zonal and global operations have in common.
type operation interface {
	Done() bool
	Poll(ctx context.Context, opts ...gax.CallOption) error
	Name() string
	Proto() *computepb.Operation
}

// send makes one mutating call and returns its operation. The call
// carries one requestId through all its retries: the API runs a request
// id only once, so retrying after a time-out cannot insert twice.
func (g Cloud) send(ctx context.Context, what string, fn func(ctx context.Context, rid *string) (operation, error)) (operation, error) {
	rid := newRequestID()
	var op operation
	err := g.call(ctx, what, func(ctx context.Context) error {
		o, err := fn(ctx, rid)
		if err == nil {
			op = o
		}
		return err
	})
	return op, err
}

// wait polls an operation until it is done and returns its error, if any
// (an operation can finish DONE with errors: quota, a missing image, ...).
func (g Cloud) wait(ctx context.Context, what string, op operation) error {
	return g.tuning().Poll(ctx, "gcp: "+what, func(ctx context.Context) (bool, error) {
		if op.Done() {
			return true, opError(what, op)
		}
		err := g.call(ctx, what+": poll operation "+op.Name(), func(ctx context.Context) error {
			err := op.Poll(ctx, noSDKRetry)
			if err != nil && op.Done() {
				// The operation finished with an error: that is its
				// result, not a failed poll to retry.
				return nil
			}
			return err
		})
		if err != nil || !op.Done() {
			return false, err
		}
		return true, opError(what, op)
	})
}

// sendAndWait makes one mutating call and waits for its operation; a
// resource that is not there answers ErrNotFound about thing.
func (g Cloud) sendAndWait(ctx context.Context, what, thing string, fn func(ctx context.Context, rid *string) (operation, error)) error {
	op, err := g.send(ctx, what, fn)
	if isNotFound(err) {
		return fmt.Errorf("gcp: %s: %w", thing, cloud.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return g.wait(ctx, what, op)
}

// remove makes one delete call and waits until the resource is gone; one
// that is gone already succeeds.
func (g Cloud) remove(ctx context.Context, what string, fn func(ctx context.Context, rid *string) (operation, error)) error {
	err := g.sendAndWait(ctx, what, what, fn)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	return err
}

// opError returns the errors of a finished operation.
func opError(what string, op operation) error {
	o := op.Proto()
	if o.GetError() == nil || len(o.GetError().GetErrors()) == 0 {
		return nil
	}
	var msgs []string
	for _, e := range o.GetError().GetErrors() {
		msgs = append(msgs, fmt.Sprintf("%s: %s", e.GetCode(), e.GetMessage()))
	}
	code := int(o.GetHttpErrorStatusCode())
	err := fmt.Errorf("gcp: %s: operation %s failed: %s", what, o.GetName(), strings.Join(msgs, "; "))
	if code == http.StatusNotFound {
		return errors.Join(err, cloud.ErrNotFound)
	}
	return err
}

// newRequestID makes the requestId of a mutating call: the API runs a
// request id only once, so retrying after a time-out is safe.
func newRequestID() *string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	return &s
}

// gcpConfig returns the gcp block of c.
func gcpConfig(c *config.Config) (*config.GCP, error) {
	if c == nil || c.Packer.Clouds.GCP == nil {
		return nil, errors.New("gcp: the configuration has no gcp block")
	}
	g := c.Packer.Clouds.GCP
	if g.ProjectID == "" {
		return nil, errors.New("gcp: project_id is not set")
	}
	return g, nil
}

// lastSegment turns a selfLink or partial URL into the resource name.
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// parseTime reads the API's RFC 3339 timestamps; zero when absent.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// list runs one list call with retries, reading all its pages.
func list[T any, It interface{ Next() (T, error) }](ctx context.Context, g Cloud, what string, pages func(ctx context.Context) It) ([]T, error) {
	var out []T
	err := g.call(ctx, what, func(ctx context.Context) error {
		var err error
		out, err = drain[T](pages(ctx))
		return err
	})
	return out, err
}

// listOurs is list for a call filtered by the wanted labels: the items
// that carry all of them (ours), newest first.
func listOurs[T labelled, It interface{ Next() (T, error) }](ctx context.Context, g Cloud, what string, want map[string]string, pages func(ctx context.Context, filter *string) It) ([]T, error) {
	filter := ptr(labelFilter(want))
	out, err := list[T](ctx, g, what, func(ctx context.Context) It { return pages(ctx, filter) })
	if err != nil {
		return nil, err
	}
	return ours(out, want), nil
}

// labelled is what images, instances and disks have in common.
type labelled interface {
	GetLabels() map[string]string
	GetCreationTimestamp() string
}

// ours keeps the items that carry every wanted label (the list filter is
// the server's: check again so a lax server cannot hand us someone
// else's resource), newest first.
func ours[T labelled](items []T, want map[string]string) []T {
	items = slices.DeleteFunc(items, func(it T) bool { return !cloud.HasTags(it.GetLabels(), want) })
	slices.SortStableFunc(items, func(a, b T) int {
		return parseTime(b.GetCreationTimestamp()).Compare(parseTime(a.GetCreationTimestamp()))
	})
	return items
}

// drain reads a list call's iterator to the end (all pages).
func drain[T any](it interface{ Next() (T, error) }) ([]T, error) {
	var out []T
	for {
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}
