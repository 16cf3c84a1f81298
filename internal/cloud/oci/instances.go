package oci

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// cleanupTimeout bounds the teardown of a launch that failed half way; it
// runs on a context of its own so a cancelled launch is still cleaned up.
const cleanupTimeout = 10 * time.Minute

// Launch boots an instance from req.ImageID in the configured
// availability domain and subnet with a public IP, waits until it runs
// and has its address, and tags it, its VNIC and its boot volume with our
// tags. SSH reaches it through the subnet's security list, which is the
// user's: OCI needs no per-instance firewall, so none is created and
// req.AllowSSHFrom is not applied here (the user's security list decides).
func (c Cloud) Launch(ctx context.Context, req cloud.LaunchRequest) (*cloud.Instance, error) {
	cl, err := c.connect(req.Config)
	if err != nil {
		return nil, err
	}
	o := cl.cfg
	tags := launchTags(o, req)
	name := req.Name
	if name == "" {
		name = "sindri-test-" + req.RunID
	}
	details := core.LaunchInstanceDetails{
		AvailabilityDomain: common.String(o.AvailabilityDomain),
		CompartmentId:      common.String(o.CompartmentOCID),
		DisplayName:        common.String(name),
		Shape:              common.String(o.Shape),
		SourceDetails: core.InstanceSourceViaImageDetails{
			ImageId:             common.String(req.ImageID),
			BootVolumeSizeInGBs: common.Int64(int64(o.BootVolumeSizeGB)),
		},
		CreateVnicDetails: &core.CreateVnicDetails{
			SubnetId:       common.String(o.SubnetOCID),
			AssignPublicIp: common.Bool(true),
			DisplayName:    common.String(name),
			FreeformTags:   tags,
		},
		// OCI images run cloud-init, which reads both keys.
		Metadata: map[string]string{
			"ssh_authorized_keys": req.PublicKey,
			"user_data":           base64.StdEncoding.EncodeToString([]byte(cloud.UserData(req))),
		},
		FreeformTags: tags,
	}
	if strings.HasSuffix(o.Shape, ".Flex") {
		details.ShapeConfig = &core.LaunchInstanceShapeConfigDetails{
			Ocpus:       common.Float32(float32(o.ShapeConfig.OCPUs)),
			MemoryInGBs: common.Float32(float32(o.ShapeConfig.MemoryInGBs)),
		}
	}
	// The SDK sends an opc-retry-token, so its retries never launch twice.
	resp, err := cl.compute.LaunchInstance(sdk(ctx), core.LaunchInstanceRequest{LaunchInstanceDetails: details})
	if err != nil {
		return nil, wrap("LaunchInstance", err)
	}
	id := str(resp.Id)
	inst, err := c.finishLaunch(ctx, cl, id, tags)
	if err != nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if terr := c.terminate(tctx, cl, id); terr != nil {
			err = errors.Join(err, fmt.Errorf("clean up instance %s: %w", id, terr))
		}
		return nil, err
	}
	inst.User = req.User
	inst.Handle = req.Config
	return inst, nil
}

// launchTags are the config's tags plus ours (ours win).
func launchTags(o *config.OCI, req cloud.LaunchRequest) map[string]string {
	tags := tagsOf(o.Tags)
	for k, v := range cloud.InstanceTags(req) {
		tags[k] = v
	}
	return tags
}

// finishLaunch waits for RUNNING, tags the boot volume (OCI does not
// copy the instance's tags to it) and finds the public address. A run that
// dies before the boot volume is tagged leaves nothing behind that the
// sweep misses: the volume goes with the tagged instance.
func (c Cloud) finishLaunch(ctx context.Context, cl *clients, id string, tags map[string]string) (*cloud.Instance, error) {
	ins, err := c.waitInstance(ctx, cl, id, core.InstanceLifecycleStateRunning)
	if err != nil {
		return nil, err
	}
	if err := cl.tagBootVolumes(ctx, id, tags); err != nil {
		return nil, err
	}
	var host string
	err = c.tuning().Poll(ctx, "oci: the public IP of "+id, func(ctx context.Context) (bool, error) {
		var err error
		host, err = cl.publicIP(ctx, id)
		return host != "", err
	})
	if err != nil {
		return nil, err
	}
	inst := cl.instance(ins)
	inst.Host = host
	return &inst, nil
}

