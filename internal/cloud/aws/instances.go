package aws

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// handle is what Terminate needs of a launched instance.
type handle struct {
	config *config.Config
	// groups are the security groups Launch made for the instance.
	groups []string
}

// cleanupTimeout bounds the teardown of a launch that failed half way;
// it runs on a context of its own so a cancel does not leak resources.
const cleanupTimeout = 10 * time.Minute

// Launch boots an instance from req.ImageID in the config's region: a
// security group of its own opens port 22 to req.AllowSSHFrom only, the
// login user and key come from cloud-init user data, IMDSv2 is required,
// and the instance, its volumes, its network interface and the group
// carry our tags. It waits until the instance runs with a public address.
// When a step fails, what was made is removed before the error returns.
func (c Cloud) Launch(ctx context.Context, req cloud.LaunchRequest) (inst *cloud.Instance, err error) {
	a, err := awsBlock(req.Config)
	if err != nil {
		return nil, err
	}
	cidr, err := sshCIDR(req.AllowSSHFrom)
	if err != nil {
		return nil, err
	}
	cl, err := c.connect(ctx, a.Region)
	if err != nil {
		return nil, err
	}
	tags := launchTags(a, req)
	vpc, subnet, err := c.network(ctx, cl, a)
	if err != nil {
		return nil, err
	}

	var groupID, instanceID string
	defer func() {
		if err != nil {
			err = c.undoLaunch(ctx, cl, instanceID, groupID, err)
		}
	}()
	groupID, err = c.createGroup(ctx, cl, vpc, req.RunID, cidr, tags)
	if err != nil {
		return nil, err
	}
	instanceID, err = runInstance(ctx, cl, req, launchInput(a, req, subnet, groupID, tags))
	if err != nil {
		return nil, err
	}
	got, err := c.waitState(ctx, cl, instanceID, types.InstanceStateNameRunning, true)
	if err != nil {
		return nil, err
	}
	inst = toInstance(*got, a.Region)
	inst.User = req.User
	inst.Handle = &handle{config: req.Config, groups: []string{groupID}}
	return inst, nil
}

// launchTags are the config's tags, then ours and the instance's Name.
func launchTags(a *config.AWS, req cloud.LaunchRequest) map[string]string {
	tags := maps.Clone(a.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cloud.InstanceTags(req))
	tags["Name"] = cmp.Or(req.Name, "sindri-packer-test-"+req.RunID)
	return tags
}

// undoLaunch removes what a failed launch made, on a fresh context: a
// cancelled launch must still clean up. It returns err, with the
// clean-up's failure when there is one.
func (c Cloud) undoLaunch(ctx context.Context, cl *clients, instanceID, groupID string, err error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var groups []string
	if groupID != "" {
		groups = []string{groupID}
	}
	if instanceID != "" {
		// Just launched: until EC2 shows the instance (it is eventually
		// consistent), a NotFound means "not yet", not "gone", and
		// terminate would take it for gone and leave it running.
		_ = c.retryCode(cctx, []string{"InvalidInstanceID.NotFound"}, func(ctx context.Context) error {
			_, err := describeInstance(ctx, cl, instanceID)
			return err
		})
	}
	if cerr := c.terminate(cctx, cl, instanceID, groups); cerr != nil {
		return fmt.Errorf("%w (clean-up failed too: %v)", err, cerr)
	}
	return err
}

