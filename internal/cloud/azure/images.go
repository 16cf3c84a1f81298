package azure

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Resource types whose IDs the image operations accept.
const (
	typeImage          = "Microsoft.Compute/images"
	typeGalleryVersion = "Microsoft.Compute/galleries/images/versions"
)

// FindImage is the build cache: the newest available managed image (or
// gallery version) tagged managed-by=sindri-packer and config-hash=hash.
func (c Cloud) FindImage(ctx context.Context, cfg *config.Config, hash string) (*cloud.Image, error) {
	imgs, err := c.ListImages(ctx, cfg)
	if err != nil {
		return nil, err
	}
	imgs = slices.DeleteFunc(imgs, func(im cloud.Image) bool { return im.State != "available" })
	return cloud.CacheHit(imgs, hash, time.Now()), nil
}

// ListImages returns our managed images in the resource group and
// location, and our versions of the configured gallery image, newest
// first. A gallery version made from one of the managed images is folded
// into that image's Extra["gallery_image_version_id"].
func (c Cloud) ListImages(ctx context.Context, cfg *config.Config) ([]cloud.Image, error) {
	a, err := c.api(cfg)
	if err != nil {
		return nil, err
	}
	var out []cloud.Image
	byID := map[string]int{}
	ims, err := listAll(ctx, "images in resource group "+a.rg, a.compute.NewImagesClient().NewListByResourceGroupPager(a.rg, nil),
		func(page armcompute.ImagesClientListByResourceGroupResponse) []*armcompute.Image { return page.Value })
	if err != nil {
		return nil, err
	}
	for _, im := range ims {
		if im == nil || tag(im.Tags, cloud.TagManagedBy) != cloud.ManagedBy || !sameLocation(deref(im.Location), a.loc) {
			continue
		}
		byID[strings.ToLower(deref(im.ID))] = len(out)
		out = append(out, managedImage(im))
	}
	versions, err := galleryVersions(ctx, a, cfg)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v == nil || tag(v.Tags, cloud.TagManagedBy) != cloud.ManagedBy {
			continue
		}
		gv := galleryVersion(v)
		if i, ok := byID[strings.ToLower(versionSource(v))]; ok {
			out[i].Extra = map[string]string{"managed_image_id": out[i].ID, "gallery_image_version_id": gv.ID}
			if out[i].Deprecated.IsZero() {
				out[i].Deprecated = gv.Deprecated
			}
			continue
		}
		out = append(out, gv)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// galleryVersions are the versions of the configured gallery image; none
// without a gallery.
func galleryVersions(ctx context.Context, a *api, cfg *config.Config) ([]*armcompute.GalleryImageVersion, error) {
	g := cfg.Packer.Clouds.Azure.Gallery
	if g == nil {
		return nil, nil
	}
	p := a.compute.NewGalleryImageVersionsClient().NewListByGalleryImagePager(galleryRG(cfg), g.GalleryName, g.ImageName, nil)
	return listAll(ctx, fmt.Sprintf("versions of gallery image %s/%s", g.GalleryName, g.ImageName), p,
		func(page armcompute.GalleryImageVersionsClientListByGalleryImageResponse) []*armcompute.GalleryImageVersion {
			return page.Value
		})
}

func galleryRG(cfg *config.Config) string {
	a := cfg.Packer.Clouds.Azure
	if a.Gallery != nil && a.Gallery.ResourceGroup != "" {
		return a.Gallery.ResourceGroup
	}
	return a.ResourceGroup
}

func versionSource(v *armcompute.GalleryImageVersion) string {
	if v.Properties == nil || v.Properties.StorageProfile == nil || v.Properties.StorageProfile.Source == nil {
		return ""
	}
	return deref(v.Properties.StorageProfile.Source.ID)
}

// image is what managed images and gallery versions share: our tags,
// and the ID under extra (managed_image_id or gallery_image_version_id).
func image(id, name, loc *string, tags map[string]*string, extra string) cloud.Image {
	img := cloud.Image{
		ID: deref(id), Name: deref(name), Region: deref(loc),
		ConfigHash: tag(tags, cloud.TagConfigHash), SindriVersion: tag(tags, cloud.TagSindriVersion),
		Extra: map[string]string{extra: deref(id)},
	}
	img.Regions = map[string]string{img.Region: img.ID}
	return img
}

func managedImage(im *armcompute.Image) cloud.Image {
	img := image(im.ID, im.Name, im.Location, im.Tags, "managed_image_id")
	img.Created = builtAt(im.Tags, img.Name)
	if im.Properties != nil {
		img.State = state(deref(im.Properties.ProvisioningState))
	}
	if t, err := time.Parse(time.RFC3339, tag(im.Tags, cloud.TagDeprecated)); err == nil {
		img.Deprecated = t
	}
	return img
}

func galleryVersion(v *armcompute.GalleryImageVersion) cloud.Image {
	img := image(v.ID, v.Name, v.Location, v.Tags, "gallery_image_version_id")
	if p := v.Properties; p != nil {
		img.State = state(string(deref(p.ProvisioningState)))
		if pp := p.PublishingProfile; pp != nil {
			img.Created = deref(pp.PublishedDate)
			if deref(pp.ExcludeFromLatest) || pp.EndOfLifeDate != nil {
				img.Deprecated = deref(pp.EndOfLifeDate)
			}
		}
	}
	if img.Created.IsZero() {
		img.Created = builtAt(v.Tags, "")
	}
	if t, err := time.Parse(time.RFC3339, tag(v.Tags, cloud.TagDeprecated)); err == nil && img.Deprecated.IsZero() {
		img.Deprecated = t
	}
	return img
}

// builtAt is when an image was built. A managed image carries no creation
// time on the wire (the Images spec has no systemData nor timeCreated), so
// the template writes the build time as the CreatedTag tag; images built
// before it had that tag are dated by the build time their name ends with
// (prefix-YYYYMMDDhhmmss, as the template names them). Zero when neither
// is there.
func builtAt(tags map[string]*string, name string) time.Time {
	if t, err := time.Parse(time.RFC3339, tag(tags, CreatedTag)); err == nil {
		return t
	}
	if i := strings.LastIndexByte(name, '-'); i >= 0 && len(name)-i-1 == len(nameTime) {
		if t, err := time.Parse(nameTime, name[i+1:]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// nameTime is the layout of the build time in an image's name, the
// template's formatdate("YYYYMMDDhhmmss", timestamp()) in UTC.
const nameTime = "20060102150405"

// state maps a provisioning state onto the words the other clouds use.
func state(s string) string {
	switch strings.ToLower(s) {
	case "succeeded":
		return "available"
	case "creating", "updating", "migrating":
		return "pending"
	case "":
		return "unknown"
	}
	return strings.ToLower(s)
}

// imageRef is a parsed image ID: a managed image or a gallery version.
type imageRef struct {
	rg, name              string
	gallery, galleryImage string
	isGallery             bool
}

func parseImageID(id string) (imageRef, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return imageRef{}, fmt.Errorf("azure: image id %q: %w", id, err)
	}
	switch {
	case strings.EqualFold(r.ResourceType.String(), typeImage):
		return imageRef{rg: r.ResourceGroupName, name: r.Name}, nil
	case strings.EqualFold(r.ResourceType.String(), typeGalleryVersion) && r.Parent != nil && r.Parent.Parent != nil:
		return imageRef{rg: r.ResourceGroupName, name: r.Name, galleryImage: r.Parent.Name, gallery: r.Parent.Parent.Name, isGallery: true}, nil
	}
	return imageRef{}, fmt.Errorf("azure: %q is neither a managed image nor a gallery image version", id)
}

// imageAPI returns the clients of cfg and the parsed image ID.
func (c Cloud) imageAPI(cfg *config.Config, id string) (*api, imageRef, error) {
	ref, err := parseImageID(id)
	if err != nil {
		return nil, ref, err
	}
	a, err := c.api(cfg)
	return a, ref, err
}

// GetImage returns one managed image or gallery version by its ID.
func (c Cloud) GetImage(ctx context.Context, cfg *config.Config, id string) (*cloud.Image, error) {
	a, ref, err := c.imageAPI(cfg, id)
	if err != nil {
		return nil, err
	}
	if ref.isGallery {
		v, err := a.compute.NewGalleryImageVersionsClient().Get(ctx, ref.rg, ref.gallery, ref.galleryImage, ref.name, nil)
		if err != nil {
			return nil, wrap("azure: get gallery image version "+id, err)
		}
		img := galleryVersion(&v.GalleryImageVersion)
		return &img, nil
	}
	im, err := a.compute.NewImagesClient().Get(ctx, ref.rg, ref.name, nil)
	if err != nil {
		return nil, wrap("azure: get image "+id, err)
	}
	img := managedImage(&im.Image)
	return &img, nil
}

// DeleteImage deletes the managed image or the gallery version the ID
// names, waiting for it; one that is gone already succeeds.
func (c Cloud) DeleteImage(ctx context.Context, cfg *config.Config, id string) error {
	a, ref, err := c.imageAPI(cfg, id)
	if err != nil {
		return err
	}
	if ref.isGallery {
		p, err := a.compute.NewGalleryImageVersionsClient().BeginDelete(ctx, ref.rg, ref.gallery, ref.galleryImage, ref.name, nil)
		_, err = await(ctx, a, p, err)
		return wrap("azure: delete gallery image version "+id, gone(err))
	}
	// ListImages shows a managed image and the gallery version made from
	// it as one image, and Azure refuses to delete a managed image while
	// a version uses it (OperationNotAllowed): the versions go first.
	if err := c.deleteVersionsOf(ctx, a, cfg, id); err != nil {
		return err
	}
	p, err := a.compute.NewImagesClient().BeginDelete(ctx, ref.rg, ref.name, nil)
	_, err = await(ctx, a, p, err)
	return wrap("azure: delete image "+id, gone(err))
}

// deleteVersionsOf deletes the versions of the configured gallery image
// whose source is the managed image id.
func (c Cloud) deleteVersionsOf(ctx context.Context, a *api, cfg *config.Config, id string) error {
	versions, err := galleryVersions(ctx, a, cfg)
	if err != nil {
		return err
	}
	g := cfg.Packer.Clouds.Azure.Gallery
	vc := a.compute.NewGalleryImageVersionsClient()
	for _, v := range versions {
		if v == nil || !strings.EqualFold(versionSource(v), id) {
			continue
		}
		p, err := vc.BeginDelete(ctx, galleryRG(cfg), g.GalleryName, g.ImageName, deref(v.Name), nil)
		if _, err = await(ctx, a, p, err); gone(err) != nil {
			return wrap("azure: delete gallery image version "+deref(v.ID)+" made from "+id, err)
		}
	}
	return nil
}

// DeprecateImage retires a gallery version natively (end-of-life date and
// excluded from "latest"); a managed image, which has no such notion, gets
// the sindri-deprecated tag.
func (c Cloud) DeprecateImage(ctx context.Context, cfg *config.Config, id string, d cloud.Deprecation) error {
	a, ref, err := c.imageAPI(cfg, id)
	if err != nil {
		return err
	}
	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)
	if ref.isGallery {
		upd := armcompute.GalleryImageVersionUpdate{Properties: &armcompute.GalleryImageVersionProperties{
			PublishingProfile: &armcompute.GalleryImageVersionPublishingProfile{EndOfLifeDate: &at, ExcludeFromLatest: ptr(true)},
		}}
		p, err := a.compute.NewGalleryImageVersionsClient().BeginUpdate(ctx, ref.rg, ref.gallery, ref.galleryImage, ref.name, upd, nil)
		_, err = await(ctx, a, p, err)
		return wrap("azure: deprecate gallery image version "+id, err)
	}
	images := a.compute.NewImagesClient()
	im, err := images.Get(ctx, ref.rg, ref.name, nil)
	if err != nil {
		return wrap("azure: deprecate image "+id, err)
	}
	// PATCH replaces the whole tag set: send the old tags plus ours.
	tags := map[string]*string{}
	for k, v := range im.Tags {
		tags[k] = v
	}
	tags[cloud.TagDeprecated] = ptr(at.Format(time.RFC3339))
	p, err := images.BeginUpdate(ctx, ref.rg, ref.name, armcompute.ImageUpdate{Tags: tags}, nil)
	_, err = await(ctx, a, p, err)
	return wrap("azure: deprecate image "+id, err)
}