func (cl *clients) tagBootVolumes(ctx context.Context, id string, tags map[string]string) error {
	atts, err := pages(func(page *string) ([]core.BootVolumeAttachment, *string, error) {
		resp, err := cl.compute.ListBootVolumeAttachments(sdk(ctx), core.ListBootVolumeAttachmentsRequest{
			AvailabilityDomain: common.String(cl.cfg.AvailabilityDomain),
			CompartmentId:      common.String(cl.cfg.CompartmentOCID),
			InstanceId:         common.String(id),
			Page:               page,
		})
		return resp.Items, resp.OpcNextPage, wrap("ListBootVolumeAttachments", err)
	})
	if err != nil {
		return err
	}
	for _, a := range atts {
		_, err := cl.storage.UpdateBootVolume(sdk(ctx), core.UpdateBootVolumeRequest{
			BootVolumeId:            a.BootVolumeId,
			UpdateBootVolumeDetails: core.UpdateBootVolumeDetails{FreeformTags: tags},
		})
		if err != nil {
			return wrap("UpdateBootVolume "+str(a.BootVolumeId), err)
		}
	}
	return nil
}

// publicIP is the public address of the instance's primary VNIC; "" while
// it is not attached yet.
func (cl *clients) publicIP(ctx context.Context, id string) (string, error) {
	atts, err := pages(func(page *string) ([]core.VnicAttachment, *string, error) {
		resp, err := cl.compute.ListVnicAttachments(sdk(ctx), core.ListVnicAttachmentsRequest{
			CompartmentId: common.String(cl.cfg.CompartmentOCID),
			InstanceId:    common.String(id),
			Page:          page,
		})
		return resp.Items, resp.OpcNextPage, wrap("ListVnicAttachments", err)
	})
	if err != nil {
		return "", err
	}
	for _, a := range atts {
		if a.LifecycleState != core.VnicAttachmentLifecycleStateAttached || a.VnicId == nil {
			continue
		}
		v, err := cl.network.GetVnic(sdk(ctx), core.GetVnicRequest{VnicId: a.VnicId})
		if err != nil {
			return "", wrap("GetVnic "+str(a.VnicId), err)
		}
		if ip := str(v.PublicIp); ip != "" {
			return ip, nil
		}
	}
	return "", nil
}

// waitInstance polls until the instance reaches want; an instance that
// ends up terminated instead (out of capacity, a bad image) is an error.
func (c Cloud) waitInstance(ctx context.Context, cl *clients, id string, want core.InstanceLifecycleStateEnum) (core.Instance, error) {
	var ins core.Instance
	err := c.tuning().Poll(ctx, fmt.Sprintf("oci: instance %s to be %s", id, want), func(ctx context.Context) (bool, error) {
		resp, err := cl.compute.GetInstance(sdk(ctx), core.GetInstanceRequest{InstanceId: common.String(id)})
		if err != nil {
			return false, wrap("GetInstance "+id, err)
		}
		ins = resp.Instance
		switch s := ins.LifecycleState; {
		case s == want:
			return true, nil
		case want != core.InstanceLifecycleStateTerminated && (s == core.InstanceLifecycleStateTerminated || s == core.InstanceLifecycleStateTerminating):
			return false, fmt.Errorf("oci instance %s is %s, not %s", id, s, want)
		}
		return false, nil
	})
	return ins, err
}

// Terminate destroys a launched instance (its handle is the config).
func (c Cloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	cfg, ok := inst.Handle.(*config.Config)
	if !ok || cfg == nil {
		return fmt.Errorf("oci: instance %s has no configuration handle", inst.ID)
	}
	return c.TerminateInstance(ctx, cfg, inst.ID)
}

// TerminateInstance destroys one of our instances with its boot volume
// (preserveBootVolume=false) and waits until it is terminated; its VNIC
// and ephemeral public IP go with it. One that is gone succeeds.
func (c Cloud) TerminateInstance(ctx context.Context, cfg *config.Config, id string) error {
	cl, err := c.connect(cfg)
	if err != nil {
		return err
	}
	return c.terminate(ctx, cl, id)
}