// launchInput is the RunInstances request: one instance with a public
// address in the group, IMDSv2 only, tagged with its volume and interface.
// A poweroff inside a temporary (test) instance ends it, and its bill.
func launchInput(a *config.AWS, req cloud.LaunchRequest, subnet, groupID string, tags map[string]string) *ec2.RunInstancesInput {
	shutdown := types.ShutdownBehaviorStop
	if req.Temporary() {
		shutdown = types.ShutdownBehaviorTerminate
	}
	nic := types.InstanceNetworkInterfaceSpecification{
		DeviceIndex:              awssdk.Int32(0),
		AssociatePublicIpAddress: awssdk.Bool(true),
		DeleteOnTermination:      awssdk.Bool(true),
		Groups:                   []string{groupID},
	}
	if subnet != "" {
		nic.SubnetId = awssdk.String(subnet)
	}
	tl := tagList(tags)
	return &ec2.RunInstancesInput{
		ImageId:                           awssdk.String(req.ImageID),
		InstanceType:                      types.InstanceType(a.InstanceType),
		MinCount:                          awssdk.Int32(1),
		MaxCount:                          awssdk.Int32(1),
		UserData:                          awssdk.String(base64.StdEncoding.EncodeToString([]byte(cloud.UserData(req)))),
		InstanceInitiatedShutdownBehavior: shutdown,
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpEndpoint:            types.InstanceMetadataEndpointStateEnabled,
			HttpTokens:              types.HttpTokensStateRequired,
			HttpPutResponseHopLimit: awssdk.Int32(1),
		},
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{nic},
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tl},
			{ResourceType: types.ResourceTypeVolume, Tags: tl},
			{ResourceType: types.ResourceTypeNetworkInterface, Tags: tl},
		},
	}
}

// runInstance sends RunInstances and returns the new instance's ID.
func runInstance(ctx context.Context, cl *clients, req cloud.LaunchRequest, in *ec2.RunInstancesInput) (string, error) {
	out, err := cl.ec2.RunInstances(ctx, in)
	if err != nil {
		return "", fmt.Errorf("aws: run instance from %s in %s: %w", req.ImageID, cl.region, err)
	}
	if len(out.Instances) == 0 {
		return "", fmt.Errorf("aws: run instance from %s in %s: no instance in the answer", req.ImageID, cl.region)
	}
	return awssdk.ToString(out.Instances[0].InstanceId), nil
}

// sshCIDR checks the CIDR port 22 opens to; a bare address is one host.
func sshCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		s = "0.0.0.0/0"
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("aws: allow-ssh-from %q is not a CIDR", s)
}

// network picks the VPC of the security group and the subnet of the
// instance: the configured subnet, else a subnet of the configured VPC,
// else the default VPC (EC2 picks its default subnet).
func (c Cloud) network(ctx context.Context, cl *clients, a *config.AWS) (vpc, subnet string, err error) {
	switch {
	case a.SubnetID != "":
		out, err := cl.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{a.SubnetID}})
		if err != nil {
			return "", "", fmt.Errorf("aws: subnet %s in %s: %w", a.SubnetID, cl.region, err)
		}
		if len(out.Subnets) == 0 {
			return "", "", fmt.Errorf("aws: subnet %s in %s: %w", a.SubnetID, cl.region, cloud.ErrNotFound)
		}
		return awssdk.ToString(out.Subnets[0].VpcId), a.SubnetID, nil
	case a.VPCID != "":
		subs, err := vpcSubnets(ctx, cl, a.VPCID)
		if err != nil {
			return "", "", fmt.Errorf("aws: subnets of vpc %s in %s: %w", a.VPCID, cl.region, err)
		}
		if len(subs) == 0 {
			return "", "", fmt.Errorf("aws: vpc %s in %s has no subnet: set subnet_id", a.VPCID, cl.region)
		}
		// Prefer a subnet that gives public addresses, then the lowest ID.
		slices.SortFunc(subs, func(x, y types.Subnet) int {
			if px, py := awssdk.ToBool(x.MapPublicIpOnLaunch), awssdk.ToBool(y.MapPublicIpOnLaunch); px != py {
				if px {
					return -1
				}
				return 1
			}
			return cmp.Compare(awssdk.ToString(x.SubnetId), awssdk.ToString(y.SubnetId))
		})
		return a.VPCID, awssdk.ToString(subs[0].SubnetId), nil
	}
	out, err := cl.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{filter("isDefault", "true")}})
	if err != nil {
		return "", "", fmt.Errorf("aws: default vpc in %s: %w", cl.region, err)
	}
	if len(out.Vpcs) == 0 {
		return "", "", fmt.Errorf("aws: %s has no default vpc: set vpc_id or subnet_id", cl.region)
	}
	return awssdk.ToString(out.Vpcs[0].VpcId), "", nil
}

