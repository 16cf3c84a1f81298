package gcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
)

const (
	// Temporary firewall rules are named tmpFirewallPrefix + the part of
	// the instance name after tmpInstancePrefix; cleanup finds them by it
	// (firewalls carry no labels).
	tmpInstancePrefix = "sindri-test-"
	tmpFirewallPrefix = "sindri-tmp-"
	// Deployments' rules are long-lived and never swept.
	deployFirewallPrefix = "sindri-ssh-"
	// tempMarker in a firewall's description marks it temporary.
	tempMarker = cloud.TagTemporary + "=" + cloud.Temporary

	metaImage = "sindri-image" // instance metadata: the image it booted
	// teardownTimeout bounds the clean-up of a launch that failed.
	teardownTimeout = 5 * time.Minute
)

// resourceName adapts s to Compute Engine's name rule
// [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
func resourceName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "s-" + out
	}
	if len(out) > 63 {
		out = out[:63]
	}
	return strings.TrimRight(out, "-")
}

// firewallName is the SSH rule of the instance called name.
func firewallName(name string) string {
	if rest, ok := strings.CutPrefix(name, tmpInstancePrefix); ok {
		return resourceName(tmpFirewallPrefix + rest)
	}
	return resourceName(deployFirewallPrefix + name)
}

func instanceName(req cloud.LaunchRequest) string {
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	if !req.Temporary() {
		if req.Name != "" {
			return resourceName(req.Name)
		}
		return resourceName("sindri-" + req.Deployment)
	}
	// The random part keeps two launches of one run apart; it goes first
	// so that truncating a long run id cannot cut it.
	return resourceName(tmpInstancePrefix + hex.EncodeToString(suffix[:]) + "-" + LabelValue(req.RunID))
}

// labels adapts neutral tags to GCP labels: keys and values lower-case,
// values at most 63 characters.
func labels(tags ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		for k, v := range t {
			out[LabelValue(k)] = LabelValue(v)
		}
	}
	return out
}

// networkURL and subnetworkURL accept a name or a (partial) URL.
func networkURL(project, n string) string {
	switch {
	case n == "":
		return "projects/" + project + "/global/networks/default"
	case strings.Contains(n, "/"):
		return n
	}
	return "projects/" + project + "/global/networks/" + n
}

func subnetworkURL(project, zone, s string) string {
	if s == "" || strings.Contains(s, "/") {
		return s
	}
	region := zone
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		region = zone[:i]
	}
	return "projects/" + project + "/regions/" + region + "/subnetworks/" + s
}

func imageURL(project, id string) string {
	if strings.Contains(id, "/") {
		return id
	}
	return "projects/" + project + "/global/images/" + id
}

// Launch boots an instance from req.ImageID with an external address and
// a firewall rule opening port 22 to req.AllowSSHFrom only, waits until it
// runs and has its address, and removes what it made when any step fails.
func (g Cloud) Launch(ctx context.Context, req cloud.LaunchRequest) (inst *cloud.Instance, err error) {
	gc, err := gcpConfig(req.Config)
	if err != nil {
		return nil, err
	}
	if req.ImageID == "" {
		return nil, errors.New("gcp: launch: no image")
	}
	k := g.newClients(ctx)
	defer k.Close()
	name := instanceName(req)
	var made launched
	defer func() {
		if err != nil {
			err = g.undoLaunch(ctx, gc, name, made, err)
		}
	}()
	if err := g.insertFirewall(ctx, k, gc, firewallRule(req, gc, name)); err != nil {
		return nil, err
	}
	made.firewall = true
	got, err := g.insertInstance(ctx, k, gc, instanceResource(req, gc, name), &made.instance)
	if err != nil {
		return nil, err
	}
	out := toInstance(got, gc)
	out.User = req.User
	out.Handle = req.Config
	return &out, nil
}

// launched is what a launch has made so far: what undoLaunch removes.
type launched struct{ firewall, instance bool }

