package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Leftovers returns what runs left behind in the config's region, found
// by sindri-packer=temporary: instances (not terminated), AMIs, available
// volumes, key pairs (Packer's temporary ones carry run_tags) and security
// groups. Deployed instances never carry that tag; of the AMIs that do,
// only amazon-ebs's unencrypted intermediates under encrypt_boot (see
// temporaryImage: the build's own AMI carries run_tags too when
// encrypt_boot is false) are leftovers, which a build killed while copying
// leaves available, with their snapshots.
//
// A security group has no creation time in EC2: the groups Launch makes
// carry TagCreated, and Packer names its temporary groups
// packer_<time-ordered UUID> whose first 8 hex digits are the Unix time.
// With f.Before set, a group dated neither way is left out rather than
// risk deleting one a running build just made.
func (c Cloud) Leftovers(ctx context.Context, cfg *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	filters := []types.Filter{tagFilter(cloud.TagTemporary, cloud.Temporary)}
	if f.RunID != "" {
		filters = append(filters, tagFilter(cloud.TagRunID, f.RunID))
	}
	with := func(extra ...types.Filter) []types.Filter { return append(slices.Clone(filters), extra...) }
	var out []cloud.Resource
	add := func(kind, id, name string, tags []types.Tag, created time.Time) {
		if !f.OldEnough(created) {
			return
		}
		out = append(out, cloud.Resource{Kind: kind, ID: id, Name: name, Region: a.Region, RunID: tagValue(tags, cloud.TagRunID), Created: created})
	}

	insts, err := describeInstances(ctx, cl, with(filter("instance-state-name", "pending", "running", "stopping", "stopped")))
	if err != nil {
		return nil, fmt.Errorf("aws: leftover instances in %s: %w", cl.region, err)
	}
	for _, in := range insts {
		add(cloud.KindInstance, awssdk.ToString(in.InstanceId), tagValue(in.Tags, "Name"), in.Tags, awssdk.ToTime(in.LaunchTime))
	}

	amis, err := describeImages(ctx, cl, &ec2.DescribeImagesInput{Owners: []string{"self"}, IncludeDeprecated: awssdk.Bool(true), Filters: with()})
	if err != nil {
		return nil, fmt.Errorf("aws: leftover images in %s: %w", cl.region, err)
	}
	for _, im := range amis {
		if !temporaryImage(im) {
			continue // the build's own AMI under encrypt_boot false: see temporaryImage
		}
		add(cloud.KindImage, awssdk.ToString(im.ImageId), awssdk.ToString(im.Name), im.Tags, parseTime(awssdk.ToString(im.CreationDate)))
	}

	vp := ec2.NewDescribeVolumesPaginator(cl.ec2, &ec2.DescribeVolumesInput{Filters: with(filter("status", "available"))})
	vols, err := allPages(ctx, vp, func(o *ec2.DescribeVolumesOutput) []types.Volume { return o.Volumes })
	if err != nil {
		return nil, fmt.Errorf("aws: leftover volumes in %s: %w", cl.region, err)
	}
	for _, v := range vols {
		add(cloud.KindDisk, awssdk.ToString(v.VolumeId), tagValue(v.Tags, "Name"), v.Tags, awssdk.ToTime(v.CreateTime))
	}

	keys, err := cl.ec2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: with()})
	if err != nil {
		return nil, fmt.Errorf("aws: leftover key pairs in %s: %w", cl.region, err)
	}
	for _, k := range keys.KeyPairs {
		add(cloud.KindKeyPair, awssdk.ToString(k.KeyPairId), awssdk.ToString(k.KeyName), k.Tags, awssdk.ToTime(k.CreateTime))
	}

	gp := ec2.NewDescribeSecurityGroupsPaginator(cl.ec2, &ec2.DescribeSecurityGroupsInput{Filters: with()})
	groups, err := allPages(ctx, gp, func(o *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		return nil, fmt.Errorf("aws: leftover security groups in %s: %w", cl.region, err)
	}
	for _, g := range groups {
		add(cloud.KindSecurityGroup, awssdk.ToString(g.GroupId), awssdk.ToString(g.GroupName), g.Tags, groupCreated(g))
	}

	slices.SortFunc(out, func(x, y cloud.Resource) int {
		return cmp.Or(cloud.CompareKinds(x.Kind, y.Kind), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// groupCreated dates a security group by TagCreated or by Packer's name.
func groupCreated(g types.SecurityGroup) time.Time {
	if t, err := time.Parse(time.RFC3339, tagValue(g.Tags, TagCreated)); err == nil {
		return t
	}
	name := awssdk.ToString(g.GroupName)
	if rest, ok := strings.CutPrefix(name, "packer_"); ok && len(rest) > 9 && rest[8] == '-' {
		if sec, err := strconv.ParseUint(rest[:8], 16, 32); err == nil {
			return time.Unix(int64(sec), 0).UTC()
		}
	}
	return time.Time{}
}

// DeleteResource deletes one leftover; one that is gone already succeeds.
// An instance is terminated (and waited for) only while it still carries
// the temporary tag, an AMI deregistered with its snapshots only while it
// is the plugin's intermediate (temporaryImage), so a deployment or a
// build's image is never swept.
func (c Cloud) DeleteResource(ctx context.Context, cfg *config.Config, r cloud.Resource) error {
	a, err := awsBlock(cfg)
	if err != nil {
		return err
	}
	region := a.Region
	if r.Region != "" {
		region = r.Region
	}
	cl, err := c.connect(ctx, region)
	if err != nil {
		return err
	}
	switch r.Kind {
	case cloud.KindInstance:
		in, err := describeInstance(ctx, cl, r.ID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("aws: describe instance %s in %s: %w", r.ID, region, err)
		}
		if tagValue(in.Tags, cloud.TagTemporary) != cloud.Temporary {
			return fmt.Errorf("aws: instance %s in %s has no %s=%s tag: not a leftover, left alone", r.ID, region, cloud.TagTemporary, cloud.Temporary)
		}
		if instState(in) == types.InstanceStateNameTerminated {
			return nil
		}
		return c.terminate(ctx, cl, r.ID, nil)
	case cloud.KindImage:
		return c.deleteTemporaryImage(ctx, cl, r.ID)
	case cloud.KindDisk:
		_, err = cl.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(r.ID)})
	case cloud.KindKeyPair:
		_, err = cl.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: awssdk.String(r.ID)})
	case cloud.KindSecurityGroup:
		return c.deleteGroup(ctx, cl, r.ID)
	default:
		return fmt.Errorf("aws: cannot delete a %q: not a kind this target sweeps", r.Kind)
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("aws: delete %s %s in %s: %w", r.Kind, r.ID, region, err)
	}
	return nil
}

// deleteTemporaryImage deregisters a leftover intermediate AMI and deletes
// its snapshots, refusing any other AMI.
func (c Cloud) deleteTemporaryImage(ctx context.Context, cl *clients, id string) error {
	im, err := getImage(ctx, cl, id)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !temporaryImage(*im) {
		return fmt.Errorf("aws: image %s in %s is not the plugin's intermediate AMI (tagged %s=%s, named as the plugin names it): not a leftover, left alone", id, cl.region, cloud.TagTemporary, cloud.Temporary)
	}
	return c.deleteOne(ctx, regionImage{cl: cl, image: *im})
}
