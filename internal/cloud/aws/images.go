package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// FindImage is the build cache: the newest available, not deprecated AMI
// of this account in the build region carrying our managed-by tag and the
// config hash, with its copies in ami_regions. nil, nil when none.
func (c Cloud) FindImage(ctx context.Context, cfg *config.Config, hash string) (*cloud.Image, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	imgs, err := describeImages(ctx, cl, &ec2.DescribeImagesInput{
		Owners: []string{"self"},
		Filters: []types.Filter{
			tagFilter(cloud.TagManagedBy, cloud.ManagedBy),
			tagFilter(cloud.TagConfigHash, hash),
			filter("state", string(types.ImageStateAvailable)),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("aws: find image of config hash %s in %s: %w", hash, a.Region, err)
	}
	imgs = slices.DeleteFunc(imgs, temporaryImage)
	now := time.Now()
	imgs = slices.DeleteFunc(imgs, func(im types.Image) bool {
		// The owner sees its deprecated AMIs whatever IncludeDeprecated
		// says; a retired image is no cache hit.
		return cloud.Retired(parseTime(awssdk.ToString(im.DeprecationTime)), now)
	})
	if len(imgs) == 0 {
		return nil, nil
	}
	sortNewest(imgs)
	img := toImage(imgs[0], a.Region)
	if err := c.addCopies(ctx, a, imgs[0], img); err != nil {
		return nil, err
	}
	return img, nil
}

// ListImages returns this tool's AMIs in the build region, newest first,
// deprecated ones included.
func (c Cloud) ListImages(ctx context.Context, cfg *config.Config) ([]cloud.Image, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	imgs, err := describeImages(ctx, cl, &ec2.DescribeImagesInput{
		Owners:            []string{"self"},
		IncludeDeprecated: awssdk.Bool(true),
		Filters:           []types.Filter{tagFilter(cloud.TagManagedBy, cloud.ManagedBy)},
	})
	if err != nil {
		return nil, fmt.Errorf("aws: list images in %s: %w", a.Region, err)
	}
	imgs = slices.DeleteFunc(imgs, temporaryImage)
	sortNewest(imgs)
	out := make([]cloud.Image, 0, len(imgs))
	for _, im := range imgs {
		out = append(out, *toImage(im, a.Region))
	}
	return out, nil
}

// GetImage returns one AMI of this account in the build region, with its
// copies in ami_regions; a wrapped cloud.ErrNotFound when it does not exist.
func (c Cloud) GetImage(ctx context.Context, cfg *config.Config, id string) (*cloud.Image, error) {
	a, _, raw, err := c.openImage(ctx, cfg, id)
	if err != nil {
		return nil, err
	}
	img := toImage(*raw, a.Region)
	if err := c.addCopies(ctx, a, *raw, img); err != nil {
		return nil, err
	}
	return img, nil
}

// DeleteImage deregisters the AMI and its copies in ami_regions and
// deletes their EBS snapshots. An AMI that is gone already succeeds; one
// without our managed-by tag is refused.
func (c Cloud) DeleteImage(ctx context.Context, cfg *config.Config, id string) error {
	set, err := c.imageSet(ctx, cfg, id)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, m := range set {
		if err := c.deleteOne(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (c Cloud) deleteOne(ctx context.Context, m regionImage) error {
	id := awssdk.ToString(m.image.ImageId)
	_, err := m.cl.ec2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: m.image.ImageId})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("aws: deregister image %s in %s: %w", id, m.cl.region, err)
	}
	for _, bd := range m.image.BlockDeviceMappings {
		if bd.Ebs == nil || bd.Ebs.SnapshotId == nil {
			continue
		}
		snap := bd.Ebs.SnapshotId
		err := c.retryCode(ctx, []string{"InvalidSnapshot.InUse"}, func(ctx context.Context) error {
			_, err := m.cl.ec2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: snap})
			return err
		})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("aws: delete snapshot %s of image %s in %s: %w", *snap, id, m.cl.region, err)
		}
	}
	return nil
}

// DeprecateImage sets the AMI's (and its copies') native deprecation time.
// EC2 refuses a time in the past, so "now" becomes the next full minute
// at least a minute ahead; DescribeImages reports it as DeprecationTime.
func (c Cloud) DeprecateImage(ctx context.Context, cfg *config.Config, id string, d cloud.Deprecation) error {
	set, err := c.imageSet(ctx, cfg, id)
	if err != nil {
		return err
	}
	at := deprecateAt(d.At, time.Now())
	for _, m := range set {
		_, err := m.cl.ec2.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{
			ImageId: m.image.ImageId, DeprecateAt: awssdk.Time(at),
		})
		if err != nil {
			return fmt.Errorf("aws: deprecate image %s in %s: %w", awssdk.ToString(m.image.ImageId), m.cl.region, err)
		}
	}
	return nil
}

// deprecateAt is the time EC2 accepts for want: not before now+1m,
// rounded up to the minute.
func deprecateAt(want, now time.Time) time.Time {
	earliest := now.Add(time.Minute)
	if want.Before(earliest) {
		want = earliest
	}
	if r := want.Truncate(time.Minute); !r.Equal(want) {
		want = r.Add(time.Minute)
	}
	return want.UTC()
}

// regionImage is one AMI with the clients of its region.
type regionImage struct {
	cl    *clients
	image types.Image
}

