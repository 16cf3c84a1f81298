package oci

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// What a run leaves behind on OCI: instances and disks (boot volumes and
// block volumes). VNICs and ephemeral public IPs go with their instance,
// and no key pairs, security groups or networks are made, so those kinds
// do not exist here.

// Leftovers returns the instances and volumes tagged sindri-packer=
// temporary in the compartment that match f, instances first. Images and
// deployed instances never carry that tag.
func (c Cloud) Leftovers(ctx context.Context, cfg *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return nil, err
	}
	all, err := cl.temporaries(ctx)
	if err != nil {
		return nil, err
	}
	var out []cloud.Resource
	for _, r := range all {
		if f.RunID != "" && r.RunID != f.RunID {
			continue
		}
		if !f.OldEnough(r.Created) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// temporaries lists the compartment's live instances, boot volumes and
// block volumes tagged temporary and not of a deployment, instances first.
func (cl *clients) temporaries(ctx context.Context) ([]cloud.Resource, error) {
	var out []cloud.Resource
	keep := func(kind string, id, name *string, tags map[string]string, created *common.SDKTime) {
		if tags[cloud.TagTemporary] != cloud.Temporary || tags[cloud.TagDeployment] != "" {
			return
		}
		out = append(out, cloud.Resource{
			Kind: kind, ID: str(id), Name: str(name), Region: cl.region,
			RunID: tags[cloud.TagRunID], Created: sdkTime(created),
		})
	}
	instances, err := cl.listInstances(ctx)
	if err != nil {
		return nil, err
	}
	for _, ins := range instances {
		keep(cloud.KindInstance, ins.Id, ins.DisplayName, ins.FreeformTags, ins.TimeCreated)
	}
	compartment := common.String(cl.cfg.CompartmentOCID)
	boot, err := pages(func(page *string) ([]core.BootVolume, *string, error) {
		resp, err := cl.storage.ListBootVolumes(sdk(ctx), core.ListBootVolumesRequest{CompartmentId: compartment, Page: page})
		return resp.Items, resp.OpcNextPage, wrap("ListBootVolumes", err)
	})
	if err != nil {
		return nil, err
	}
	for _, v := range boot {
		if !gone(string(v.LifecycleState)) {
			keep(cloud.KindDisk, v.Id, v.DisplayName, v.FreeformTags, v.TimeCreated)
		}
	}
	block, err := pages(func(page *string) ([]core.Volume, *string, error) {
		resp, err := cl.storage.ListVolumes(sdk(ctx), core.ListVolumesRequest{CompartmentId: compartment, Page: page})
		return resp.Items, resp.OpcNextPage, wrap("ListVolumes", err)
	})
	if err != nil {
		return nil, err
	}
	for _, v := range block {
		if !gone(string(v.LifecycleState)) {
			keep(cloud.KindDisk, v.Id, v.DisplayName, v.FreeformTags, v.TimeCreated)
		}
	}
	slices.SortStableFunc(out, func(a, b cloud.Resource) int { return cloud.CompareKinds(a.Kind, b.Kind) })
	return out, nil
}

// gone reports a lifecycle state of a resource that is being or has been
// deleted (instances and volumes say it alike).
func gone(state string) bool { return state == "TERMINATED" || state == "TERMINATING" }

// DeleteResource deletes one leftover: an instance is terminated (and
// waited for), a disk deleted by its OCID's kind (boot volume or block
// volume). One that is gone already succeeds.
func (c Cloud) DeleteResource(ctx context.Context, cfg *config.Config, r cloud.Resource) error {
	cl, err := c.connect(cfg)
	if err != nil {
		return err
	}
	switch r.Kind {
	case cloud.KindInstance:
		return c.terminate(ctx, cl, r.ID)
	case cloud.KindDisk:
		op := "DeleteVolume "
		if strings.HasPrefix(r.ID, "ocid1.bootvolume.") {
			op = "DeleteBootVolume "
			_, err = cl.storage.DeleteBootVolume(sdk(ctx), core.DeleteBootVolumeRequest{BootVolumeId: common.String(r.ID)})
		} else {
			_, err = cl.storage.DeleteVolume(sdk(ctx), core.DeleteVolumeRequest{VolumeId: common.String(r.ID)})
		}
		if isNotFound(err) {
			return nil
		}
		return wrap(op+r.ID, err)
	}
	return fmt.Errorf("oci: no %s resources to delete (%s)", r.Kind, r.ID)
}
