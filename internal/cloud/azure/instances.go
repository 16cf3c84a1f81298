package azure

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
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
	name := vmName(req)
	defer func() {
		if err != nil {
			// A fresh context: clean up after a cancel too.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
			defer cancel()
			if cerr := a.teardown(cctx, a.rg, name); cerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after the failed launch: %w", cerr))
			}
		}
	}()
	tags := launchTags(req)
	nic, err := a.createNetwork(ctx, name, tags, req.AllowSSHFrom)
	if err != nil {
		return nil, err
	}
	if err := a.createVM(ctx, name, req, nic, tags); err != nil {
		return nil, err
	}
	inst, err = a.waitState(ctx, a.rg, name, "running", true)
	if err != nil {
		return nil, err
	}
	inst.User = req.User
	inst.Handle = &handle{cfg: req.Config, rg: a.rg, name: name}
	return inst, nil
}

// launchTags are the tags of every resource Launch makes: the config's,
// the instance's (ours, the run's, temporary or the deployment) and the
// creation time, which Azure reports for none of the network resources.
func launchTags(req cloud.LaunchRequest) map[string]*string {
	tags := maps.Clone(req.Config.Packer.Clouds.Azure.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cloud.InstanceTags(req))
	tags[CreatedTag] = time.Now().UTC().Format(time.RFC3339)
	return tagMap(tags)
}

// createNetwork makes the VM's NSG, virtual network, public IP and NIC,
// named after it, and returns the NIC's ID.
func (a *api) createNetwork(ctx context.Context, name string, tags map[string]*string, allow string) (*string, error) {
	if allow == "" {
		allow = "0.0.0.0/0"
	}
	loc := ptr(a.loc)
	p, err := a.network.NewSecurityGroupsClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxNSG, armnetwork.SecurityGroup{
		Location: loc, Tags: tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{sshRule(allow)}},
	}, nil)
	nsg, err := await(ctx, a, p, err)
	if err != nil {
		return nil, wrap("azure: create network security group "+name+sfxNSG, err)
	}
	subnet, err := a.createVNet(ctx, name, tags)
	if err != nil {
		return nil, err
	}
	ipp, err := a.network.NewPublicIPAddressesClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxIP, armnetwork.PublicIPAddress{
		Location: loc, Tags: tags,
		SKU: &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodStatic),
			PublicIPAddressVersion:   ptr(armnetwork.IPVersionIPv4),
		},
	}, nil)
	ip, err := await(ctx, a, ipp, err)
	if err != nil {
		return nil, wrap("azure: create public IP "+name+sfxIP, err)
	}
	nicp, err := a.network.NewInterfacesClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxNIC, armnetwork.Interface{
		Location: loc, Tags: tags,
		Properties: &armnetwork.InterfacePropertiesFormat{
			NetworkSecurityGroup: &armnetwork.SecurityGroup{ID: nsg.ID},
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{
				Name: ptr("ipconfig1"),
				Properties: &armnetwork.InterfaceIPConfigurationPropertiesFormat{
					Subnet:                    &armnetwork.Subnet{ID: &subnet},
					PublicIPAddress:           &armnetwork.PublicIPAddress{ID: ip.ID},
					PrivateIPAllocationMethod: ptr(armnetwork.IPAllocationMethodDynamic),
					Primary:                   ptr(true),
				},
			}},
		},
	}, nil)
	nic, err := await(ctx, a, nicp, err)
	if err != nil {
		return nil, wrap("azure: create network interface "+name+sfxNIC, err)
	}
	return nic.ID, nil
}

// sshRule opens port 22 to allow only.
func sshRule(allow string) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{
		Name: ptr("allow-ssh"),
		Properties: &armnetwork.SecurityRulePropertiesFormat{
			Protocol: ptr(armnetwork.SecurityRuleProtocolTCP), Access: ptr(armnetwork.SecurityRuleAccessAllow),
			Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Priority: ptr[int32](1000),
			SourceAddressPrefix: ptr(allow), SourcePortRange: ptr("*"),
			DestinationAddressPrefix: ptr("*"), DestinationPortRange: ptr("22"),
		},
	}
}

// createVNet makes the VM's virtual network and returns its subnet's ID.
func (a *api) createVNet(ctx context.Context, name string, tags map[string]*string) (string, error) {
	p, err := a.network.NewVirtualNetworksClient().BeginCreateOrUpdate(ctx, a.rg, name+sfxVNet, armnetwork.VirtualNetwork{
		Location: ptr(a.loc), Tags: tags,
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr("10.240.0.0/24")}},
			Subnets: []*armnetwork.Subnet{{
				Name: ptr("default"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.240.0.0/26")},
			}},
		},
	}, nil)
	vnet, err := await(ctx, a, p, err)
	if err != nil {
		return "", wrap("azure: create virtual network "+name+sfxVNet, err)
	}
	if vnet.Properties != nil && len(vnet.Properties.Subnets) > 0 && vnet.Properties.Subnets[0] != nil {
		if id := deref(vnet.Properties.Subnets[0].ID); id != "" {
			return id, nil
		}
	}
	return deref(vnet.ID) + "/subnets/default", nil
}

