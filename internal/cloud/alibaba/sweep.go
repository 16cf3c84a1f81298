package alibaba

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Largest pages of the listing calls (security groups and key pairs take
// at most 50).
const (
	diskPageSize  = 100
	groupPageSize = 50
	keyPageSize   = 50
)

// Leftovers returns the instances, disks, key pairs and security groups
// tagged sindri-packer=temporary in the configured region, selected by f.
// Images are never listed, nor anything carrying a deployment tag, nor a
// disk that ECS deletes with its instance (the system disk, which carries
// the instance's tags): the instance is the leftover. (ECS
// VPCs cannot be found by tag through the ECS API; Packer removes the
// temporary VPC it makes itself.)
func (c Cloud) Leftovers(ctx context.Context, cfg *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	want := map[string]string{cloud.TagTemporary: cloud.Temporary}
	if f.RunID != "" {
		want[cloud.TagRunID] = f.RunID
	}
	var out []cloud.Resource
	add := func(kind, id, name, created string, tags map[string]string) {
		r := cloud.Resource{Kind: kind, ID: id, Name: name, Region: a.region, RunID: tags[cloud.TagRunID], Created: parseTime(created)}
		if !cloud.HasTags(tags, want) || tags[cloud.TagDeployment] != "" {
			return
		}
		if !f.OldEnough(r.Created) {
			return
		}
		out = append(out, r)
	}
	ins, err := a.describeInstances(ctx, want, nil)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		add(cloud.KindInstance, in.InstanceId, in.InstanceName, in.CreationTime, tagMap(in.Tags.Tag))
	}
	disks, err := a.describeDisks(ctx, want)
	if err != nil {
		return nil, err
	}
	for _, d := range disks {
		if d.InstanceId != "" && d.DeleteWithInstance {
			continue // goes with its instance (and cannot be deleted while attached)
		}
		add(cloud.KindDisk, d.DiskId, d.DiskName, d.CreationTime, tagMap(d.Tags.Tag))
	}
	keys, err := a.describeKeyPairs(ctx, want)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		add(cloud.KindKeyPair, k.KeyPairName, k.KeyPairName, k.CreationTime, tagMap(k.Tags.Tag))
	}
	groups, err := a.describeSecurityGroups(ctx, want, nil)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		add(cloud.KindSecurityGroup, g.SecurityGroupId, g.SecurityGroupName, g.CreationTime, tagMap(g.Tags.Tag))
	}
	slices.SortStableFunc(out, func(x, y cloud.Resource) int {
		return cmp.Or(cloud.CompareKinds(x.Kind, y.Kind), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// DeleteResource deletes one leftover; one that is gone already is
// success. An instance is deleted only while it carries the temporary tag,
// and the call returns once ECS no longer lists it.
func (c Cloud) DeleteResource(ctx context.Context, cfg *config.Config, r cloud.Resource) error {
	region := r.Region
	if region == "" {
		if cfg == nil || cfg.Packer.Clouds.Alibaba == nil {
			return fmt.Errorf("alibaba: %s %s: unknown region", r.Kind, r.ID)
		}
		region = cfg.Packer.Clouds.Alibaba.Region
	}
	a, err := c.clientFor(ctx, region)
	if err != nil {
		return err
	}
	switch r.Kind {
	case cloud.KindInstance:
		in, err := a.describeInstance(ctx, r.ID)
		if err != nil || in == nil {
			return err
		}
		if tagMap(in.Tags.Tag)[cloud.TagTemporary] != cloud.Temporary {
			return fmt.Errorf("alibaba: instance %s is not tagged %s=%s: not deleting it", r.ID, cloud.TagTemporary, cloud.Temporary)
		}
		return c.deleteInstance(ctx, a, r.ID)
	case cloud.KindDisk:
		req := ecs.CreateDeleteDiskRequest()
		req.DiskId = r.ID
		if err := a.call(ctx, req, ecs.CreateDeleteDiskResponse()); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	case cloud.KindKeyPair:
		// DeleteKeyPairs skips names that do not exist.
		req := ecs.CreateDeleteKeyPairsRequest()
		req.KeyPairNames = jsonList([]string{r.ID})
		return a.call(ctx, req, ecs.CreateDeleteKeyPairsResponse())
	case cloud.KindSecurityGroup:
		return a.deleteSecurityGroup(ctx, r.ID)
	}
	return fmt.Errorf("alibaba: cannot delete a %q: not a kind of leftover on this cloud", r.Kind)
}

func (a *api) describeDisks(ctx context.Context, tags map[string]string) ([]ecs.Disk, error) {
	return listAll(diskPageSize, func(page, size requests.Integer) ([]ecs.Disk, int, error) {
		req := ecs.CreateDescribeDisksRequest()
		req.PageNumber, req.PageSize = page, size
		req.Tag = tagList(tags, func(k, v string) ecs.DescribeDisksTag { return ecs.DescribeDisksTag{Key: k, Value: v} })
		resp := ecs.CreateDescribeDisksResponse()
		err := a.call(ctx, req, resp)
		return resp.Disks.Disk, resp.TotalCount, err
	})
}

func (a *api) describeKeyPairs(ctx context.Context, tags map[string]string) ([]ecs.KeyPair, error) {
	return listAll(keyPageSize, func(page, size requests.Integer) ([]ecs.KeyPair, int, error) {
		req := ecs.CreateDescribeKeyPairsRequest()
		req.PageNumber, req.PageSize = page, size
		req.Tag = tagList(tags, func(k, v string) ecs.DescribeKeyPairsTag { return ecs.DescribeKeyPairsTag{Key: k, Value: v} })
		resp := ecs.CreateDescribeKeyPairsResponse()
		err := a.call(ctx, req, resp)
		return resp.KeyPairs.KeyPair, resp.TotalCount, err
	})
}

func (a *api) describeSecurityGroups(ctx context.Context, tags map[string]string, ids []string) ([]ecs.SecurityGroup, error) {
	return listAll(groupPageSize, func(page, size requests.Integer) ([]ecs.SecurityGroup, int, error) {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.PageNumber, req.PageSize = page, size
		if len(ids) > 0 {
			req.SecurityGroupIds = jsonList(ids)
		}
		req.Tag = tagList(tags, func(k, v string) ecs.DescribeSecurityGroupsTag {
			return ecs.DescribeSecurityGroupsTag{Key: k, Value: v}
		})
		resp := ecs.CreateDescribeSecurityGroupsResponse()
		err := a.call(ctx, req, resp)
		return resp.SecurityGroups.SecurityGroup, resp.TotalCount, err
	})
}
