package gcp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// hashLabel is the config-hash label value packer.go writes:
// substr(lower(hash), 0, 63).
func hashLabel(hash string) string {
	h := strings.ToLower(hash)
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// labelFilter is an AIP-160 list filter requiring every label; keys are
// sorted so the request is deterministic.
func labelFilter(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("(labels.%s = %q)", k, labels[k]))
	}
	return strings.Join(parts, " ")
}

// listImages returns this tool's images matching the extra labels, newest
// first.
func (g Cloud) listImages(ctx context.Context, c *config.Config, extra map[string]string) ([]*computepb.Image, error) {
	gc, cl, done, err := open(ctx, g, c, (*clients).Images)
	if err != nil {
		return nil, err
	}
	defer done()
	labels := map[string]string{cloud.TagManagedBy: cloud.ManagedBy}
	maps.Copy(labels, extra)
	return listOurs[*computepb.Image](ctx, g, "list images in project "+gc.ProjectID, labels, func(ctx context.Context, filter *string) *compute.ImageIterator {
		return cl.List(ctx, &computepb.ListImagesRequest{Project: gc.ProjectID, Filter: filter}, noSDKRetry)
	})
}

// FindImage is the build cache: the newest ready, non-deprecated image
// whose config-hash label is the (truncated) hash; nil when none.
func (g Cloud) FindImage(ctx context.Context, c *config.Config, hash string) (*cloud.Image, error) {
	ims, err := g.listImages(ctx, c, map[string]string{cloud.TagConfigHash: hashLabel(hash)})
	if err != nil {
		return nil, err
	}
	for _, im := range ims {
		if im.GetStatus() != "READY" || deprecated(im) {
			continue
		}
		out := toImage(im)
		out.ConfigHash = hash // the label holds only 63 characters
		return &out, nil
	}
	return nil, nil
}

// ListImages returns this tool's images in the project, newest first.
// Images are global on GCP, so every one of the project's is listed.
func (g Cloud) ListImages(ctx context.Context, c *config.Config) ([]cloud.Image, error) {
	ims, err := g.listImages(ctx, c, nil)
	if err != nil {
		return nil, err
	}
	out := make([]cloud.Image, 0, len(ims))
	for _, im := range ims {
		out = append(out, toImage(im))
	}
	return out, nil
}

// GetImage returns one image by name (or selfLink); a wrapped
// cloud.ErrNotFound when it does not exist.
func (g Cloud) GetImage(ctx context.Context, c *config.Config, id string) (*cloud.Image, error) {
	im, err := g.getImage(ctx, c, id)
	if err != nil {
		return nil, err
	}
	out := toImage(im)
	return &out, nil
}

func (g Cloud) getImage(ctx context.Context, c *config.Config, id string) (*computepb.Image, error) {
	gc, cl, done, err := open(ctx, g, c, (*clients).Images)
	if err != nil {
		return nil, err
	}
	defer done()
	name := lastSegment(id)
	var im *computepb.Image
	err = g.call(ctx, "get image "+name, func(ctx context.Context) error {
		var err error
		im, err = cl.Get(ctx, &computepb.GetImageRequest{Project: gc.ProjectID, Image: name}, noSDKRetry)
		return err
	})
	if isNotFound(err) {
		return nil, fmt.Errorf("gcp: image %s in project %s: %w", name, gc.ProjectID, cloud.ErrNotFound)
	}
	return im, err
}

// DeleteImage deletes the image and waits; one that is gone succeeds.
func (g Cloud) DeleteImage(ctx context.Context, c *config.Config, id string) error {
	gc, cl, done, err := open(ctx, g, c, (*clients).Images)
	if err != nil {
		return err
	}
	defer done()
	name := lastSegment(id)
	return g.remove(ctx, "delete image "+name, func(ctx context.Context, rid *string) (operation, error) {
		return cl.Delete(ctx, &computepb.DeleteImageRequest{Project: gc.ProjectID, Image: name, RequestId: rid}, noSDKRetry)
	})
}

// DeprecateImage sets the image's deprecation status to DEPRECATED, with
// the replacement's selfLink when one is named.
func (g Cloud) DeprecateImage(ctx context.Context, c *config.Config, id string, d cloud.Deprecation) error {
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	status := &computepb.DeprecationStatus{State: ptr("DEPRECATED"), Deprecated: ptr(at.UTC().Format(time.RFC3339))}
	if d.Replacement != "" {
		rep, err := g.getImage(ctx, c, d.Replacement)
		if err != nil {
			return fmt.Errorf("gcp: deprecate image %s: replacement: %w", lastSegment(id), err)
		}
		status.Replacement = ptr(rep.GetSelfLink())
	}
	gc, cl, done, err := open(ctx, g, c, (*clients).Images)
	if err != nil {
		return err
	}
	defer done()
	name := lastSegment(id)
	thing := fmt.Sprintf("image %s in project %s", name, gc.ProjectID)
	return g.sendAndWait(ctx, "deprecate image "+name, thing, func(ctx context.Context, rid *string) (operation, error) {
		return cl.Deprecate(ctx, &computepb.DeprecateImageRequest{
			Project: gc.ProjectID, Image: name, DeprecationStatusResource: status, RequestId: rid,
		}, noSDKRetry)
	})
}

// deprecated reports whether the image has been retired (any state but
// ACTIVE): a retired image is never the cached image of its hash.
func deprecated(im *computepb.Image) bool {
	s := im.GetDeprecated().GetState()
	return s != "" && s != "ACTIVE"
}

func toImage(im *computepb.Image) cloud.Image {
	l := im.GetLabels()
	out := cloud.Image{
		ID:            im.GetName(),
		Name:          im.GetName(),
		ConfigHash:    l[cloud.TagConfigHash],
		Created:       parseTime(im.GetCreationTimestamp()),
		Region:        "global",
		State:         strings.ToLower(im.GetStatus()),
		SindriVersion: l[cloud.TagSindriVersion],
		Extra:         map[string]string{"self_link": im.GetSelfLink()},
	}
	if locs := im.GetStorageLocations(); len(locs) > 0 {
		out.Region = locs[0]
	}
	if deprecated(im) {
		dep := im.GetDeprecated()
		out.State = strings.ToLower(dep.GetState())
		out.Deprecated = parseTime(dep.GetDeprecated())
		if out.Deprecated.IsZero() {
			// Deprecated without a date: say so with the only time known.
			out.Deprecated = out.Created
		}
		if r := dep.GetReplacement(); r != "" {
			out.Extra["replacement"] = lastSegment(r)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
