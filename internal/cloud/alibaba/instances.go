package alibaba

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Instance states as DescribeInstances spells them.
const (
	stateRunning = "Running"
	stateStopped = "Stopped"
)

const (
	instancePageSize = 100 // DescribeInstances' largest page
	sshPort          = 22
	// bandwidthOut (Mbit/s) > 0 makes RunInstances allocate a public IP,
	// released with the instance; the build uses the same value.
	bandwidthOut = 10
)

// handle is what Terminate needs of an instance Launch made.
type handle struct {
	region        string
	securityGroup string // the temporary SSH security group
}

// Launch boots an instance from req.ImageID in the config's VSwitch, with a
// security group of its own that opens only port 22 and only to
// req.AllowSSHFrom, a public IP and cloud-init user data that authorizes
// req.PublicKey; it waits until the instance runs and has its address.
// Whatever it created is removed again when it fails half way.
func (c Cloud) Launch(ctx context.Context, req cloud.LaunchRequest) (inst *cloud.Instance, err error) {
	cfg := req.Config
	if cfg == nil || cfg.Packer.Clouds.Alibaba == nil {
		return nil, errors.New("alibaba instance: the config has no alibaba block")
	}
	al := cfg.Packer.Clouds.Alibaba
	if al.VSwitchID == "" {
		return nil, fmt.Errorf("alibaba instance: %s is required to launch an instance: set it to a VSwitch (vsw-...) whose VPC may hold a temporary security group",
			cfg.Packer.FieldPath("alibaba", "vswitch_id"))
	}
	if req.ImageID == "" {
		return nil, errors.New("alibaba instance: no image ID")
	}
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	vsw, err := a.vswitch(ctx, al.VSwitchID)
	if err != nil {
		return nil, err
	}
	tags := launchTags(req)
	token := clientToken()
	h := &handle{region: a.region}
	var id string
	defer func() {
		if err == nil {
			return
		}
		// A fresh context: the launch may have failed because ctx ended.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if cerr := c.destroy(cctx, a.region, id, h.securityGroup); cerr != nil {
			err = fmt.Errorf("%w (and removing what the launch created failed: %v)", err, cerr)
		}
	}()

	h.securityGroup, err = a.createSSHGroup(ctx, vsw.VpcId, req, tags, token)
	if err != nil {
		return nil, err
	}
	id, err = a.runInstance(ctx, req, al, vsw.VSwitchId, h.securityGroup, tags, token)
	if err != nil {
		return nil, err
	}
	var got *ecs.Instance
	err = c.tuning().Poll(ctx, "alibaba: instance "+id+" to run with a public address", func(ctx context.Context) (bool, error) {
		in, err := a.describeInstance(ctx, id)
		if err != nil || in == nil { // nil: not listed yet, ECS is eventually consistent
			return false, err
		}
		got = in
		return in.Status == stateRunning && publicIP(*in) != "", nil
	})
	if err != nil {
		return nil, err
	}
	out := a.instance(*got)
	out.User = req.User
	out.Handle = h
	return &out, nil
}

// launchTags are the config's own tags with ours on top.
func launchTags(req cloud.LaunchRequest) map[string]string {
	tags := maps.Clone(req.Config.Packer.Clouds.Alibaba.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cloud.InstanceTags(req))
	return tags
}

// clientToken makes creations idempotent, so a retried RunInstances or
// CreateSecurityGroup never makes a second one.
func clientToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "sindri-" + hex.EncodeToString(b)
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// resourceName is a name ECS accepts: 2-128 characters, a letter first.
func resourceName(prefix, s string) string {
	n := prefix + nameUnsafe.ReplaceAllString(s, "-")
	return strings.TrimRight(n[:min(len(n), 128)], "-")
}

func (a *api) vswitch(ctx context.Context, id string) (*ecs.VSwitch, error) {
	req := ecs.CreateDescribeVSwitchesRequest()
	req.VSwitchId = id
	resp := ecs.CreateDescribeVSwitchesResponse()
	if err := a.call(ctx, req, resp); err != nil {
		return nil, err
	}
	for _, v := range resp.VSwitches.VSwitch {
		if v.VSwitchId == id {
			return &v, nil
		}
	}
	return nil, fmt.Errorf("alibaba: VSwitch %s not found in %s: %w", id, a.region, cloud.ErrNotFound)
}

