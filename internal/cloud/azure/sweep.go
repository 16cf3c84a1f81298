package azure

import (
	"context"
	"fmt"
	"slices"
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

// The resource types a launch and a build leave, lower-case as compared.
const (
	typeVM   = "microsoft.compute/virtualmachines"
	typeDisk = "microsoft.compute/disks"
	typeNSG  = "microsoft.network/networksecuritygroups"
	typeNIC  = "microsoft.network/networkinterfaces"
	typeIP   = "microsoft.network/publicipaddresses"
	typeVNet = "microsoft.network/virtualnetworks"
)

// sweepTypes are the types the sweeper handles, in the order they are
// deleted: a VM before its disk, a NIC before the IP and VNet it uses.
var sweepTypes = []struct{ typ, what string }{
	{typeVM, "virtual machine"},
	{typeDisk, "disk"},
	{typeNSG, "network security group"},
	{typeNIC, "network interface"},
	{typeIP, "public IP"},
	{typeVNet, "virtual network"},
}

func sweepOrder(typ string) int {
	return slices.IndexFunc(sweepTypes, func(t struct{ typ, what string }) bool { return t.typ == typ })
}

// Leftovers returns every VM, disk, NSG, NIC, public IP and VNet in the
// subscription tagged sindri-packer=temporary (Packer's own temporary
// resource groups included) that matches f. NICs, public IPs and VNets
// have Kind "network". Images and deployments never carry that tag on
// their own, and images are never listed.
func (c Cloud) Leftovers(ctx context.Context, cfg *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	a, err := c.api(cfg)
	if err != nil {
		return nil, err
	}
	var out []cloud.Resource
	err = a.eachTemporary(ctx, func(r cloud.Resource, tags map[string]*string) {
		if r, ok := leftover(f, r, tags); ok {
			out = append(out, r)
		}
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := sweepOrder(strings.ToLower(resourceType(out[i].ID))), sweepOrder(strings.ToLower(resourceType(out[j].ID)))
		if oi != oj {
			return oi < oj
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// leftover completes r from its tags and reports whether it is a
// temporary resource that f selects.
func leftover(f cloud.SweepFilter, r cloud.Resource, tags map[string]*string) (cloud.Resource, bool) {
	if tag(tags, cloud.TagTemporary) != cloud.Temporary || tag(tags, cloud.TagDeployment) != "" {
		return r, false
	}
	r.RunID = tag(tags, cloud.TagRunID)
	if f.RunID != "" && r.RunID != f.RunID {
		return r, false
	}
	if t, err := time.Parse(time.RFC3339, tag(tags, CreatedTag)); err == nil && r.Created.IsZero() {
		r.Created = t
	}
	return r, f.OldEnough(r.Created)
}

// eachTemporary calls fn with every VM, disk, NSG, NIC, public IP and
// VNet of the subscription and its tags.
func (a *api) eachTemporary(ctx context.Context, fn func(cloud.Resource, map[string]*string)) error {
	res := func(kind string, id, name, loc *string, created time.Time) cloud.Resource {
		return cloud.Resource{Kind: kind, ID: deref(id), Name: deref(name), Region: deref(loc), Created: created}
	}
	if err := each(ctx, "virtual machines", a.compute.NewVirtualMachinesClient().NewListAllPager(nil), func(r armcompute.VirtualMachinesClientListAllResponse) {
		for _, v := range r.Value {
			var created time.Time
			if v.Properties != nil {
				created = deref(v.Properties.TimeCreated)
			}
			fn(res(cloud.KindInstance, v.ID, v.Name, v.Location, created), v.Tags)
		}
	}); err != nil {
		return err
	}
	if err := each(ctx, "disks", a.compute.NewDisksClient().NewListPager(nil), func(r armcompute.DisksClientListResponse) {
		for _, d := range r.Value {
			var created time.Time
			if d.Properties != nil {
				created = deref(d.Properties.TimeCreated)
			}
			fn(res(cloud.KindDisk, d.ID, d.Name, d.Location, created), d.Tags)
		}
	}); err != nil {
		return err
	}
	if err := each(ctx, "network security groups", a.network.NewSecurityGroupsClient().NewListAllPager(nil), func(r armnetwork.SecurityGroupsClientListAllResponse) {
		for _, v := range r.Value {
			fn(res(cloud.KindSecurityGroup, v.ID, v.Name, v.Location, time.Time{}), v.Tags)
		}
	}); err != nil {
		return err
	}
	if err := each(ctx, "network interfaces", a.network.NewInterfacesClient().NewListAllPager(nil), func(r armnetwork.InterfacesClientListAllResponse) {
		for _, v := range r.Value {
			fn(res(cloud.KindNetwork, v.ID, v.Name, v.Location, time.Time{}), v.Tags)
		}
	}); err != nil {
		return err
	}
	if err := each(ctx, "public IPs", a.network.NewPublicIPAddressesClient().NewListAllPager(nil), func(r armnetwork.PublicIPAddressesClientListAllResponse) {
		for _, v := range r.Value {
			fn(res(cloud.KindNetwork, v.ID, v.Name, v.Location, time.Time{}), v.Tags)
		}
	}); err != nil {
		return err
	}
	return each(ctx, "virtual networks", a.network.NewVirtualNetworksClient().NewListAllPager(nil), func(r armnetwork.VirtualNetworksClientListAllResponse) {
		for _, v := range r.Value {
			fn(res(cloud.KindNetwork, v.ID, v.Name, v.Location, time.Time{}), v.Tags)
		}
	})
}

// listAll reads every page of p and returns the items items takes from
// each; the error names what was listed.
func listAll[P, T any](ctx context.Context, what string, p *runtime.Pager[P], items func(P) []T) ([]T, error) {
	var out []T
	err := each(ctx, what, p, func(page P) { out = append(out, items(page)...) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func each[T any](ctx context.Context, what string, p *runtime.Pager[T], fn func(T)) error {
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap("azure: list "+what, err)
		}
		fn(page)
	}
	return nil
}

func resourceType(id string) string {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return ""
	}
	return r.ResourceType.String()
}

// DeleteResource deletes one leftover by its resource ID and waits for
// it; gone already is success. A security group, public IP or virtual
// network that a temporary NIC still uses goes after that NIC.
func (c Cloud) DeleteResource(ctx context.Context, cfg *config.Config, r cloud.Resource) error {
	a, err := c.api(cfg)
	if err != nil {
		return err
	}
	id, err := arm.ParseResourceID(r.ID)
	if err != nil {
		return fmt.Errorf("azure: leftover %s: %w", r.ID, err)
	}
	typ := strings.ToLower(id.ResourceType.String())
	i := sweepOrder(typ)
	if i < 0 {
		return fmt.Errorf("azure: cannot sweep %s: resource type %s is not one this tool creates", r.ID, id.ResourceType.String())
	}
	switch typ {
	case typeNSG, typeIP, typeVNet:
		if err := a.deleteNICsUsing(ctx, id.ResourceGroupName, r.ID); err != nil {
			return err
		}
	}
	return wrap("azure: delete "+sweepTypes[i].what+" "+r.ID, gone(a.remove(ctx, typ, id.ResourceGroupName, id.Name)))
}

// remove deletes the resource of type typ (one of sweepTypes) and waits
// for the deletion.
func (a *api) remove(ctx context.Context, typ, rg, name string) error {
	var err error
	switch typ {
	case typeVM:
		p, perr := a.compute.NewVirtualMachinesClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	case typeDisk:
		p, perr := a.compute.NewDisksClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	case typeNSG:
		p, perr := a.network.NewSecurityGroupsClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	case typeNIC:
		p, perr := a.network.NewInterfacesClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	case typeIP:
		p, perr := a.network.NewPublicIPAddressesClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	case typeVNet:
		p, perr := a.network.NewVirtualNetworksClient().BeginDelete(ctx, rg, name, nil)
		_, err = await(ctx, a, p, perr)
	default:
		err = fmt.Errorf("azure: no deletion for resource type %s", typ)
	}
	return err
}

// deleteNICsUsing deletes the temporary NICs in rg that reference id (its
// NSG, public IP, or a subnet of it); Azure refuses to delete those first.
func (a *api) deleteNICsUsing(ctx context.Context, rg, id string) error {
	low := strings.ToLower(id)
	uses := func(ref *string) bool {
		r := strings.ToLower(deref(ref))
		return r != "" && (r == low || strings.HasPrefix(r, low+"/"))
	}
	nics := a.network.NewInterfacesClient()
	return each(ctx, "network interfaces", nics.NewListPager(rg, nil), func(page armnetwork.InterfacesClientListResponse) {
		for _, n := range page.Value {
			if n == nil || n.Properties == nil || tag(n.Tags, cloud.TagTemporary) != cloud.Temporary {
				continue
			}
			used := n.Properties.NetworkSecurityGroup != nil && uses(n.Properties.NetworkSecurityGroup.ID)
			for _, ipc := range n.Properties.IPConfigurations {
				if ipc == nil || ipc.Properties == nil {
					continue
				}
				if (ipc.Properties.Subnet != nil && uses(ipc.Properties.Subnet.ID)) || (ipc.Properties.PublicIPAddress != nil && uses(ipc.Properties.PublicIPAddress.ID)) {
					used = true
				}
			}
			if used {
				// Best effort: the delete that follows reports what remains.
				p, err := nics.BeginDelete(ctx, rg, deref(n.Name), nil)
				_, _ = await(ctx, a, p, err)
			}
		}
	})
}