// vpcSubnets reads every page of the VPC's subnets.
func vpcSubnets(ctx context.Context, cl *clients, vpc string) ([]types.Subnet, error) {
	p := ec2.NewDescribeSubnetsPaginator(cl.ec2, &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", vpc)}})
	return allPages(ctx, p, func(o *ec2.DescribeSubnetsOutput) []types.Subnet { return o.Subnets })
}

// createGroup makes the instance's own security group with one ingress
// rule, tcp/22 from cidr, tagged like the instance.
func (c Cloud) createGroup(ctx context.Context, cl *clients, vpc, runID string, cidr netip.Prefix, tags map[string]string) (string, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "sindri-packer-" + runID + "-" + hex.EncodeToString(suffix[:])
	gt := map[string]string{TagCreated: time.Now().UTC().Format(time.RFC3339)}
	for k, v := range tags {
		gt[k] = v
	}
	gt["Name"] = name
	out, err := cl.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         awssdk.String(name),
		Description:       awssdk.String("sindri-packer: SSH to one instance of run " + runID),
		VpcId:             awssdk.String(vpc),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: tagList(gt)}},
	})
	if err != nil {
		return "", fmt.Errorf("aws: create security group in %s (%s): %w", vpc, cl.region, err)
	}
	id := awssdk.ToString(out.GroupId)
	perm := types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(22), ToPort: awssdk.Int32(22)}
	desc := awssdk.String("sindri-packer SSH")
	if cidr.Addr().Is4() {
		perm.IpRanges = []types.IpRange{{CidrIp: awssdk.String(cidr.String()), Description: desc}}
	} else {
		perm.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: awssdk.String(cidr.String()), Description: desc}}
	}
	if _, err := cl.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: awssdk.String(id), IpPermissions: []types.IpPermission{perm},
	}); err != nil {
		// The caller deletes the group: the id is returned with the error.
		return id, fmt.Errorf("aws: open port 22 in security group %s (%s): %w", id, cl.region, err)
	}
	return id, nil
}

// TagCreated is the creation time (RFC 3339) of a security group this
// tool made: EC2 reports none, and cleanup --older-than needs one.
const TagCreated = "sindri-created"