// imageSet is the AMI in the build region plus its copies, refusing an
// image this tool did not make.
func (c Cloud) imageSet(ctx context.Context, cfg *config.Config, id string) ([]regionImage, error) {
	a, cl, raw, err := c.openImage(ctx, cfg, id)
	if err != nil {
		return nil, err
	}
	if tagValue(raw.Tags, cloud.TagManagedBy) != cloud.ManagedBy {
		return nil, fmt.Errorf("aws: image %s in %s has no %s=%s tag: not an image of this tool, left alone", id, a.Region, cloud.TagManagedBy, cloud.ManagedBy)
	}
	set := []regionImage{{cl: cl, image: *raw}}
	copies, err := c.copies(ctx, a, *raw)
	if err != nil {
		return nil, err
	}
	return append(set, copies...), nil
}

// copies finds the image's copies in ami_regions: Packer gives them the
// same name and tags.
func (c Cloud) copies(ctx context.Context, a *config.AWS, im types.Image) ([]regionImage, error) {
	var out []regionImage
	for _, r := range a.AMIRegions {
		if r == a.Region {
			continue
		}
		cl, err := c.connect(ctx, r)
		if err != nil {
			return nil, err
		}
		imgs, err := describeImages(ctx, cl, &ec2.DescribeImagesInput{
			Owners:            []string{"self"},
			IncludeDeprecated: awssdk.Bool(true),
			Filters: []types.Filter{
				tagFilter(cloud.TagManagedBy, cloud.ManagedBy),
				tagFilter(cloud.TagConfigHash, tagValue(im.Tags, cloud.TagConfigHash)),
				filter("name", awssdk.ToString(im.Name)),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("aws: find copies of image %s in %s: %w", awssdk.ToString(im.ImageId), r, err)
		}
		sortNewest(imgs)
		if len(imgs) > 0 {
			out = append(out, regionImage{cl: cl, image: imgs[0]})
		}
	}
	return out, nil
}

func (c Cloud) addCopies(ctx context.Context, a *config.AWS, im types.Image, img *cloud.Image) error {
	copies, err := c.copies(ctx, a, im)
	if err != nil {
		return err
	}
	for _, m := range copies {
		img.Regions[m.cl.region] = awssdk.ToString(m.image.ImageId)
	}
	return nil
}

// openImage connects to the build region and describes the AMI id there.
func (c Cloud) openImage(ctx context.Context, cfg *config.Config, id string) (*config.AWS, *clients, *types.Image, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := getImage(ctx, cl, id)
	return a, cl, raw, err
}

// getImage describes one AMI of this account, deprecated or not.
func getImage(ctx context.Context, cl *clients, id string) (*types.Image, error) {
	out, err := cl.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{
		ImageIds: []string{id}, Owners: []string{"self"}, IncludeDeprecated: awssdk.Bool(true),
	})
	if isNotFound(err) || (err == nil && len(out.Images) == 0) {
		return nil, fmt.Errorf("aws: image %s in %s: %w", id, cl.region, cloud.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("aws: describe image %s in %s: %w", id, cl.region, err)
	}
	return &out.Images[0], nil
}

func describeImages(ctx context.Context, cl *clients, in *ec2.DescribeImagesInput) ([]types.Image, error) {
	return allPages(ctx, ec2.NewDescribeImagesPaginator(cl.ec2, in), func(o *ec2.DescribeImagesOutput) []types.Image { return o.Images })
}

// temporaryImage: amazon-ebs's unencrypted intermediate AMI (the one
// encrypt_boot copies, then deregisters) is no image of this tool. The
// plugin tags every AMI it creates with run_tags, config hash included, so
// the tag alone does not tell it apart: with encrypt_boot false the
// build's own AMI carries sindri-packer=temporary too. Its name does: the
// intermediate's is random.AlphaNum(7), ours prefix-YYYYMMDDhhmmss. A
// build killed between the two leaves the intermediate available.
func temporaryImage(im types.Image) bool {
	return tagValue(im.Tags, cloud.TagTemporary) == cloud.Temporary && intermediateName.MatchString(awssdk.ToString(im.Name))
}

// intermediateName is the name amazon-ebs gives its intermediate AMI.
var intermediateName = regexp.MustCompile(`^[A-Za-z0-9]{7}$`)

func toImage(im types.Image, region string) *cloud.Image {
	id := awssdk.ToString(im.ImageId)
	return &cloud.Image{
		ID:            id,
		Regions:       map[string]string{region: id},
		Name:          awssdk.ToString(im.Name),
		ConfigHash:    tagValue(im.Tags, cloud.TagConfigHash),
		Created:       parseTime(awssdk.ToString(im.CreationDate)),
		Region:        region,
		State:         string(im.State),
		SindriVersion: tagValue(im.Tags, cloud.TagSindriVersion),
		Deprecated:    parseTime(awssdk.ToString(im.DeprecationTime)),
	}
}

// sortNewest orders images newest first (ID breaks ties, for stable output).
func sortNewest(imgs []types.Image) {
	slices.SortStableFunc(imgs, func(x, y types.Image) int {
		if c := parseTime(awssdk.ToString(y.CreationDate)).Compare(parseTime(awssdk.ToString(x.CreationDate))); c != 0 {
			return c
		}
		return cmp.Compare(awssdk.ToString(x.ImageId), awssdk.ToString(y.ImageId))
	})
}

// parseTime reads EC2's ISO 8601 times ("2024-01-02T03:04:05.000Z");
// the zero time when absent or unreadable.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
