package alibaba

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Image states as DescribeImages spells them. Without a Status filter
// ECS returns only Available images, so listing asks for all of them.
const (
	statusAvailable  = "Available"
	statusDeprecated = "Deprecated"
	allImageStatuses = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"
)

// imagePageSize is DescribeImages' largest page.
const imagePageSize = 100

// describeImages returns our own images (ImageOwnerAlias=self) matching
// the tags, the ID and the statuses, over every page.
func (a *api) describeImages(ctx context.Context, tags map[string]string, id, status string) ([]ecs.Image, error) {
	return listAll(imagePageSize, func(page, size requests.Integer) ([]ecs.Image, int, error) {
		req := ecs.CreateDescribeImagesRequest()
		req.ImageOwnerAlias = "self"
		req.ImageId = id
		req.Status = status
		req.PageNumber, req.PageSize = page, size
		req.Tag = tagList(tags, func(k, v string) ecs.DescribeImagesTag { return ecs.DescribeImagesTag{Key: k, Value: v} })
		resp := ecs.CreateDescribeImagesResponse()
		err := a.call(ctx, req, resp)
		return resp.Images.Image, resp.TotalCount, err
	})
}

// FindImage is the build cache: the newest Available image of ours
// carrying the config hash; nil when there is none.
func (c Cloud) FindImage(ctx context.Context, cfg *config.Config, hash string) (*cloud.Image, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	want := map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: hash}
	imgs, err := a.describeImages(ctx, want, "", statusAvailable)
	if err != nil {
		return nil, err
	}
	var best *cloud.Image
	for _, im := range imgs {
		got := a.image(im)
		// ECS filters by tag already; check again so a filter ECS ignored
		// can never hand out another config's image.
		if tags := tagMap(im.Tags.Tag); tags[cloud.TagManagedBy] != cloud.ManagedBy || tags[cloud.TagConfigHash] != hash || im.Status != statusAvailable || got.Retired(time.Now()) {
			continue
		}
		if best == nil || got.Created.After(best.Created) {
			best = &got
		}
	}
	return best, nil
}

// ListImages returns our images in the configured region, newest first.
func (c Cloud) ListImages(ctx context.Context, cfg *config.Config) ([]cloud.Image, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	imgs, err := a.describeImages(ctx, map[string]string{cloud.TagManagedBy: cloud.ManagedBy}, "", allImageStatuses)
	if err != nil {
		return nil, err
	}
	var out []cloud.Image
	for _, im := range imgs {
		if tagMap(im.Tags.Tag)[cloud.TagManagedBy] == cloud.ManagedBy {
			out = append(out, a.image(im))
		}
	}
	slices.SortStableFunc(out, func(x, y cloud.Image) int {
		if c := y.Created.Compare(x.Created); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// GetImage returns one of the account's own images, in any state.
func (c Cloud) GetImage(ctx context.Context, cfg *config.Config, id string) (*cloud.Image, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	im, err := a.getImage(ctx, id)
	if err != nil {
		return nil, err
	}
	got := a.image(*im)
	return &got, nil
}

func (a *api) getImage(ctx context.Context, id string) (*ecs.Image, error) {
	if id == "" {
		return nil, fmt.Errorf("alibaba image: empty image ID: %w", cloud.ErrNotFound)
	}
	imgs, err := a.describeImages(ctx, nil, id, allImageStatuses)
	if err != nil {
		return nil, err
	}
	for i := range imgs {
		if imgs[i].ImageId == id {
			return &imgs[i], nil
		}
	}
	return nil, fmt.Errorf("alibaba image %s in %s: %w", id, a.region, cloud.ErrNotFound)
}

// DeleteImage deletes the image, then the snapshots it was made of (ECS
// keeps them, and bills them, otherwise). A missing image is success.
func (c Cloud) DeleteImage(ctx context.Context, cfg *config.Config, id string) error {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return err
	}
	im, err := a.getImage(ctx, id)
	if isErrNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	req := ecs.CreateDeleteImageRequest()
	req.ImageId = id
	req.Force = requests.NewBoolean(true) // also when instances still use it
	if err := a.call(ctx, req, ecs.CreateDeleteImageResponse()); err != nil && !isNotFound(err) {
		return err
	}
	for _, m := range im.DiskDeviceMappings.DiskDeviceMapping {
		if m.SnapshotId == "" {
			continue
		}
		sreq := ecs.CreateDeleteSnapshotRequest()
		sreq.SnapshotId = m.SnapshotId
		sreq.Force = requests.NewBoolean(true)
		if err := a.call(ctx, sreq, ecs.CreateDeleteSnapshotResponse()); err != nil && !isNotFound(err) {
			return fmt.Errorf("image %s deleted, its snapshot %s not: %w", id, m.SnapshotId, err)
		}
	}
	return nil
}

// DeprecateImage records the deprecation time in TagDeprecated (ECS has
// no deprecation time of its own) and, once that time has come, puts the
// image into ECS's Deprecated state: it can no longer be shared or copied
// but still boots instances, so deployments of it keep working.
func (c Cloud) DeprecateImage(ctx context.Context, cfg *config.Config, id string, d cloud.Deprecation) error {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return err
	}
	im, err := a.getImage(ctx, id)
	if err != nil {
		return err
	}
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	if err := a.tag(ctx, "image", id, map[string]string{cloud.TagDeprecated: at.UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	if at.After(time.Now()) || im.Status != statusAvailable {
		return nil
	}
	req := ecs.CreateModifyImageAttributeRequest()
	req.ImageId = id
	req.Status = statusDeprecated
	return a.call(ctx, req, ecs.CreateModifyImageAttributeResponse())
}

// tag adds tags to one resource (ResourceType image, instance, ...).
func (a *api) tag(ctx context.Context, resourceType, id string, tags map[string]string) error {
	req := ecs.CreateTagResourcesRequest()
	req.ResourceType = resourceType
	req.ResourceId = &[]string{id}
	req.Tag = tagList(tags, func(k, v string) ecs.TagResourcesTag { return ecs.TagResourcesTag{Key: k, Value: v} })
	return a.call(ctx, req, ecs.CreateTagResourcesResponse())
}

// image converts an ECS image.
func (a *api) image(im ecs.Image) cloud.Image {
	tags := tagMap(im.Tags.Tag)
	out := cloud.Image{
		ID:            im.ImageId,
		Regions:       map[string]string{a.region: im.ImageId},
		Name:          im.ImageName,
		ConfigHash:    tags[cloud.TagConfigHash],
		Created:       parseTime(im.CreationTime),
		Region:        a.region,
		State:         strings.ToLower(im.Status),
		SindriVersion: tags[cloud.TagSindriVersion],
	}
	if v, ok := tags[cloud.TagDeprecated]; ok {
		out.Deprecated = parseTime(v)
	} else if im.Status == statusDeprecated {
		// Deprecated by hand in the console: since when is not recorded.
		out.Deprecated = out.Created
	}
	return out
}
