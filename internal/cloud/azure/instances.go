package azure

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// CreatedTag records when Launch made a resource: Azure reports no
// creation time for network resources, and cleanup --older-than needs one.
const CreatedTag = "sindri-created"

// Suffixes of the per-instance resources, all named after the VM, so
// Terminate finds them again from the VM's name alone.
const (
	sfxNSG  = "-nsg"
	sfxVNet = "-vnet"
	sfxIP   = "-ip"
	sfxNIC  = "-nic"
	sfxDisk = "-osdisk"
)

// handle is what Terminate needs of a launched instance.
type handle struct {
	cfg  *config.Config
	rg   string
	name string
}

var nameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// vmName is a valid, unique Linux VM name: at most 64 characters, with
// room for the longest suffix.
func vmName(req cloud.LaunchRequest) string {
	base := req.Name
	if base == "" && !req.Temporary() {
		base = req.Deployment
	}
	if base == "" {
		base = "sindri-test-" + req.RunID
	}
	base = strings.Trim(nameChars.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if base == "" {
		base = "sindri"
	}
	if len(base) > 48 {
		base = strings.TrimRight(base[:48], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

// Launch creates a network security group opening port 22 to
// req.AllowSSHFrom only, a temporary virtual network and subnet, a static
// Standard public IP, a NIC and the VM booted from the managed image (or
// gallery version) with the cloud-init user data, all tagged; it waits
// until the VM runs and has its address. Whatever it made is deleted
// again when a step fails.
func (c Cloud) Launch(ctx context.Context, req cloud.LaunchRequest) (inst *cloud.Instance, err error) {
	a, err := c.api(req.Config)
	if err != nil {
		return nil, err
	}
	az := req.Config.Packer.Clouds.Azure
	name := vmName(req)
	h := &handle{cfg: req.Config, rg: a.rg, name: name}
	defer func() {
		if err != nil {
			// A fresh context: clean up after a cancel too.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
			defer cancel()
			if cerr := a.teardown(cctx, h.rg, name); cerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after the failed launch: %w", cerr))
			}
		}
	}()

	tagsPlain := map[string]string{}
	for k, v := range az.Tags {
		tagsPlain[k] = v
	}
	for k, v := range cloud.InstanceTags(req) {
		tagsPlain[k] = v
	}
	tagsPlain[CreatedTag] = time.Now().UTC().Format(time.RFC3339)
	tags := tagMap(tagsPlain)
	loc := ptr(a.loc)
	allow := req.AllowSSHFrom
	if allow == "" {
		allow = "0.0.0.0/0"
	}

	nsgs := a.network.NewSecurityGroupsClient()
	nsgPoll, err := nsgs.BeginCreateOrUpdate(ctx, a.rg, name+sfxNSG, armnetwork.SecurityGroup{
		Location: loc, Tags: tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
			Name: ptr("allow-ssh"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Protocol: ptr(armnetwork.SecurityRuleProtocolTCP), Access: ptr(armnetwork.SecurityRuleAccessAllow),
				Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Priority: ptr[int32](1000),
				SourceAddressPrefix: ptr(allow), SourcePortRange: ptr("*"),
				DestinationAddressPrefix: ptr("*"), DestinationPortRange: ptr("22"),
			},
		}}},
	}, nil)
	nsg, err := poll(ctx, a, nsgPoll, err)
	if err != nil {
		return nil, wrap("azure: create network security group "+name+sfxNSG, err)
	}

	vnetPoll, err := a.network.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxVNet, armnetwork.VirtualNetwork{
		Location: loc, Tags: tags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr("10.240.0.0/24")}},
			Subnets: []*armnetwork.Subnet{{
				Name: ptr("default"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.240.0.0/26")},
			}},
		},
	}, nil)
	vnet, err := poll(ctx, a, vnetPoll, err)
	if err != nil {
		return nil, wrap("azure: create virtual network "+name+sfxVNet, err)
	}
	var subnetID string
	if vnet.Properties != nil && len(vnet.Properties.Subnets) > 0 && vnet.Properties.Subnets[0] != nil {
		subnetID = deref(vnet.Properties.Subnets[0].ID)
	}
	if subnetID == "" {
		subnetID = deref(vnet.ID) + "/subnets/default"
	}

	ipPoll, err := a.network.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxIP, armnetwork.PublicIPAddress{
		Location: loc, Tags: tags,
		SKU: &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodStatic),
			PublicIPAddressVersion:   ptr(armnetwork.IPVersionIPv4),
		},
	}, nil)
	ip, err := poll(ctx, a, ipPoll, err)
	if err != nil {
		return nil, wrap("azure: create public IP "+name+sfxIP, err)
	}

	nicPoll, err := a.network.NewInterfacesClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxNIC, armnetwork.Interface{
		Location: loc, Tags: tags,
		Properties: &armnetwork.InterfacePropertiesFormat{
			NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: nsg.ID},
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
				Name: ptr("ipconfig1"),
				Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
					Subnet:                    &armnetwork.Subnet{ID: &subnetID},
					PublicIPAddress:           &armnetwork.PublicIPAddress{ID: ip.ID},
					PrivateIPAllocationMethod: ptr(armnetwork.IPAllocationMethodDynamic),
					Primary:                   ptr(true),
				},
			}},
		},
	}, nil)
	nic, err := poll(ctx, a, nicPoll, err)
	if err != nil {
		return nil, wrap("azure: create network interface "+name+sfxNIC, err)
	}

	computerName := name
	if len(computerName) > 63 {
		computerName = computerName[:63]
	}
	vms := a.compute.NewVirtualMachinesClient()
	vmPoll, err := vms.BeginCreateOrUpdate(ctx, a.rg, name, armcompute.VirtualMachine{
		Location: loc, Tags: tags,
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypes(az.VMSize))},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{ID: ptr(req.ImageID)},
				OSDisk: &armcompute.OSDisk{
					Name:         ptr(name + sfxDisk),
					CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage),
					DeleteOption: ptr(armcompute.DiskDeleteOptionTypesDelete),
					DiskSizeGB:   ptr(int32(az.OSDiskSizeGB)),
					ManagedDisk:  &armcompute.ManagedDiskParameters{StorageAccountType: ptr(armcompute.StorageAccountTypes(az.StorageAccountType))},
				},
			},
			OSProfile: &armcompute.OSProfile{
				ComputerName:  ptr(computerName),
				AdminUsername: ptr(req.User),
				CustomData:    ptr(base64.StdEncoding.EncodeToString([]byte(cloud.UserData(req)))),
				LinuxConfiguration: &armcompute.LinuxConfiguration{
					DisablePasswordAuthentication: ptr(true),
					SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
						Path:    ptr("/home/" + req.User + "/.ssh/authorized_keys"),
						KeyData: ptr(req.PublicKey),
					}}},
				},
			},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
				ID:         nic.ID,
				Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: ptr(true), DeleteOption: ptr(armcompute.DeleteOptionsDelete)},
			}}},
		},
	}, nil)
	vm, err := poll(ctx, a, vmPoll, err)
	if err != nil {
		return nil, wrap("azure: create virtual machine "+name, err)
	}

	// Azure does not pass a VM's tags on to the OS disk it creates.
	if diskName := osDiskName(&vm.VirtualMachine); diskName != "" {
		dp, err := a.compute.NewDisksClient().BeginUpdate(ctx, a.rg, diskName, armcompute.DiskUpdate{Tags: tags}, nil)
		if _, err := poll(ctx, a, dp, err); err != nil {
			return nil, wrap("azure: tag OS disk "+diskName, err)
		}
	}

	inst, err = a.waitRunning(ctx, name)
	if err != nil {
		return nil, err
	}
	inst.User = req.User
	inst.Handle = h
	return inst, nil
}