// createSSHGroup makes the instance's own security group, tagged like the
// instance, with one rule: tcp 22 from the allowed CIDR.
func (a *api) createSSHGroup(ctx context.Context, vpcID string, lr cloud.LaunchRequest, tags map[string]string, token string) (string, error) {
	req := ecs.CreateCreateSecurityGroupRequest()
	req.VpcId = vpcID
	req.SecurityGroupName = resourceName("sindri-ssh-", lr.RunID)
	req.Description = "SSH to one sindri-packer instance of run " + lr.RunID + "; removed with it"
	req.SecurityGroupType = "normal"
	req.ClientToken = token + "-sg"
	req.Tag = tagList(tags, func(k, v string) ecs.CreateSecurityGroupTag { return ecs.CreateSecurityGroupTag{Key: k, Value: v} })
	resp := ecs.CreateCreateSecurityGroupResponse()
	if err := a.call(ctx, req, resp); err != nil {
		return "", err
	}
	cidr := lr.AllowSSHFrom
	if cidr == "" {
		cidr = "0.0.0.0/0"
	}
	auth := ecs.CreateAuthorizeSecurityGroupRequest()
	auth.SecurityGroupId = resp.SecurityGroupId
	auth.IpProtocol = "tcp"
	auth.PortRange = "22/22"
	auth.SourceCidrIp = cidr
	auth.Policy = "accept"
	auth.NicType = "intranet" // the only NIC type of VPC instances
	auth.Description = "sindri-packer SSH"
	auth.ClientToken = token + "-ssh"
	if err := a.call(ctx, auth, ecs.CreateAuthorizeSecurityGroupResponse()); err != nil {
		return resp.SecurityGroupId, err
	}
	return resp.SecurityGroupId, nil
}

func (a *api) runInstance(ctx context.Context, lr cloud.LaunchRequest, al *config.Alibaba, vswitch, sg string, tags map[string]string, token string) (string, error) {
	req := ecs.CreateRunInstancesRequest()
	req.ImageId = lr.ImageID
	req.InstanceType = al.InstanceType
	req.VSwitchId = vswitch
	req.SecurityGroupId = sg
	req.InstanceName = instanceName(lr)
	req.InstanceChargeType = "PostPaid"
	req.InternetChargeType = "PayByTraffic"
	req.InternetMaxBandwidthOut = requests.NewInteger(bandwidthOut)
	req.SystemDiskCategory = al.SystemDiskCategory
	req.SystemDiskSize = strconv.Itoa(al.SystemDiskSizeGB)
	req.UserData = base64.StdEncoding.EncodeToString([]byte(cloud.UserData(lr)))
	req.Amount = requests.NewInteger(1)
	req.ClientToken = token
	// Tag.N tags the instance, its disks and its primary NIC.
	req.Tag = tagList(tags, func(k, v string) ecs.RunInstancesTag { return ecs.RunInstancesTag{Key: k, Value: v} })
	resp := ecs.CreateRunInstancesResponse()
	if err := a.call(ctx, req, resp); err != nil {
		return "", err
	}
	if len(resp.InstanceIdSets.InstanceIdSet) == 0 {
		return "", fmt.Errorf("alibaba ecs RunInstances in %s: no instance ID in the answer (request id %s)", a.region, resp.RequestId)
	}
	return resp.InstanceIdSets.InstanceIdSet[0], nil
}

func instanceName(lr cloud.LaunchRequest) string {
	if lr.Name != "" {
		return resourceName("", lr.Name)
	}
	return resourceName("sindri-test-", lr.RunID)
}