func (c Cloud) terminate(ctx context.Context, cl *clients, id string) error {
	resp, err := cl.compute.GetInstance(sdk(ctx), core.GetInstanceRequest{InstanceId: common.String(id)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap("GetInstance "+id, err)
	}
	if resp.FreeformTags[cloud.TagManagedBy] != cloud.ManagedBy {
		return fmt.Errorf("oci instance %s is not managed by %s (no %s tag): not terminated", id, cloud.ManagedBy, cloud.TagManagedBy)
	}
	if resp.LifecycleState == core.InstanceLifecycleStateTerminated {
		return nil
	}
	_, err = cl.compute.TerminateInstance(sdk(ctx), core.TerminateInstanceRequest{
		InstanceId:         common.String(id),
		PreserveBootVolume: common.Bool(false),
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return wrap("TerminateInstance "+id, err)
	}
	return c.tuning().Poll(ctx, "oci: instance "+id+" to terminate", func(ctx context.Context) (bool, error) {
		resp, err := cl.compute.GetInstance(sdk(ctx), core.GetInstanceRequest{InstanceId: common.String(id)})
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, wrap("GetInstance "+id, err)
		}
		return resp.LifecycleState == core.InstanceLifecycleStateTerminated, nil
	})
}

// ListInstances returns our live instances in the compartment matching f,
// with the public address of the running ones.
func (c Cloud) ListInstances(ctx context.Context, cfg *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	cl, err := c.connect(cfg)
	if err != nil {
		return nil, err
	}
	all, err := cl.listInstances(ctx)
	if err != nil {
		return nil, err
	}
	var out []cloud.Instance
	for _, ins := range all {
		if !cloud.HasTags(ins.FreeformTags, f.Tags()) {
			continue
		}
		inst := cl.instance(ins)
		if ins.LifecycleState == core.InstanceLifecycleStateRunning {
			if inst.Host, err = cl.publicIP(ctx, inst.ID); err != nil {
				return nil, err
			}
			inst.Port = 22
		}
		inst.Handle = cfg
		out = append(out, inst)
	}
	return out, nil
}

// listInstances pages through the compartment's instances that are not
// terminated (OCI lists terminated ones for a while).
func (cl *clients) listInstances(ctx context.Context) ([]core.Instance, error) {
	all, err := pages(func(page *string) ([]core.Instance, *string, error) {
		resp, err := cl.compute.ListInstances(sdk(ctx), core.ListInstancesRequest{CompartmentId: common.String(cl.cfg.CompartmentOCID), Page: page})
		return resp.Items, resp.OpcNextPage, wrap("ListInstances", err)
	})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, ins := range all {
		if !gone(string(ins.LifecycleState)) {
			out = append(out, ins)
		}
	}
	return out, nil
}

func (cl *clients) instance(ins core.Instance) cloud.Instance {
	t := ins.FreeformTags
	region := str(ins.Region)
	if region == "" {
		region = cl.region
	}
	return cloud.Instance{
		ID:         str(ins.Id),
		Port:       22,
		Name:       str(ins.DisplayName),
		State:      strings.ToLower(string(ins.LifecycleState)),
		ImageID:    str(ins.ImageId),
		RunID:      t[cloud.TagRunID],
		Deployment: t[cloud.TagDeployment],
		Temporary:  t[cloud.TagTemporary] == cloud.Temporary,
		Created:    sdkTime(ins.TimeCreated),
		Region:     region,
	}
}

// StopInstance shuts the instance down gracefully (SOFTSTOP: ACPI, then
// forced by OCI after 15 minutes) and waits until it is stopped.
func (c Cloud) StopInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, core.InstanceActionActionSoftstop, core.InstanceLifecycleStateStopped)
}

// StartInstance starts a stopped instance and waits until it runs.
func (c Cloud) StartInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, core.InstanceActionActionStart, core.InstanceLifecycleStateRunning)
}

func (c Cloud) power(ctx context.Context, cfg *config.Config, id string, action core.InstanceActionActionEnum, want core.InstanceLifecycleStateEnum) error {
	cl, err := c.connect(cfg)
	if err != nil {
		return err
	}
	resp, err := cl.compute.GetInstance(sdk(ctx), core.GetInstanceRequest{InstanceId: common.String(id)})
	if err != nil {
		return wrap("GetInstance "+id, err)
	}
	if resp.LifecycleState != want {
		_, err = cl.compute.InstanceAction(sdk(ctx), core.InstanceActionRequest{InstanceId: common.String(id), Action: action})
		if err != nil {
			return wrap(fmt.Sprintf("InstanceAction %s %s", action, id), err)
		}
	}
	_, err = c.waitInstance(ctx, cl, id, want)
	return err
}