// createVM makes the VM on nic and tags its OS disk, which Azure creates
// without the VM's tags.
func (a *api) createVM(ctx context.Context, name string, req cloud.LaunchRequest, nic *string, tags map[string]*string) error {
	az := req.Config.Packer.Clouds.Azure
	computerName := name
	if len(computerName) > 63 {
		computerName = computerName[:63]
	}
	p, err := a.compute.NewVirtualMachinesClient().BeginCreateOrUpdate(ctx, a.rg, name, armcompute.VirtualMachine{
		Location: ptr(a.loc), Tags: tags,
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
			OSProfile: osProfile(computerName, req),
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
				ID:         nic,
				Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: ptr(true), DeleteOption: ptr(armcompute.DeleteOptionsDelete)},
			}}},
		},
	}, nil)
	vm, err := await(ctx, a, p, err)
	if err != nil {
		return wrap("azure: create virtual machine "+name, err)
	}
	if diskName := osDiskName(&vm.VirtualMachine); diskName != "" {
		dp, err := a.compute.NewDisksClient().BeginUpdate(ctx, a.rg, diskName, armcompute.DiskUpdate{Tags: tags}, nil)
		if _, err := await(ctx, a, dp, err); err != nil {
			return wrap("azure: tag OS disk "+diskName, err)
		}
	}
	return nil
}

// osProfile logs in req.User with req.PublicKey only and hands cloud-init
// the user data.
func osProfile(computerName string, req cloud.LaunchRequest) *armcompute.OSProfile {
	return &armcompute.OSProfile{
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
	}
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

// waitState polls until the VM's power state is want (and, with
// needHost, its public IP has its address), bounded by the Tuning's
// WaitTimeout and ctx. A VM whose provisioning failed will not get there.
func (a *api) waitState(ctx context.Context, rg, name, want string, needHost bool) (*cloud.Instance, error) {
	var inst *cloud.Instance
	err := a.tuning.Poll(ctx, fmt.Sprintf("azure: wait for virtual machine %s to be %s", name, want), func(ctx context.Context) (bool, error) {
		i, err := a.describe(ctx, rg, name)
		if err != nil {
			return false, err
		}
		inst = i
		if i.State == "failed" {
			return false, fmt.Errorf("azure: virtual machine %s failed to provision", name)
		}
		return i.State == want && (!needHost || i.Host != ""), nil
	})
	if err != nil {
		if inst != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			err = fmt.Errorf("%w (its state: %s)", err, inst.State)
		}
		return nil, err
	}
	return inst, nil
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
	a, rg, name, err := c.vm(cfg, id)
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

// vm returns the clients of cfg and the VM id names: its resource ID, or
// its name in the configured group.
func (c Cloud) vm(cfg *config.Config, id string) (a *api, rg, name string, err error) {
	a, err = c.api(cfg)
	if err != nil {
		return nil, "", "", err
	}
	if !strings.HasPrefix(id, "/") {
		return a, a.rg, id, nil
	}
	r, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(r.ResourceType.String(), "Microsoft.Compute/virtualMachines") {
		return nil, "", "", fmt.Errorf("azure: %q is not a virtual machine ID", id)
	}
	return a, r.ResourceGroupName, r.Name, nil
}

// teardown deletes the VM, then what it used, in the order Azure allows
// (a NIC only once its VM is gone, the IP, NSG and VNet once the NIC is),
// each waiting for its operation; what is gone already is skipped.
func (a *api) teardown(ctx context.Context, rg, name string) error {
	steps := []struct{ what, typ, name string }{
		{"virtual machine", typeVM, name},
		{"OS disk", typeDisk, name + sfxDisk},
		{"network interface", typeNIC, name + sfxNIC},
		{"public IP", typeIP, name + sfxIP},
		{"network security group", typeNSG, name + sfxNSG},
		{"virtual network", typeVNet, name + sfxVNet},
	}
	var errs []error
	for _, s := range steps {
		if err := gone(a.remove(ctx, s.typ, rg, s.name)); err != nil {
			errs = append(errs, wrap("azure: delete "+s.what+" "+s.name, err))
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
	vms, err := listAll(ctx, "virtual machines in resource group "+a.rg, a.compute.NewVirtualMachinesClient().NewListPager(a.rg, nil),
		func(page armcompute.VirtualMachinesClientListResponse) []*armcompute.VirtualMachine {
			return page.Value
		})
	if err != nil {
		return nil, err
	}
	var out []cloud.Instance
	for _, vm := range vms {
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
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// StopInstance deallocates the VM (a stopped but allocated VM is still
// billed) and waits for it.
func (c Cloud) StopInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, "deallocated", func(a *api, rg, name string) error {
		p, err := a.compute.NewVirtualMachinesClient().BeginDeallocate(ctx, rg, name, nil)
		_, err = await(ctx, a, p, err)
		return err
	})
}

// StartInstance starts the VM and waits until it runs.
func (c Cloud) StartInstance(ctx context.Context, cfg *config.Config, id string) error {
	return c.power(ctx, cfg, id, "running", func(a *api, rg, name string) error {
		p, err := a.compute.NewVirtualMachinesClient().BeginStart(ctx, rg, name, nil)
		_, err = await(ctx, a, p, err)
		return err
	})
}

func (c Cloud) power(ctx context.Context, cfg *config.Config, id, want string, op func(*api, string, string) error) error {
	a, rg, name, err := c.vm(cfg, id)
	if err != nil {
		return err
	}
	if err := op(a, rg, name); err != nil {
		return wrap(fmt.Sprintf("azure: make virtual machine %s %s", name, want), err)
	}
	// The operation ends when Azure accepted the state; confirm it.
	_, err = a.waitState(ctx, rg, name, want, false)
	return err
}