// poll waits for a long-running operation begun with (p, err).
func poll[T any](ctx context.Context, a *api, p interface {
	PollUntilDone(context.Context, *runtime.PollUntilDoneOptions) (T, error)
}, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return p.PollUntilDone(ctx, a.poll)
}

func osDiskName(vm *armcompute.VirtualMachine) string {
	if vm.Properties == nil || vm.Properties.StorageProfile == nil || vm.Properties.StorageProfile.OSDisk == nil {
		return ""
	}
	od := vm.Properties.StorageProfile.OSDisk
	if od.ManagedDisk != nil && od.ManagedDisk.ID != nil {
		if r, err := arm.ParseResourceID(*od.ManagedDisk.ID); err == nil {
			return r.Name
		}
	}
	return deref(od.Name)
}

// waitRunning polls until the VM has succeeded, runs and its public IP
// has an address, with growing pauses, bounded by ctx.
func (a *api) waitRunning(ctx context.Context, name string) (*cloud.Instance, error) {
	// A VM that has not run after this long will not.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	delay := a.interval
	for {
		inst, err := a.describe(ctx, a.rg, name)
		if err != nil {
			return nil, err
		}
		if inst.State == "running" && inst.Host != "" {
			return inst, nil
		}
		if inst.State == "failed" {
			return nil, fmt.Errorf("azure: virtual machine %s failed to provision", name)
		}
		if err := cloud.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("azure: wait for virtual machine %s (state %s): %w", name, inst.State, err)
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// describe reads a VM with its instance view and its public address.
func (a *api) describe(ctx context.Context, rg, name string) (*cloud.Instance, error) {
	vm, err := a.compute.NewVirtualMachinesClient().Get(ctx, rg, name, &armcompute.VirtualMachinesClientGetOptions{Expand: ptr(armcompute.InstanceViewTypesInstanceView)})
	if err != nil {
		return nil, wrap("azure: get virtual machine "+name, err)
	}
	inst := instance(&vm.VirtualMachine)
	ip, err := a.network.NewPublicIPAddressesClient().Get(ctx, rg, name+sfxIP, nil)
	if err != nil && !notFound(err) {
		return nil, wrap("azure: get public IP "+name+sfxIP, err)
	}
	if err == nil && ip.Properties != nil {
		inst.Host = deref(ip.Properties.IPAddress)
	}
	return inst, nil
}

// instance turns a VM into the cloud-neutral form; State is the power
// state (running, deallocated, ...) once provisioning succeeded.
func instance(vm *armcompute.VirtualMachine) *cloud.Instance {
	inst := &cloud.Instance{
		ID: deref(vm.ID), Name: deref(vm.Name), Port: 22, Region: deref(vm.Location),
		RunID: tag(vm.Tags, cloud.TagRunID), Deployment: tag(vm.Tags, cloud.TagDeployment),
		Temporary: tag(vm.Tags, cloud.TagTemporary) == cloud.Temporary,
	}
	p := vm.Properties
	if p == nil {
		return inst
	}
	inst.Created = deref(p.TimeCreated)
	if p.StorageProfile != nil && p.StorageProfile.ImageReference != nil {
		inst.ImageID = deref(p.StorageProfile.ImageReference.ID)
	}
	if p.OSProfile != nil {
		inst.User = deref(p.OSProfile.AdminUsername)
	}
	prov := strings.ToLower(deref(p.ProvisioningState))
	inst.State = prov
	if prov == "succeeded" || prov == "" {
		inst.State = "unknown"
		if p.InstanceView != nil {
			for _, s := range p.InstanceView.Statuses {
				if code := deref(s.Code); strings.HasPrefix(code, "PowerState/") {
					inst.State = strings.TrimPrefix(code, "PowerState/")
				}
			}
		}
	}
	return inst
}

// Terminate destroys a launched instance and its network resources.
func (c Cloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	h, ok := inst.Handle.(*handle)
	if !ok || h == nil {
		if inst.ID == "" {
			return errors.New("azure: not an azure instance")
		}
		return errors.New("azure: instance " + inst.ID + " has no launch handle; use TerminateInstance")
	}
	a, err := c.api(h.cfg)
	if err != nil {
		return err
	}
	return a.teardown(ctx, h.rg, h.name)
}

// TerminateInstance destroys a VM found by ListInstances, and its network
// resources. It refuses a VM this tool did not make.
func (c Cloud) TerminateInstance(ctx context.Context, cfg *config.Config, id string) error {
	a, err := c.api(cfg)
	if err != nil {
		return err
	}
	rg, name, err := vmID(a, id)
	if err != nil {
		return err
	}
	vm, err := a.compute.NewVirtualMachinesClient().Get(ctx, rg, name, nil)
	if err != nil && !notFound(err) {
		return wrap("azure: get virtual machine "+name, err)
	}
	if err == nil && tag(vm.Tags, cloud.TagManagedBy) != cloud.ManagedBy {
		return fmt.Errorf("azure: virtual machine %s is not tagged %s=%s; not deleting it", id, cloud.TagManagedBy, cloud.ManagedBy)
	}
	return a.teardown(ctx, rg, name)
}

// vmID accepts a VM's resource ID or its name in the configured group.
func vmID(a *api, id string) (rg, name string, err error) {
	if !strings.HasPrefix(id, "/") {
		return a.rg, id, nil
	}
	r, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(r.ResourceType.String(), "Microsoft.Compute/virtualMachines") {
		return "", "", fmt.Errorf("azure: %q is not a virtual machine ID", id)
	}
	return r.ResourceGroupName, r.Name, nil
}

// teardown deletes the VM, then what it used, in the order Azure allows
// (a NIC only once its VM is gone, the IP, NSG and VNet once the NIC is),
// each waiting for its operation; what is gone already is skipped.
func (a *api) teardown(ctx context.Context, rg, name string) error {
	steps := []struct {
		what string
		del  func() error
	}{
		{"virtual machine " + name, func() error {
			p, err := a.compute.NewVirtualMachinesClient().BeginDelete(ctx, rg, name, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
		{"OS disk " + name + sfxDisk, func() error {
			p, err := a.compute.NewDisksClient().BeginDelete(ctx, rg, name+sfxDisk, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
		{"network interface " + name + sfxNIC, func() error {
			p, err := a.network.NewInterfacesClient().BeginDelete(ctx, rg, name+sfxNIC, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
		{"public IP " + name + sfxIP, func() error {
			p, err := a.network.NewPublicIPAddressesClient().BeginDelete(ctx, rg, name+sfxIP, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
		{"network security group " + name + sfxNSG, func() error {
			p, err := a.network.NewSecurityGroupsClient().BeginDelete(ctx, rg, name+sfxNSG, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
		{"virtual network " + name + sfxVNet, func() error {
			p, err := a.network.NewVirtualNetworksClient().BeginDelete(ctx, rg, name+sfxVNet, nil)
			_, err = poll(ctx, a, p, err)
			return err
		}},
	}
	var errs []error
	for _, s := range steps {
		if err := gone(s.del()); err != nil {
			errs = append(errs, wrap("azure: delete "+s.what, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// ListInstances returns our VMs in the resource group that match f.
func (c Cloud) ListInstances(ctx context.Context, cfg *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	a, err := c.api(cfg)
	if err != nil {
		return nil, err
	}
	var out []cloud.Instance
	pager := a.compute.NewVirtualMachinesClient().NewListPager(a.rg, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap("azure: list virtual machines in resource group "+a.rg, err)
		}
		for _, vm := range page.Value {
			if vm == nil || tag(vm.Tags, cloud.TagManagedBy) != cloud.ManagedBy {
				continue
			}
			base := instance(vm)
			if (f.RunID != "" && base.RunID != f.RunID) || (f.Deployment != "" && base.Deployment != f.Deployment) || (f.Temporary && !base.Temporary) {
				continue
			}
			if vm.Properties != nil && strings.EqualFold(deref(vm.Properties.ProvisioningState), "deleting") {
				continue
			}
			inst, err := a.describe(ctx, a.rg, deref(vm.Name))
			if notFound(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			out = append(out, *inst)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// StopInstance deallocates the VM (a stopped but allocated VM is still
// billed) and waits for it.
func (c Cloud) StopInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, "deallocated", func(a *api, rg, name string) error {
		p, err := a.compute.NewVirtualMachinesClient().BeginDeallocate(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return err
	})
}

// StartInstance starts the VM and waits until it runs.
func (c Cloud) StartInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, "running", func(a *api, rg, name string) error {
		p, err := a.compute.NewVirtualMachinesClient().BeginStart(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return err
	})
}

func (c Cloud) power(ctx context.Context, cfg *config.Config, id, want string, op func(*api, string, string) error) error {
	a, err := c.api(cfg)
	if err != nil {
		return err
	}
	rg, name, err := vmID(a, id)
	if err != nil {
		return err
	}
	if err := op(a, rg, name); err != nil {
		return wrap(fmt.Sprintf("azure: make virtual machine %s %s", name, want), err)
	}
	// The operation ends when Azure accepted the state; confirm it.
	delay := a.interval
	for {
		inst, err := a.describe(ctx, rg, name)
		if err != nil {
			return err
		}
		if inst.State == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("azure: wait for virtual machine %s to be %s (now %s): %w", name, want, inst.State, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}