// describeInstances lists instances by tags and/or IDs, over every page.
func (a *api) describeInstances(ctx context.Context, tags map[string]string, ids []string) ([]ecs.Instance, error) {
	return listAll(instancePageSize, func(page, size requests.Integer) ([]ecs.Instance, int, error) {
		req := ecs.CreateDescribeInstancesRequest()
		req.PageNumber, req.PageSize = page, size
		if len(ids) > 0 {
			req.InstanceIds = jsonList(ids)
		}
		req.Tag = tagList(tags, func(k, v string) ecs.DescribeInstancesTag { return ecs.DescribeInstancesTag{Key: k, Value: v} })
		resp := ecs.CreateDescribeInstancesResponse()
		err := a.call(ctx, req, resp)
		return resp.Instances.Instance, resp.TotalCount, err
	})
}

// describeInstance returns the instance, nil when it does not exist.
func (a *api) describeInstance(ctx context.Context, id string) (*ecs.Instance, error) {
	ins, err := a.describeInstances(ctx, nil, []string{id})
	if err != nil {
		return nil, err
	}
	for i := range ins {
		if ins[i].InstanceId == id {
			return &ins[i], nil
		}
	}
	return nil, nil
}

func publicIP(in ecs.Instance) string {
	if len(in.PublicIpAddress.IpAddress) > 0 {
		return in.PublicIpAddress.IpAddress[0]
	}
	return in.EipAddress.IpAddress
}

// instance converts an ECS instance.
func (a *api) instance(in ecs.Instance) cloud.Instance {
	tags := tagMap(in.Tags.Tag)
	region := in.RegionId
	if region == "" {
		region = a.region
	}
	return cloud.Instance{
		ID:         in.InstanceId,
		Host:       publicIP(in),
		Port:       sshPort,
		Name:       in.InstanceName,
		State:      strings.ToLower(in.Status),
		ImageID:    in.ImageId,
		RunID:      tags[cloud.TagRunID],
		Deployment: tags[cloud.TagDeployment],
		Temporary:  tags[cloud.TagTemporary] == cloud.Temporary,
		Created:    parseTime(in.CreationTime),
		Region:     region,
	}
}

// Terminate deletes the instance and its security group, waiting until the
// instance is gone; an instance that is gone already is success.
func (c Cloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	if inst == nil {
		return errors.New("alibaba: no instance to terminate")
	}
	h, _ := inst.Handle.(*handle)
	region := inst.Region
	sg := ""
	if h != nil {
		region, sg = h.region, h.securityGroup
	}
	if region == "" {
		return fmt.Errorf("alibaba: instance %s: unknown region", inst.ID)
	}
	return c.destroy(ctx, region, inst.ID, sg)
}

// TerminateInstance deletes an instance found by ListInstances and the
// security groups of ours it used.
func (c Cloud) TerminateInstance(ctx context.Context, cfg *config.Config, id string) error {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return err
	}
	return c.destroy(ctx, a.region, id, "")
}

