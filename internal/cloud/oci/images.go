package oci

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Images are found by the freeform tags packer.go writes (keys exactly
// as in cloud's Tag* constants: OCI freeform tags keep case and length).
// ListImages cannot filter by tag server-side, so the compartment's
// custom images are listed and filtered here.

// FindImage is the build cache: the newest AVAILABLE image with our
// managed-by tag and config-hash tag equal to hash; nil, nil when none.
func (c Cloud) FindImage(ctx context.Context, cfg *config.Config, hash string) (*cloud.Image, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return nil, err
	}
	imgs, err := cl.listImages(ctx, core.ImageLifecycleStateAvailable)
	if err != nil {
		return nil, err
	}
	return cloud.CacheHit(imgs, hash, time.Now()), nil
}

// ListImages returns this tool's images in the compartment, newest first.
func (c Cloud) ListImages(ctx context.Context, cfg *config.Config) ([]cloud.Image, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return nil, err
	}
	return cl.listImages(ctx, "")
}

// GetImage returns one image; cloud.ErrNotFound (wrapped) when absent.
func (c Cloud) GetImage(ctx context.Context, cfg *config.Config, id string) (*cloud.Image, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return nil, err
	}
	img, err := cl.getImage(ctx, id)
	if err != nil {
		return nil, err
	}
	out := cl.image(img)
	return &out, nil
}

// DeleteImage deletes one of our images; one that is gone succeeds. An
// image without our managed-by tag is refused: the ID may be a typo that
// names someone else's image.
func (c Cloud) DeleteImage(ctx context.Context, cfg *config.Config, id string) error {
	cl, err := c.connect(cfg)
	if err != nil {
		return err
	}
	img, err := cl.getImage(ctx, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ours(img); err != nil {
		return err
	}
	_, err = cl.compute.DeleteImage(sdk(ctx), core.DeleteImageRequest{ImageId: common.String(id)})
	if isNotFound(err) {
		return nil
	}
	return wrap("DeleteImage "+id, err)
}

// DeprecateImage records the deprecation in the sindri-deprecated tag:
// OCI has no native image deprecation. UpdateImage replaces the whole
// freeform tag set, so the image's tags are read and kept.
func (c Cloud) DeprecateImage(ctx context.Context, cfg *config.Config, id string, d cloud.Deprecation) error {
	cl, err := c.connect(cfg)
	if err != nil {
		return err
	}
	img, err := cl.getImage(ctx, id)
	if err != nil {
		return err
	}
	if err := ours(img); err != nil {
		return err
	}
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	tags := tagsOf(img.FreeformTags)
	tags[cloud.TagDeprecated] = at.UTC().Format(time.RFC3339)
	_, err = cl.compute.UpdateImage(sdk(ctx), core.UpdateImageRequest{
		ImageId:            common.String(id),
		UpdateImageDetails: core.UpdateImageDetails{FreeformTags: tags},
	})
	return wrap("UpdateImage "+id, err)
}

func ours(img core.Image) error {
	if img.FreeformTags[cloud.TagManagedBy] != cloud.ManagedBy {
		return fmt.Errorf("oci image %s is not managed by %s (no %s=%s tag)", str(img.Id), cloud.ManagedBy, cloud.TagManagedBy, cloud.ManagedBy)
	}
	return nil
}

func (cl *clients) getImage(ctx context.Context, id string) (core.Image, error) {
	resp, err := cl.compute.GetImage(sdk(ctx), core.GetImageRequest{ImageId: common.String(id)})
	if err != nil {
		return core.Image{}, wrap("GetImage "+id, err)
	}
	return resp.Image, nil
}

// listImages pages through the compartment's images and keeps ours
// (state "" means any but DELETED), newest first.
func (cl *clients) listImages(ctx context.Context, state core.ImageLifecycleStateEnum) ([]cloud.Image, error) {
	all, err := pages(func(page *string) ([]core.Image, *string, error) {
		resp, err := cl.compute.ListImages(sdk(ctx), core.ListImagesRequest{
			CompartmentId:  common.String(cl.cfg.CompartmentOCID),
			LifecycleState: state,
			SortBy:         core.ListImagesSortByTimecreated,
			SortOrder:      core.ListImagesSortOrderDesc,
			Page:           page,
		})
		return resp.Items, resp.OpcNextPage, wrap("ListImages", err)
	})
	if err != nil {
		return nil, err
	}
	var out []cloud.Image
	for _, img := range all {
		// The compartment also lists platform images; ours carry our tag.
		if img.FreeformTags[cloud.TagManagedBy] == cloud.ManagedBy && img.LifecycleState != core.ImageLifecycleStateDeleted {
			out = append(out, cl.image(img))
		}
	}
	slices.SortStableFunc(out, func(a, b cloud.Image) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (cl *clients) image(img core.Image) cloud.Image {
	id := str(img.Id)
	tags := img.FreeformTags
	out := cloud.Image{
		ID:            id,
		Regions:       map[string]string{cl.region: id},
		Name:          str(img.DisplayName),
		ConfigHash:    tags[cloud.TagConfigHash],
		Created:       sdkTime(img.TimeCreated),
		Region:        cl.region,
		State:         strings.ToLower(string(img.LifecycleState)),
		SindriVersion: tags[cloud.TagSindriVersion],
	}
	if v := tags[cloud.TagDeprecated]; v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			out.Deprecated = t
		}
	}
	return out
}
