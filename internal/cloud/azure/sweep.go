package azure

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// Resource types the sweeper handles, in the order they are deleted
// within a kind: a NIC before the IP and VNet it uses.
var sweepOrder = map[string]int{
	"microsoft.compute/virtualmachines":       0,
	"microsoft.compute/disks":                 1,
	"microsoft.network/networksecuritygroups": 2,
	"microsoft.network/networkinterfaces":     3,
	"microsoft.network/publicipaddresses":     4,
	"microsoft.network/virtualnetworks":       5,
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
	add := func(kind, id, name, loc string, tags map[string]*string, created time.Time) {
		if tag(tags, cloud.TagTemporary) != cloud.Temporary || tag(tags, cloud.TagDeployment) != "" {
			return
		}
		run := tag(tags, cloud.TagRunID)
		if f.RunID != "" && run != f.RunID {
			return
		}
		if t, err := time.Parse(time.RFC3339, tag(tags, CreatedTag)); err == nil && created.IsZero() {
			created = t
		}
		// Without a creation time the resource may belong to a run in
		// progress: an age filter leaves it alone.
		if !f.Before.IsZero() && (created.IsZero() || !created.Before(f.Before)) {
			return
		}
		out = append(out, cloud.Resource{Kind: kind, ID: id, Name: name, Region: loc, RunID: run, Created: created})
	}
	vms := a.compute.NewVirtualMachinesClient().NewListAllPager(nil)
	for vms.More() {
		page, err := vms.NextPage(ctx)
		if err != nil {
			return nil, wrap("azure: list virtual machines", err)
		}
		for _, v := range page.Value {
			var created time.Time
			if v.Properties != nil {
				created = deref(v.Properties.TimeCreated)
			}
			add(cloud.KindInstance, deref(v.ID), deref(v.Name), deref(v.Location), v.Tags, created)
		}
	}
	disks := a.compute.NewDisksClient().NewListPager(nil)
	for disks.More() {
		page, err := disks.NextPage(ctx)
		if err != nil {
			return nil, wrap("azure: list disks", err)
		}
		for _, d := range page.Value {
			var created time.Time
			if d.Properties != nil {
				created = deref(d.Properties.TimeCreated)
			}
			add(cloud.KindDisk, deref(d.ID), deref(d.Name), deref(d.Location), d.Tags, created)
		}
	}
	if err := each(ctx, "network security groups", a.network.NewSecurityGroupsClient().NewListAllPager(nil), func(r armnetwork.SecurityGroupsClientListAllResponse) {
		for _, v := range r.Value {
			add(cloud.KindSecurityGroup, deref(v.ID), deref(v.Name), deref(v.Location), v.Tags, time.Time{})
		}
	}); err != nil {
		return nil, err
	}
	if err := each(ctx, "network interfaces", a.network.NewInterfacesClient().NewListAllPager(nil), func(r armnetwork.InterfacesClientListAllResponse) {
		for _, v := range r.Value {
			add(cloud.KindNetwork, deref(v.ID), deref(v.Name), deref(v.Location), v.Tags, time.Time{})
		}
	}); err != nil {
		return nil, err
	}
	if err := each(ctx, "public IPs", a.network.NewPublicIPAddressesClient().NewListAllPager(nil), func(r armnetwork.PublicIPAddressesClientListAllResponse) {
		for _, v := range r.Value {
			add(cloud.KindNetwork, deref(v.ID), deref(v.Name), deref(v.Location), v.Tags, time.Time{})
		}
	}); err != nil {
		return nil, err
	}
	if err := each(ctx, "virtual networks", a.network.NewVirtualNetworksClient().NewListAllPager(nil), func(r armnetwork.VirtualNetworksClientListAllResponse) {
		for _, v := range r.Value {
			add(cloud.KindNetwork, deref(v.ID), deref(v.Name), deref(v.Location), v.Tags, time.Time{})
		}
	}); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := sweepOrder[strings.ToLower(resourceType(out[i].ID))], sweepOrder[strings.ToLower(resourceType(out[j].ID))]
		if oi != oj {
			return oi < oj
		}
		return out[i].ID < out[j].ID
	})
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
	rg, name := id.ResourceGroupName, id.Name
	typ := strings.ToLower(id.ResourceType.String())
	switch typ {
	case "microsoft.network/networksecuritygroups", "microsoft.network/publicipaddresses", "microsoft.network/virtualnetworks":
		if err := a.deleteNICsUsing(ctx, rg, r.ID); err != nil {
			return err
		}
	}
	switch typ {
	case "microsoft.compute/virtualmachines":
		p, err := a.compute.NewVirtualMachinesClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete virtual machine "+r.ID, gone(err))
	case "microsoft.compute/disks":
		p, err := a.compute.NewDisksClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete disk "+r.ID, gone(err))
	case "microsoft.network/networksecuritygroups":
		p, err := a.network.NewSecurityGroupsClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete network security group "+r.ID, gone(err))
	case "microsoft.network/networkinterfaces":
		p, err := a.network.NewInterfacesClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete network interface "+r.ID, gone(err))
	case "microsoft.network/publicipaddresses":
		p, err := a.network.NewPublicIPAddressesClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete public IP "+r.ID, gone(err))
	case "microsoft.network/virtualnetworks":
		p, err := a.network.NewVirtualNetworksClient().BeginDelete(ctx, rg, name, nil)
		_, err = poll(ctx, a, p, err)
		return wrap("azure: delete virtual network "+r.ID, gone(err))
	}
	return fmt.Errorf("azure: cannot sweep %s: resource type %s is not one this tool creates", r.ID, id.ResourceType.String())
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
				_, _ = poll(ctx, a, p, err)
			}
		}
	})
}

// CheckCredentials gets a token through the standard chain and reads the
// configured subscription (a cheap ARM call any reader may make).
func (c Cloud) CheckCredentials(ctx context.Context, cfg *config.Config) (string, error) {
	a, err := c.api(cfg)
	if err != nil {
		return "", err
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, a.endpoint+"/subscriptions/"+a.sub)
	if err != nil {
		return "", fmt.Errorf("azure: check credentials: %w", err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", "2022-12-01")
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := a.pl.Do(req)
	if err != nil {
		return "", wrap("azure: read subscription "+a.sub, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return "", wrap("azure: read subscription "+a.sub, runtime.NewResponseError(resp))
	}
	var doc struct {
		SubscriptionID string `json:"subscriptionId"`
		DisplayName    string `json:"displayName"`
		State          string `json:"state"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &doc); err != nil {
		return "", fmt.Errorf("azure: read subscription %s: %w", a.sub, err)
	}
	desc := "subscription " + doc.SubscriptionID
	if doc.DisplayName != "" {
		desc += " (" + doc.DisplayName
		if doc.State != "" {
			desc += ", " + doc.State
		}
		desc += ")"
	}
	return desc, nil
}