// waitState polls DescribeInstances until the instance is in state (and,
// when wantIP, has a public address). An instance that ends up
// terminated instead fails with EC2's state reason.
func (c Cloud) waitState(ctx context.Context, cl *clients, id string, state types.InstanceStateName, wantIP bool) (*types.Instance, error) {
	var got *types.Instance
	err := c.tuning().Poll(ctx, "instance "+id+" to be "+string(state), func(ctx context.Context) (bool, error) {
		in, err := describeInstance(ctx, cl, id)
		if isNotFound(err) {
			return false, nil // not visible yet: EC2 is eventually consistent
		}
		if err != nil {
			return false, err
		}
		got = in
		s := instState(in)
		if s == state {
			return !wantIP || awssdk.ToString(in.PublicIpAddress) != "", nil
		}
		if s == types.InstanceStateNameTerminated || (s == types.InstanceStateNameShuttingDown && state != s) {
			reason := ""
			if in.StateReason != nil {
				reason = ": " + awssdk.ToString(in.StateReason.Message)
			}
			return false, fmt.Errorf("instance %s is %s%s", id, s, reason)
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	return got, nil
}

func describeInstance(ctx context.Context, cl *clients, id string) (*types.Instance, error) {
	out, err := cl.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if awssdk.ToString(in.InstanceId) == id {
				return &in, nil
			}
		}
	}
	return nil, &notFound{id}
}

// notFound stands for an empty answer, treated like EC2's NotFound codes.
type notFound struct{ id string }

func (e *notFound) Error() string { return "instance " + e.id + " not found" }

func instState(in *types.Instance) types.InstanceStateName {
	if in.State == nil {
		return ""
	}
	return in.State.Name
}

// Terminate destroys an instance Launch made and its security group,
// waiting until it is terminated; one that is gone already succeeds.
func (c Cloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	if inst == nil {
		return errors.New("aws: terminate: no instance")
	}
	h, ok := inst.Handle.(*handle)
	if !ok || h == nil {
		return fmt.Errorf("aws: terminate %s: not an instance launched by the aws target", inst.ID)
	}
	if h.groups == nil {
		// Listed, not launched here: find its groups by their tags.
		return c.TerminateInstance(ctx, h.config, inst.ID)
	}
	_, cl, err := c.open(ctx, h.config)
	if err != nil {
		return err
	}
	return c.terminate(ctx, cl, inst.ID, h.groups)
}

// TerminateInstance destroys an instance found by ListInstances and the
// security groups this tool made for it.
func (c Cloud) TerminateInstance(ctx context.Context, cfg *config.Config, id string) error {
	_, cl, err := c.open(ctx, cfg)
	if err != nil {
		return err
	}
	in, err := describeInstance(ctx, cl, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("aws: describe instance %s in %s: %w", id, cl.region, err)
	}
	groups, err := ownGroups(ctx, cl, in)
	if err != nil {
		return err
	}
	return c.terminate(ctx, cl, id, groups)
}

// ownGroups are the instance's security groups that this tool made for
// its run; shared groups are never deleted.
func ownGroups(ctx context.Context, cl *clients, in *types.Instance) ([]string, error) {
	var ids []string
	for _, g := range in.SecurityGroups {
		ids = append(ids, awssdk.ToString(g.GroupId))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// A filter, not GroupIds: a group that is gone is no error here. A
	// filtered answer may come in pages.
	p := ec2.NewDescribeSecurityGroupsPaginator(cl.ec2, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{
			filter("group-id", ids...),
			tagFilter(cloud.TagManagedBy, cloud.ManagedBy),
			tagFilter(cloud.TagRunID, tagValue(in.Tags, cloud.TagRunID)),
		},
	})
	groups, err := allPages(ctx, p, func(o *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return o.SecurityGroups })
	if err != nil {
		return nil, fmt.Errorf("aws: security groups of instance %s in %s: %w", awssdk.ToString(in.InstanceId), cl.region, err)
	}
	var own []string
	for _, g := range groups {
		own = append(own, awssdk.ToString(g.GroupId))
	}
	return own, nil
}

// terminate ends the instance (when id is set), waits for it, then
// deletes the groups; the volumes and the interface go with the
// instance (DeleteOnTermination).
func (c Cloud) terminate(ctx context.Context, cl *clients, id string, groups []string) error {
	if id != "" {
		_, err := cl.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("aws: terminate instance %s in %s: %w", id, cl.region, err)
		}
		if err == nil {
			if err := c.waitGone(ctx, cl, id); err != nil {
				return err
			}
		}
	}
	for _, g := range groups {
		if err := c.deleteGroup(ctx, cl, g); err != nil {
			return err
		}
	}
	return nil
}

// waitGone waits until the instance is terminated or no longer listed.
func (c Cloud) waitGone(ctx context.Context, cl *clients, id string) error {
	return c.tuning().Poll(ctx, "instance "+id+" to terminate", func(ctx context.Context) (bool, error) {
		in, err := describeInstance(ctx, cl, id)
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("aws: describe instance %s in %s: %w", id, cl.region, err)
		}
		return instState(in) == types.InstanceStateNameTerminated, nil
	})
}

