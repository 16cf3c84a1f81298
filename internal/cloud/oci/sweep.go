package oci

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"

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
	var out []cloud.Resource
	keep := func(r cloud.Resource, tags map[string]string) {
		if tags[cloud.TagTemporary] != cloud.Temporary || tags[cloud.TagDeployment] != "" {
			return
		}
		if f.RunID != "" && r.RunID != f.RunID {
			return
		}
		if !f.Before.IsZero() && !r.Created.Before(f.Before) {
			return
		}
		out = append(out, r)
	}
	instances, err := cl.listInstances(ctx)
	if err != nil {
		return nil, err
	}
	for _, ins := range instances {
		keep(cloud.Resource{
			Kind: cloud.KindInstance, ID: str(ins.Id), Name: str(ins.DisplayName), Region: cl.region,
			RunID: ins.FreeformTags[cloud.TagRunID], Created: sdkTime(ins.TimeCreated),
		}, ins.FreeformTags)
	}
	bvReq := core.ListBootVolumesRequest{CompartmentId: common.String(cl.cfg.CompartmentOCID)}
	for {
		resp, err := cl.storage.ListBootVolumes(ctx, bvReq)
		if err != nil {
			return nil, wrap("ListBootVolumes", err)
		}
		for _, v := range resp.Items {
			if v.LifecycleState == core.BootVolumeLifecycleStateTerminated || v.LifecycleState == core.BootVolumeLifecycleStateTerminating {
				continue
			}
			keep(cloud.Resource{
				Kind: cloud.KindDisk, ID: str(v.Id), Name: str(v.DisplayName), Region: cl.region,
				RunID: v.FreeformTags[cloud.TagRunID], Created: sdkTime(v.TimeCreated),
			}, v.FreeformTags)
		}
		if !more(resp.OpcNextPage) {
			break
		}
		bvReq.Page = resp.OpcNextPage
	}
	volReq := core.ListVolumesRequest{CompartmentId: common.String(cl.cfg.CompartmentOCID)}
	for {
		resp, err := cl.storage.ListVolumes(ctx, volReq)
		if err != nil {
			return nil, wrap("ListVolumes", err)
		}
		for _, v := range resp.Items {
			if v.LifecycleState == core.VolumeLifecycleStateTerminated || v.LifecycleState == core.VolumeLifecycleStateTerminating {
				continue
			}
			keep(cloud.Resource{
				Kind: cloud.KindDisk, ID: str(v.Id), Name: str(v.DisplayName), Region: cl.region,
				RunID: v.FreeformTags[cloud.TagRunID], Created: sdkTime(v.TimeCreated),
			}, v.FreeformTags)
		}
		if !more(resp.OpcNextPage) {
			break
		}
		volReq.Page = resp.OpcNextPage
	}
	order := []string{cloud.KindInstance, cloud.KindDisk}
	slices.SortStableFunc(out, func(a, b cloud.Resource) int {
		return slices.Index(order, a.Kind) - slices.Index(order, b.Kind)
	})
	return out, nil
}

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
		if strings.HasPrefix(r.ID, "ocid1.bootvolume.") {
			_, err = cl.storage.DeleteBootVolume(ctx, core.DeleteBootVolumeRequest{BootVolumeId: common.String(r.ID)})
			if isNotFound(err) {
				return nil
			}
			return wrap("DeleteBootVolume "+r.ID, err)
		}
		_, err = cl.storage.DeleteVolume(ctx, core.DeleteVolumeRequest{VolumeId: common.String(r.ID)})
		if isNotFound(err) {
			return nil
		}
		return wrap("DeleteVolume "+r.ID, err)
	}
	return fmt.Errorf("oci: no %s resources to delete (%s)", r.Kind, r.ID)
}

// CheckCredentials reads the configured user through the identity API:
// proof that the key signs and the tenancy and user OCIDs are right.
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return "", err
	}
	tenancy, err := cl.provider.TenancyOCID()
	if err != nil {
		return "", fmt.Errorf("oci credentials: %w", err)
	}
	user, err := cl.provider.UserOCID()
	if err != nil {
		return "", fmt.Errorf("oci credentials: %w", err)
	}
	resp, err := cl.identity.GetUser(ctx, identity.GetUserRequest{UserId: common.String(user)})
	if err != nil {
		return "", wrap("GetUser "+user, err)
	}
	desc := fmt.Sprintf("tenancy %s user %s", tenancy, user)
	if n := str(resp.Name); n != "" {
		desc += " (" + n + ")"
	}
	return desc + " in " + cl.region, nil
}
