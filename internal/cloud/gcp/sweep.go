package gcp

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

// runInDescription reads the run id a firewall rule's description records.
var runInDescription = regexp.MustCompile(regexp.QuoteMeta(cloud.TagRunID) + `=([^;\s]*)`)

// Leftovers returns the temporary instances, disks and firewall rules of
// the configured project and zone that match f. Images and deployments
// are never among them: only resources marked sindri-packer=temporary are.
func (g Cloud) Leftovers(ctx context.Context, c *config.Config, f cloud.SweepFilter) ([]cloud.Resource, error) {
	gc, err := gcpConfig(c)
	if err != nil {
		return nil, err
	}
	want := map[string]string{cloud.TagTemporary: cloud.Temporary}
	if f.RunID != "" {
		want[cloud.TagRunID] = LabelValue(f.RunID)
	}
	keep := func(r cloud.Resource) bool {
		if f.RunID != "" && LabelValue(r.RunID) != LabelValue(f.RunID) {
			return false
		}
		return f.OldEnough(r.Created)
	}
	ins, err := g.listInstances(ctx, gc, want)
	if err != nil {
		return nil, err
	}
	out := zonal(cloud.KindInstance, gc.Zone, ins, keep)
	disks, err := g.listDisks(ctx, gc, want)
	if err != nil {
		return nil, err
	}
	out = append(out, zonal(cloud.KindDisk, gc.Zone, disks, keep)...)

	rules, err := g.listTempFirewalls(ctx, gc)
	if err != nil {
		return nil, err
	}
	for _, fw := range rules {
		r := cloud.Resource{Kind: cloud.KindSecurityGroup, ID: fw.GetName(), Name: fw.GetName(), Region: "global",
			Created: parseTime(fw.GetCreationTimestamp())}
		if m := runInDescription.FindStringSubmatch(fw.GetDescription()); m != nil {
			r.RunID = m[1]
		}
		if keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// zonal are the labelled resources of zone that keep selects, as
// leftovers of kind.
func zonal[T interface {
	labelled
	GetName() string
}](kind, zone string, items []T, keep func(cloud.Resource) bool) []cloud.Resource {
	var out []cloud.Resource
	for _, it := range items {
		r := cloud.Resource{Kind: kind, ID: it.GetName(), Name: it.GetName(), Region: zone,
			RunID: it.GetLabels()[cloud.TagRunID], Created: parseTime(it.GetCreationTimestamp())}
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func (g Cloud) listDisks(ctx context.Context, gc *config.GCP, want map[string]string) ([]*computepb.Disk, error) {
	k := g.newClients(ctx)
	defer k.Close()
	dc, err := k.Disks()
	if err != nil {
		return nil, err
	}
	return listOurs[*computepb.Disk](ctx, g, "list disks in zone "+gc.Zone, want, func(ctx context.Context, filter *string) *compute.DiskIterator {
		return dc.List(ctx, &computepb.ListDisksRequest{Project: gc.ProjectID, Zone: gc.Zone, Filter: filter}, noSDKRetry)
	})
}

// listTempFirewalls returns the rules named like a temporary SSH rule
// whose description marks them temporary (a name alone could be anyone's).
func (g Cloud) listTempFirewalls(ctx context.Context, gc *config.GCP) ([]*computepb.Firewall, error) {
	k := g.newClients(ctx)
	defer k.Close()
	fc, err := k.Firewalls()
	if err != nil {
		return nil, err
	}
	// Firewalls have no labels: a regular-expression filter on the name.
	req := &computepb.ListFirewallsRequest{Project: gc.ProjectID, Filter: ptr("name eq " + regexp.QuoteMeta(tmpFirewallPrefix) + ".*")}
	out, err := list[*computepb.Firewall](ctx, g, "list firewalls in project "+gc.ProjectID, func(ctx context.Context) *compute.FirewallIterator {
		return fc.List(ctx, req, noSDKRetry)
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(fw *computepb.Firewall) bool {
		return !strings.HasPrefix(fw.GetName(), tmpFirewallPrefix) || !strings.Contains(fw.GetDescription(), tempMarker)
	}), nil
}

// DeleteResource deletes one leftover and waits until it is gone; one
// that is gone already succeeds.
func (g Cloud) DeleteResource(ctx context.Context, c *config.Config, r cloud.Resource) error {
	gc, err := gcpConfig(c)
	if err != nil {
		return err
	}
	k := g.newClients(ctx)
	defer k.Close()
	name := lastSegment(r.ID)
	switch r.Kind {
	case cloud.KindInstance:
		return g.deleteLeftoverInstance(ctx, k, gc, name)
	case cloud.KindSecurityGroup:
		return g.deleteFirewall(ctx, k, gc, name)
	case cloud.KindDisk:
		dc, err := k.Disks()
		if err != nil {
			return err
		}
		return g.remove(ctx, "delete disk "+name, func(ctx context.Context, rid *string) (operation, error) {
			return dc.Delete(ctx, &computepb.DeleteDiskRequest{Project: gc.ProjectID, Zone: gc.Zone, Disk: name, RequestId: rid}, noSDKRetry)
		})
	}
	return fmt.Errorf("gcp: delete %s %s: gcp has no resources of that kind", r.Kind, r.ID)
}

// deleteLeftoverInstance deletes a leftover instance with every disk
// attached to it. The googlecompute plugin makes the build's boot disk
// with autoDelete false and no labels (found by its plugin-driven test),
// so no later sweep could find that disk: each such disk is marked
// autoDelete first, and the instance's deletion takes it along even if
// this run stops half-way.
func (g Cloud) deleteLeftoverInstance(ctx context.Context, k *clients, gc *config.GCP, name string) error {
	ic, err := k.Instances()
	if err != nil {
		return err
	}
	var in *computepb.Instance
	err = g.call(ctx, "get instance "+name, func(ctx context.Context) error {
		var err error
		in, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, Instance: name}, noSDKRetry)
		return err
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range in.GetDisks() {
		if d.GetAutoDelete() {
			continue
		}
		dev := d.GetDeviceName()
		what := "set auto-delete of disk " + dev + " of instance " + name
		err := g.remove(ctx, what, func(ctx context.Context, rid *string) (operation, error) {
			return ic.SetDiskAutoDelete(ctx, &computepb.SetDiskAutoDeleteInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone,
				Instance: name, DeviceName: dev, AutoDelete: true, RequestId: rid}, noSDKRetry)
		})
		if err != nil {
			return err
		}
	}
	return g.deleteInstance(ctx, k, gc, name)
}