// destroy deletes instance id (when not "") and then security group sg;
// with sg "" it deletes the groups of ours the instance is in.
func (c Cloud) destroy(ctx context.Context, region, id, sg string) error {
	a, err := c.clientFor(ctx, region)
	if err != nil {
		return err
	}
	groups := []string{}
	if sg != "" {
		groups = append(groups, sg)
	}
	if id != "" {
		if sg == "" {
			if groups, err = a.ownGroupsOf(ctx, id); err != nil {
				return err
			}
		}
		if err := c.deleteInstance(ctx, a, id); err != nil {
			return err
		}
	}
	for _, g := range groups {
		if err := a.deleteSecurityGroup(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// ownGroupsOf returns the security groups of the instance that carry our
// managed-by tag: the one Launch made for it.
func (a *api) ownGroupsOf(ctx context.Context, id string) ([]string, error) {
	in, err := a.describeInstance(ctx, id)
	if err != nil || in == nil {
		return nil, err
	}
	ids := in.SecurityGroupIds.SecurityGroupId
	if len(ids) == 0 {
		return nil, nil
	}
	sgs, err := a.describeSecurityGroups(ctx, map[string]string{cloud.TagManagedBy: cloud.ManagedBy}, ids)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range sgs {
		if slices.Contains(ids, g.SecurityGroupId) && tagMap(g.Tags.Tag)[cloud.TagManagedBy] == cloud.ManagedBy {
			out = append(out, g.SecurityGroupId)
		}
	}
	return out, nil
}

// deleteInstance force-deletes a running or stopped instance and waits
// until ECS no longer lists it.
func (c Cloud) deleteInstance(ctx context.Context, a *api, id string) error {
	req := ecs.CreateDeleteInstanceRequest()
	req.InstanceId = id
	req.Force = requests.NewBoolean(true)
	// An instance still being created cannot be deleted yet: try again.
	again := func(err error) bool {
		return retryable(err) || errorCode(err) == "IncorrectInstanceStatus.Initializing"
	}
	if err := a.callRetrying(ctx, req, ecs.CreateDeleteInstanceResponse(), again); err != nil && !isNotFound(err) {
		return err
	}
	return c.tuning().Poll(ctx, "alibaba: instance "+id+" to be deleted", func(ctx context.Context) (bool, error) {
		in, err := a.describeInstance(ctx, id)
		return in == nil && err == nil, err
	})
}

// deleteSecurityGroup deletes a group, retrying while an instance that is
// being released still holds it; a missing group is success.
func (a *api) deleteSecurityGroup(ctx context.Context, id string) error {
	req := ecs.CreateDeleteSecurityGroupRequest()
	req.SecurityGroupId = id
	again := func(err error) bool { return retryable(err) || errorCode(err) == "DependencyViolation" }
	if err := a.callRetrying(ctx, req, ecs.CreateDeleteSecurityGroupResponse(), again); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// ListInstances returns our instances selected by f.
func (c Cloud) ListInstances(ctx context.Context, cfg *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return nil, err
	}
	want := f.Tags()
	ins, err := a.describeInstances(ctx, want, nil)
	if err != nil {
		return nil, err
	}
	var out []cloud.Instance
	for _, in := range ins {
		if !cloud.HasTags(tagMap(in.Tags.Tag), want) {
			continue
		}
		out = append(out, a.instance(in))
	}
	slices.SortFunc(out, func(x, y cloud.Instance) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

// StopInstance stops the instance and waits until it is stopped.
func (c Cloud) StopInstance(ctx context.Context, cfg *config.Config, id string) error {
	req := ecs.CreateStopInstanceRequest()
	req.InstanceId = id
	return c.changeState(ctx, cfg, id, stateStopped, req, ecs.CreateStopInstanceResponse())
}

// StartInstance starts the instance and waits until it runs.
func (c Cloud) StartInstance(ctx context.Context, cfg *config.Config, id string) error {
	req := ecs.CreateStartInstanceRequest()
	req.InstanceId = id
	return c.changeState(ctx, cfg, id, stateRunning, req, ecs.CreateStartInstanceResponse())
}

func (c Cloud) changeState(ctx context.Context, cfg *config.Config, id, want string, req requests.AcsRequest, resp responses.AcsResponse) error {
	a, err := c.client(ctx, cfg)
	if err != nil {
		return err
	}
	in, err := a.describeInstance(ctx, id)
	if err != nil {
		return err
	}
	if in == nil {
		return fmt.Errorf("alibaba instance %s in %s: %w", id, a.region, cloud.ErrNotFound)
	}
	if in.Status != want { // ECS refuses to stop a stopped instance
		if err := a.call(ctx, req, resp); err != nil {
			if isNotFound(err) {
				return fmt.Errorf("alibaba instance %s in %s: %w", id, a.region, cloud.ErrNotFound)
			}
			return err
		}
	}
	return c.tuning().Poll(ctx, "alibaba: instance "+id+" to be "+strings.ToLower(want), func(ctx context.Context) (bool, error) {
		in, err := a.describeInstance(ctx, id)
		if err != nil {
			return false, err
		}
		if in == nil {
			return false, fmt.Errorf("alibaba instance %s in %s: %w", id, a.region, cloud.ErrNotFound)
		}
		return in.Status == want, nil
	})
}