// deleteGroup deletes a security group, retrying while EC2 still sees the
// terminated instance's interface in it; one that is gone succeeds.
func (c Cloud) deleteGroup(ctx context.Context, cl *clients, id string) error {
	err := c.retryCode(ctx, []string{"DependencyViolation"}, func(ctx context.Context) error {
		_, err := cl.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
		return err
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("aws: delete security group %s in %s: %w", id, cl.region, err)
	}
	return nil
}

// ListInstances returns this tool's instances in the config's region that
// are not terminated (nor on their way), oldest first.
func (c Cloud) ListInstances(ctx context.Context, cfg *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	a, cl, err := c.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	filters := []types.Filter{
		tagFilter(cloud.TagManagedBy, cloud.ManagedBy),
		filter("instance-state-name", "pending", "running", "stopping", "stopped"),
	}
	if f.RunID != "" {
		filters = append(filters, tagFilter(cloud.TagRunID, f.RunID))
	}
	if f.Deployment != "" {
		filters = append(filters, tagFilter(cloud.TagDeployment, f.Deployment))
	}
	if f.Temporary {
		filters = append(filters, tagFilter(cloud.TagTemporary, cloud.Temporary))
	}
	raw, err := describeInstances(ctx, cl, filters)
	if err != nil {
		return nil, fmt.Errorf("aws: list instances in %s: %w", cl.region, err)
	}
	out := make([]cloud.Instance, 0, len(raw))
	for _, in := range raw {
		inst := toInstance(in, a.Region)
		inst.User = a.SSHUsername
		inst.Handle = &handle{config: cfg}
		out = append(out, *inst)
	}
	slices.SortFunc(out, func(x, y cloud.Instance) int {
		if c := x.Created.Compare(y.Created); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out, nil
}

func describeInstances(ctx context.Context, cl *clients, filters []types.Filter) ([]types.Instance, error) {
	p := ec2.NewDescribeInstancesPaginator(cl.ec2, &ec2.DescribeInstancesInput{Filters: filters})
	return allPages(ctx, p, func(o *ec2.DescribeInstancesOutput) []types.Instance {
		var out []types.Instance
		for _, r := range o.Reservations {
			out = append(out, r.Instances...)
		}
		return out
	})
}

// StopInstance stops the instance and waits until it is stopped.
func (c Cloud) StopInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.changeState(ctx, cfg, id, types.InstanceStateNameStopped, func(ctx context.Context, cl *clients) error {
		_, err := cl.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
		return err
	})
}

// StartInstance starts the instance and waits until it runs.
func (c Cloud) StartInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.changeState(ctx, cfg, id, types.InstanceStateNameRunning, func(ctx context.Context, cl *clients) error {
		_, err := cl.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		return err
	})
}

func (c Cloud) changeState(ctx context.Context, cfg *config.Config, id string, want types.InstanceStateName, op func(context.Context, *clients) error) error {
	_, cl, err := c.open(ctx, cfg)
	if err != nil {
		return err
	}
	verb := map[types.InstanceStateName]string{types.InstanceStateNameStopped: "stop", types.InstanceStateNameRunning: "start"}[want]
	if err := op(ctx, cl); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("aws: %s instance %s in %s: %w", verb, id, cl.region, cloud.ErrNotFound)
		}
		return fmt.Errorf("aws: %s instance %s in %s: %w", verb, id, cl.region, err)
	}
	_, err = c.waitState(ctx, cl, id, want, false)
	return err
}

func toInstance(in types.Instance, region string) *cloud.Instance {
	return &cloud.Instance{
		ID:         awssdk.ToString(in.InstanceId),
		Host:       awssdk.ToString(in.PublicIpAddress),
		Port:       22,
		Name:       tagValue(in.Tags, "Name"),
		State:      string(instState(&in)),
		ImageID:    awssdk.ToString(in.ImageId),
		RunID:      tagValue(in.Tags, cloud.TagRunID),
		Deployment: tagValue(in.Tags, cloud.TagDeployment),
		Temporary:  tagValue(in.Tags, cloud.TagTemporary) == cloud.Temporary,
		Created:    awssdk.ToTime(in.LaunchTime),
		Region:     region,
	}
}