// undoLaunch removes what a failed launch made and returns its error. It
// uses a fresh context: a cancelled launch must still clean up.
func (g Cloud) undoLaunch(ctx context.Context, gc *config.GCP, name string, made launched, err error) error {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	k := g.newClients(tctx)
	defer k.Close()
	var errs []error
	if made.instance {
		errs = append(errs, g.deleteInstance(tctx, k, gc, name))
	}
	if made.firewall {
		errs = append(errs, g.deleteFirewall(tctx, k, gc, firewallName(name)))
	}
	if cerr := errors.Join(errs...); cerr != nil {
		return fmt.Errorf("%w (clean-up failed too: %v)", err, cerr)
	}
	return err
}

// firewallRule opens port 22 of the instance called name (its network
// tag) to req.AllowSSHFrom, or to everyone when that is empty.
func firewallRule(req cloud.LaunchRequest, gc *config.GCP, name string) *computepb.Firewall {
	allow := req.AllowSSHFrom
	if allow == "" {
		allow = "0.0.0.0/0"
	}
	desc := fmt.Sprintf("sindri-packer: ssh to instance %s; %s=%s", name, cloud.TagRunID, req.RunID)
	if req.Temporary() {
		desc += "; " + tempMarker
	} else {
		desc += "; " + cloud.TagDeployment + "=" + req.Deployment
	}
	return &computepb.Firewall{
		Name:         ptr(firewallName(name)),
		Description:  ptr(desc),
		Network:      ptr(networkURL(gc.ProjectID, gc.Network)),
		Direction:    ptr("INGRESS"),
		Priority:     ptr(int32(1000)),
		Allowed:      []*computepb.Allowed{{IPProtocol: ptr("tcp"), Ports: []string{"22"}}},
		SourceRanges: []string{allow},
		TargetTags:   []string{name},
	}
}

// instanceResource is the instance a launch inserts: labelled, with an
// auto-delete boot disk from req.ImageID, an external address and the
// one-off SSH key and user data in its metadata.
func instanceResource(req cloud.LaunchRequest, gc *config.GCP, name string) *computepb.Instance {
	tags := labels(gc.Labels, cloud.InstanceTags(req))
	network := networkURL(gc.ProjectID, gc.Network)
	zone := gc.Zone
	resource := &computepb.Instance{
		Name:        ptr(name),
		Description: ptr("sindri-packer instance of run " + req.RunID),
		MachineType: ptr("zones/" + zone + "/machineTypes/" + gc.MachineType),
		Labels:      tags,
		Tags:        &computepb.Tags{Items: []string{name}},
		Disks: []*computepb.AttachedDisk{{
			Boot:       ptr(true),
			AutoDelete: ptr(true),
			Type:       ptr("PERSISTENT"),
			InitializeParams: &computepb.AttachedDiskInitializeParams{
				SourceImage: ptr(imageURL(gc.ProjectID, req.ImageID)),
				DiskSizeGb:  ptr(int64(gc.DiskSize)),
				DiskType:    ptr("zones/" + zone + "/diskTypes/" + gc.DiskType),
				Labels:      maps.Clone(tags),
			},
		}},
		NetworkInterfaces: []*computepb.NetworkInterface{{
			Network:       ptr(network),
			AccessConfigs: []*computepb.AccessConfig{{Name: ptr("External NAT"), Type: ptr("ONE_TO_ONE_NAT")}},
		}},
		Metadata: &computepb.Metadata{Items: []*computepb.Items{
			{Key: ptr("user-data"), Value: ptr(cloud.UserData(req))},
			{Key: ptr("ssh-keys"), Value: ptr(req.User + ":" + req.PublicKey)},
			// Only the one-off key: no project-wide keys on this instance.
			{Key: ptr("block-project-ssh-keys"), Value: ptr("true")},
			{Key: ptr(metaImage), Value: ptr(req.ImageID)},
		}},
	}
	if sub := subnetworkURL(gc.ProjectID, zone, gc.Subnetwork); sub != "" {
		resource.NetworkInterfaces[0].Subnetwork = ptr(sub)
	}
	if gc.EnableSecureBoot {
		resource.ShieldedInstanceConfig = &computepb.ShieldedInstanceConfig{EnableSecureBoot: ptr(true)}
	}
	return resource
}

// insertInstance inserts the instance, sets *made once it may exist (even
// when its operation fails later), and waits until it runs with its
// external address.
func (g Cloud) insertInstance(ctx context.Context, k *clients, gc *config.GCP, in *computepb.Instance, made *bool) (*computepb.Instance, error) {
	ic, err := k.Instances()
	if err != nil {
		return nil, err
	}
	what := "insert instance " + in.GetName()
	op, err := g.send(ctx, what, func(ctx context.Context, rid *string) (operation, error) {
		return ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, InstanceResource: in, RequestId: rid}, noSDKRetry)
	})
	if err != nil {
		return nil, err
	}
	*made = true
	if err := g.wait(ctx, what, op); err != nil {
		return nil, err
	}
	return g.waitState(ctx, ic, gc, in.GetName(), "RUNNING")
}

// waitState polls the instance until its status is want (and, for
// RUNNING, until it has its external address).
func (g Cloud) waitState(ctx context.Context, ic *compute.InstancesClient, gc *config.GCP, name, want string) (*computepb.Instance, error) {
	what := fmt.Sprintf("wait for instance %s to be %s", name, strings.ToLower(want))
	var got *computepb.Instance
	err := g.tuning().Poll(ctx, "gcp: "+what, func(ctx context.Context) (bool, error) {
		err := g.call(ctx, what, func(ctx context.Context) error {
			var err error
			got, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, Instance: name}, noSDKRetry)
			return err
		})
		if err != nil {
			return false, err
		}
		st := got.GetStatus()
		if st == want && (want != "RUNNING" || natIP(got) != "") {
			return true, nil
		}
		// A boot that failed ends stopped: waiting longer cannot help.
		if want == "RUNNING" && (st == "TERMINATED" || st == "STOPPED" || st == "SUSPENDED") {
			return false, fmt.Errorf("gcp: %s: it is %s", what, state(st))
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

func natIP(in *computepb.Instance) string {
	for _, ni := range in.GetNetworkInterfaces() {
		for _, ac := range ni.GetAccessConfigs() {
			if ip := ac.GetNatIP(); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// state is the neutral word for an instance status. GCP calls a stopped
// instance TERMINATED although it still exists; say stopped.
func state(s string) string {
	if s == "TERMINATED" {
		return "stopped"
	}
	return strings.ToLower(s)
}

func toInstance(in *computepb.Instance, gc *config.GCP) cloud.Instance {
	l := in.GetLabels()
	out := cloud.Instance{
		ID:         in.GetName(),
		Host:       natIP(in),
		Port:       22,
		Name:       in.GetName(),
		State:      state(in.GetStatus()),
		RunID:      l[cloud.TagRunID],
		Deployment: l[cloud.TagDeployment],
		Temporary:  l[cloud.TagTemporary] == cloud.Temporary,
		Created:    parseTime(in.GetCreationTimestamp()),
		Region:     gc.Zone,
	}
	if z := in.GetZone(); z != "" {
		out.Region = lastSegment(z)
	}
	for _, it := range in.GetMetadata().GetItems() {
		switch it.GetKey() {
		case metaImage:
			out.ImageID = it.GetValue()
		case "ssh-keys":
			if u, _, ok := strings.Cut(it.GetValue(), ":"); ok {
				out.User = u
			}
		}
	}
	return out
}

func (g Cloud) insertFirewall(ctx context.Context, k *clients, gc *config.GCP, rule *computepb.Firewall) error {
	fw, err := k.Firewalls()
	if err != nil {
		return err
	}
	what := "insert firewall " + rule.GetName()
	op, err := g.send(ctx, what, func(ctx context.Context, rid *string) (operation, error) {
		return fw.Insert(ctx, &computepb.InsertFirewallRequest{Project: gc.ProjectID, FirewallResource: rule, RequestId: rid}, noSDKRetry)
	})
	if err != nil {
		return err
	}
	return g.wait(ctx, what, op)
}

// deleteFirewall deletes a rule and waits; one that is gone succeeds.
func (g Cloud) deleteFirewall(ctx context.Context, k *clients, gc *config.GCP, name string) error {
	fw, err := k.Firewalls()
	if err != nil {
		return err
	}
	return g.remove(ctx, "delete firewall "+name, func(ctx context.Context, rid *string) (operation, error) {
		return fw.Delete(ctx, &computepb.DeleteFirewallRequest{Project: gc.ProjectID, Firewall: name, RequestId: rid}, noSDKRetry)
	})
}

// deleteInstance deletes an instance (its boot disk goes with it) and
// waits until it is gone; one that is gone succeeds.
func (g Cloud) deleteInstance(ctx context.Context, k *clients, gc *config.GCP, name string) error {
	ic, err := k.Instances()
	if err != nil {
		return err
	}
	return g.remove(ctx, "delete instance "+name, func(ctx context.Context, rid *string) (operation, error) {
		return ic.Delete(ctx, &computepb.DeleteInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, Instance: name, RequestId: rid}, noSDKRetry)
	})
}

// Terminate deletes a launched instance and its firewall rule; it
// succeeds when they are gone already.
func (g Cloud) Terminate(ctx context.Context, inst *cloud.Instance) error {
	c, ok := inst.Handle.(*config.Config)
	if !ok || c == nil {
		return errors.New("gcp: terminate: not an instance launched by the gcp target")
	}
	return g.TerminateInstance(ctx, c, inst.ID)
}

// TerminateInstance deletes the instance, waits until it is gone, then
// deletes its firewall rule.
func (g Cloud) TerminateInstance(ctx context.Context, c *config.Config, id string) error {
	gc, err := gcpConfig(c)
	if err != nil {
		return err
	}
	k := g.newClients(ctx)
	defer k.Close()
	name := lastSegment(id)
	return errors.Join(g.deleteInstance(ctx, k, gc, name), g.deleteFirewall(ctx, k, gc, firewallName(name)))
}

// ListInstances returns this tool's instances in the configured zone that
// match f, newest first.
func (g Cloud) ListInstances(ctx context.Context, c *config.Config, f cloud.InstanceFilter) ([]cloud.Instance, error) {
	gc, err := gcpConfig(c)
	if err != nil {
		return nil, err
	}
	want := f.Tags()
	for k, v := range want {
		want[k] = LabelValue(v) // labels hold only label values
	}
	ins, err := g.listInstances(ctx, gc, want)
	if err != nil {
		return nil, err
	}
	out := make([]cloud.Instance, 0, len(ins))
	for _, in := range ins {
		i := toInstance(in, gc)
		i.Handle = c
		out = append(out, i)
	}
	return out, nil
}

func (g Cloud) listInstances(ctx context.Context, gc *config.GCP, want map[string]string) ([]*computepb.Instance, error) {
	k := g.newClients(ctx)
	defer k.Close()
	ic, err := k.Instances()
	if err != nil {
		return nil, err
	}
	return listOurs[*computepb.Instance](ctx, g, "list instances in zone "+gc.Zone, want, func(ctx context.Context, filter *string) *compute.InstanceIterator {
		return ic.List(ctx, &computepb.ListInstancesRequest{Project: gc.ProjectID, Zone: gc.Zone, Filter: filter}, noSDKRetry)
	})
}

// StopInstance stops the instance and waits until it is stopped.
func (g Cloud) StopInstance(ctx context.Context, c *config.Config, id string) error {
	return g.power(ctx, c, id, "stop", "TERMINATED")
}

// StartInstance starts the instance and waits until it runs.
func (g Cloud) StartInstance(ctx context.Context, c *config.Config, id string) error {
	return g.power(ctx, c, id, "start", "RUNNING")
}

func (g Cloud) power(ctx context.Context, c *config.Config, id, verb, want string) error {
	gc, ic, done, err := open(ctx, g, c, (*clients).Instances)
	if err != nil {
		return err
	}
	defer done()
	name := lastSegment(id)
	thing := fmt.Sprintf("instance %s in zone %s", name, gc.Zone)
	err = g.sendAndWait(ctx, verb+" instance "+name, thing, func(ctx context.Context, rid *string) (operation, error) {
		if verb == "stop" {
			return ic.Stop(ctx, &computepb.StopInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, Instance: name, RequestId: rid}, noSDKRetry)
		}
		return ic.Start(ctx, &computepb.StartInstanceRequest{Project: gc.ProjectID, Zone: gc.Zone, Instance: name, RequestId: rid}, noSDKRetry)
	})
	if err != nil {
		return err
	}
	_, err = g.waitState(ctx, ic, gc, name, want)
	return err
}
