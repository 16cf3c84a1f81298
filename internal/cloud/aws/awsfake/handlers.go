package awsfake

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// EC2's timestamp format in XML answers.
const isoMillis = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoMillis) }

type handler func(f *Fake, r *req) ([]elem, *apiError)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"GetCallerIdentity":             getCallerIdentity,
		"DescribeImages":                describeImages,
		"DeregisterImage":               deregisterImage,
		"DeleteSnapshot":                deleteSnapshot,
		"EnableImageDeprecation":        enableImageDeprecation,
		"RunInstances":                  runInstances,
		"DescribeInstances":             describeInstances,
		"TerminateInstances":            terminateInstances,
		"StopInstances":                 stopInstances,
		"StartInstances":                startInstances,
		"CreateSecurityGroup":           createSecurityGroup,
		"AuthorizeSecurityGroupIngress": authorizeIngress,
		"DeleteSecurityGroup":           deleteSecurityGroup,
		"DescribeSecurityGroups":        describeSecurityGroups,
		"DescribeVolumes":               describeVolumes,
		"DeleteVolume":                  deleteVolume,
		"DescribeKeyPairs":              describeKeyPairs,
		"DeleteKeyPair":                 deleteKeyPair,
		"DescribeVpcs":                  describeVpcs,
		"DescribeSubnets":               describeSubnets,
	}
}

// Actions are the EC2 and STS actions the fake serves, sorted.
func Actions() []string {
	return slices.Sorted(maps.Keys(handlers))
}

func ret() []elem { return []elem{{"return", true}} }

func getCallerIdentity(f *Fake, r *req) ([]elem, *apiError) {
	return []elem{
		{"Arn", "arn:aws:iam::" + Account + ":user/sindri-fake-ci"},
		{"UserId", "AIDAFAKEFAKEFAKEFAKE1"},
		{"Account", Account},
	}, nil
}

// find returns the resource of kind id in the request's region.
func (f *Fake) find(kind, id, region string) *resource {
	if res := f.res[id]; res != nil && res.kind == kind && res.region == region {
		return res
	}
	return nil
}

// notFound is EC2's error for an ID of kind that does not exist (or is
// not in the request's region).
func notFound(kind, id string) *apiError {
	e := map[string]struct{ code, format string }{
		kindImage:    {"InvalidAMIID.NotFound", "The image id '[%s]' does not exist"},
		kindSnapshot: {"InvalidSnapshot.NotFound", "The snapshot '%s' does not exist."},
		kindGroup:    {"InvalidGroup.NotFound", "The security group '%s' does not exist"},
		kindInstance: {"InvalidInstanceID.NotFound", "The instance ID '%s' does not exist"},
		kindVolume:   {"InvalidVolume.NotFound", "The volume '%s' does not exist."},
		kindKeyPair:  {"InvalidKeyPair.NotFound", "The key pair '%s' does not exist"},
	}[kind]
	return &apiError{400, e.code, fmt.Sprintf(e.format, id)}
}

// sorted returns the region's resources of kind, by ID.
func (f *Fake) sorted(kind, region string) []*resource {
	var out []*resource
	for _, res := range f.res {
		if res.kind == kind && res.region == region {
			out = append(out, res)
		}
	}
	slices.SortFunc(out, func(a, b *resource) int { return strings.Compare(a.id, b.id) })
	return out
}

// attrs answer, per filter name a kind knows, a resource's value.
type attrs map[string]func(*resource) string

// selected returns the region's resources of kind that ids name (all when
// there are none) and that the request's filters select: a name in known,
// or tag:KEY and tag-key. Any other filter name is refused, as EC2 does,
// whether or not anything would match.
func (f *Fake) selected(r *req, kind string, ids []string, known attrs) ([]*resource, *apiError) {
	fs := r.filters()
	if err := checkFilters(fs, slices.Collect(maps.Keys(known))...); err != nil {
		return nil, err
	}
	var out []*resource
	for _, res := range f.sorted(kind, r.region) {
		if len(ids) > 0 && !slices.Contains(ids, res.id) {
			continue
		}
		ok, err := match(fs, func(name string) ([]string, bool) {
			if a, ok := known[name]; ok {
				return []string{a(res)}, true
			}
			return tagAttr(res.tags, name)
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, res)
		}
	}
	return out, nil
}

func idOf(r *resource) string    { return r.id }
func nameOf(r *resource) string  { return r.name }
func stateOf(r *resource) string { return r.state }
func vpcOf(r *resource) string   { return r.vpc }

// --- images ---

func describeImages(f *Fake, r *req) ([]elem, *apiError) {
	var owners []string
	for _, o := range r.list("Owner") {
		switch {
		case o == "self":
			owners = append(owners, Account)
		case o == "amazon" || accountID.MatchString(o):
			owners = append(owners, o)
		default:
			return nil, &apiError{400, "InvalidUserID.Malformed", fmt.Sprintf("Invalid user id: \"%s\"", o)}
		}
	}
	ids := r.list("ImageId")
	for _, id := range ids {
		if !strings.HasPrefix(id, "ami-") {
			return nil, &apiError{400, "InvalidAMIID.Malformed", fmt.Sprintf("Invalid id: \"%s\" (expecting \"ami-...\")", id)}
		}
		if im := f.find(kindImage, id, r.region); im == nil || !im.visible() {
			return nil, notFound(kindImage, id)
		}
	}
	sel, err := f.selected(r, kindImage, ids, attrs{
		"state": stateOf, "name": nameOf, "image-id": idOf, "owner-id": ownerOf,
		"root-device-type": func(*resource) string { return "ebs" }, "virtualization-type": func(*resource) string { return "hvm" },
		"architecture": func(*resource) string { return "x86_64" }, "is-public": func(im *resource) string { return strconv.FormatBool(im.isPublic) },
	})
	if err != nil {
		return nil, err
	}
	sel = slices.DeleteFunc(sel, func(im *resource) bool {
		return !im.visible() || (len(owners) > 0 && !slices.Contains(owners, ownerOf(im)))
	})
	for _, im := range sel {
		f.tickImage(im)
	}
	sel, next, err := page(f, r, sel, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	var out items[xImage]
	for _, im := range sel {
		out.Item = append(out.Item, xImageOf(im))
	}
	return withNext([]elem{{"imagesSet", out}}, next), nil
}

// accountID is a 12-digit AWS account ID.
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// visible: the account sees its own images and public ones.
func (im *resource) visible() bool { return im.owner == "" || im.owner == Account || im.isPublic }

func ownerOf(r *resource) string { return cmp.Or(r.owner, Account) }

func xImageOf(im *resource) xImage {
	// Deprecated AMIs are always shown to their owner, whatever
	// IncludeDeprecated says.
	x := xImage{
		ImageID: im.id, ImageLocation: ownerOf(im) + "/" + im.name, ImageState: im.state, OwnerID: ownerOf(im),
		CreationDate: iso(im.created), IsPublic: im.isPublic, Architecture: "x86_64", ImageType: "machine", Name: im.name,
		Description: im.desc, RootDeviceType: "ebs", RootDeviceName: "/dev/sda1", VirtualizationType: "hvm",
		Hypervisor: "xen", EnaSupport: true, TagSet: xtags(im.tags),
	}
	for _, s := range im.snapshots {
		x.BlockDeviceMapping.Item = append(x.BlockDeviceMapping.Item, xBDM{DeviceName: "/dev/sda1", EBS: xEBS{SnapshotID: s, VolumeSize: 80, DeleteOnTermination: true, VolumeType: "gp3", Encrypted: im.encrypted}})
	}
	if !im.deprecation.IsZero() {
		x.DeprecationTime = iso(im.deprecation)
	}
	return x
}

// remove deletes the resource of kind that the request's idKey names in
// its region and answers with answer, unless refuse (nil: never) gives
// the error EC2 answers while the resource is in use.
func (f *Fake) remove(r *req, kind, idKey string, refuse func(*resource) *apiError, answer []elem) ([]elem, *apiError) {
	id := r.get(idKey)
	res := f.find(kind, id, r.region)
	if res == nil {
		return nil, notFound(kind, id)
	}
	if refuse != nil {
		if err := refuse(res); err != nil {
			return nil, err
		}
	}
	delete(f.res, id)
	return answer, nil
}

func deregisterImage(f *Fake, r *req) ([]elem, *apiError) {
	return f.remove(r, kindImage, "ImageId", nil, ret())
}

func deleteSnapshot(f *Fake, r *req) ([]elem, *apiError) {
	return f.remove(r, kindSnapshot, "SnapshotId", func(snap *resource) *apiError {
		for _, im := range f.sorted(kindImage, r.region) {
			if slices.Contains(im.snapshots, snap.id) {
				return &apiError{400, "InvalidSnapshot.InUse", fmt.Sprintf("The snapshot %s is currently in use by %s", snap.id, im.id)}
			}
		}
		return nil
	}, ret())
}

func enableImageDeprecation(f *Fake, r *req) ([]elem, *apiError) {
	id := r.get("ImageId")
	im := f.find(kindImage, id, r.region)
	if im == nil {
		return nil, notFound(kindImage, id)
	}
	at, err := time.Parse(time.RFC3339Nano, r.get("DeprecateAt"))
	if err != nil {
		return nil, &apiError{400, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter deprecateAt is invalid.", r.get("DeprecateAt"))}
	}
	if !at.After(time.Now()) {
		return nil, &apiError{400, "InvalidParameterValue", "The deprecation time must be in the future."}
	}
	im.deprecation = at.Truncate(time.Minute)
	return ret(), nil
}

// --- instances ---

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func runInstances(f *Fake, r *req) ([]elem, *apiError) {
	if r.get("MinCount") != "1" || r.get("MaxCount") != "1" {
		return nil, &apiError{400, "InvalidParameterValue", "the fake launches exactly one instance (MinCount=MaxCount=1)"}
	}
	if r.get("InstanceType") == "" {
		return nil, &apiError{400, "MissingParameter", "The request must contain the parameter InstanceType"}
	}
	img := f.find(kindImage, r.get("ImageId"), r.region)
	if img == nil || img.state != "available" {
		return nil, notFound(kindImage, r.get("ImageId"))
	}
	// The SDK sends one ClientToken for all attempts of a call: a retry
	// gets the instance the first attempt made.
	if tok := r.get("ClientToken"); tok != "" {
		for _, in := range f.sorted(kindInstance, r.region) {
			if in.token == tok {
				return f.reservation(in), nil
			}
		}
	}
	nics := r.count("NetworkInterface")
	if nics > 0 && (r.get("SubnetId") != "" || len(r.list("SecurityGroupId")) > 0) {
		return nil, &apiError{400, "InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request"}
	}
	subnet, groups, public := r.get("SubnetId"), r.list("SecurityGroupId"), false
	if nics > 0 {
		subnet, groups = r.get("NetworkInterface.1.SubnetId"), r.list("NetworkInterface.1.SecurityGroupId")
		public = r.get("NetworkInterface.1.AssociatePublicIpAddress") == "true"
	}
	if subnet == "" {
		subnet = DefaultSubnet
	}
	vpc := ""
	for _, s := range f.subnets(r.region) {
		if s.SubnetID == subnet {
			vpc = s.VpcID
		}
	}
	if vpc == "" {
		return nil, &apiError{400, "InvalidSubnetID.NotFound", fmt.Sprintf("The subnet ID '%s' does not exist", subnet)}
	}
	for _, g := range groups {
		sg := f.find(kindGroup, g, r.region)
		if sg == nil {
			return nil, notFound(kindGroup, g)
		}
		if sg.vpc != vpc {
			return nil, &apiError{400, "InvalidParameter", fmt.Sprintf("Security group %s and subnet %s belong to different networks.", g, subnet)}
		}
	}
	ud, err := base64.StdEncoding.DecodeString(r.get("UserData"))
	if err != nil {
		return nil, &apiError{400, "InvalidParameterValue", "Invalid BASE64 encoding of user data."}
	}
	specs, aerr := r.tagSpecs()
	if aerr != nil {
		return nil, aerr
	}
	in := f.addInstance(InstanceSpec{Region: r.region, ImageID: img.id, State: "pending", Tags: specs["instance"], Groups: groups, Created: time.Now().UTC().Truncate(time.Second)}, public)
	in.instanceType, in.subnet, in.vpc, in.userData = r.get("InstanceType"), subnet, vpc, string(ud)
	in.shutdown = or(r.get("InstanceInitiatedShutdownBehavior"), "stop")
	in.token = r.get("ClientToken")
	in.keyName, in.unseen = r.get("KeyName"), f.unseen
	in.metadata = Metadata{
		HTTPTokens: or(r.get("MetadataOptions.HttpTokens"), "optional"), HTTPEndpoint: or(r.get("MetadataOptions.HttpEndpoint"), "enabled"), HopLimit: 1,
	}
	if n, err := strconv.Atoi(r.get("MetadataOptions.HttpPutResponseHopLimit")); err == nil {
		in.metadata.HopLimit = n
	}
	f.res[in.volume].tags = cloudtest.CopyTags(specs["volume"])
	f.transition(in, "running")
	if f.launchErr != nil {
		in.reason, f.launchErr = f.launchErr, nil
	}
	return f.reservation(in), nil
}

func (f *Fake) reservation(in *resource) []elem {
	x := f.xinstance(in)
	return []elem{
		{"reservationId", "r-" + strings.TrimPrefix(in.id, "i-")},
		{"ownerId", Account},
		{"groupSet", items[xGroupID]{}},
		{"instancesSet", items[xInstance]{Item: []xInstance{x}}},
	}
}

// transition starts a state change that completes after f.ticks
// DescribeInstances calls.
func (f *Fake) transition(in *resource, next string) {
	in.next, in.steps = next, f.ticks
	if in.state == "pending" || next != "running" {
		return
	}
	in.state = "pending"
}

// advance counts one poll of a pending state change: once its polls are
// used up it returns the state the change ends in, and clears it.
func (r *resource) advance() (string, bool) {
	if r.next == "" {
		return "", false
	}
	if r.steps > 0 {
		r.steps--
		return "", false
	}
	next := r.next
	r.next = ""
	return next, true
}

// tick advances an instance one DescribeInstances call.
func (f *Fake) tick(in *resource) {
	next, ok := in.advance()
	if !ok {
		return
	}
	if next == "running" && in.reason != nil {
		// The instance could not start: EC2 ends it.
		in.state = "terminated"
		f.terminated(in)
		return
	}
	in.state = next
	switch next {
	case "running":
		if in.public {
			in.ip = f.publicIP
		}
	case "stopped":
		in.ip = ""
	case "terminated":
		f.terminated(in)
	}
}

// terminated releases what an instance took with it.
func (f *Fake) terminated(in *resource) {
	in.ip = ""
	for _, g := range in.groups {
		if sg := f.res[g]; sg != nil {
			sg.lingering = f.lingering
		}
	}
	if in.volume != "" {
		delete(f.res, in.volume)
	}
}

func (f *Fake) xinstance(in *resource) xInstance {
	x := xInstance{
		InstanceID: in.id, ImageID: in.imageID, State: xState{stateCodes[in.state], in.state},
		PrivateDNSName: "ip-10-0-0-10." + in.region + ".compute.internal", InstanceType: in.instanceType,
		LaunchTime: iso(in.created), Placement: xPlacement{in.region + "a", "default"},
		SubnetID: in.subnet, VpcID: in.vpc, PrivateIPAddress: "10.0.0.10", IPAddress: in.ip,
		RootDeviceType: "ebs", RootDeviceName: "/dev/sda1", TagSet: xtags(in.tags),
		KeyName:         in.keyName,
		MetadataOptions: xMetadata{State: "applied", HTTPTokens: in.metadata.HTTPTokens, HTTPEndpoint: in.metadata.HTTPEndpoint, HopLimit: in.metadata.HopLimit},
	}
	if in.state == "terminated" {
		x.PrivateIPAddress, x.SubnetID, x.VpcID = "", "", ""
	}
	for _, g := range in.groups {
		name := ""
		if sg := f.res[g]; sg != nil {
			name = sg.name
		}
		x.GroupSet.Item = append(x.GroupSet.Item, xGroupID{g, name})
	}
	if in.reason != nil && in.state == "terminated" {
		x.StateReason = &xReason{in.reason.code, in.reason.message}
	} else if in.state == "terminated" {
		x.StateReason = &xReason{"Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"}
	}
	if in.volume != "" && in.state != "terminated" {
		x.BlockDeviceMapping.Item = []xInstBDM{{"/dev/sda1", xInstEBS{in.volume, "attached", true}}}
	}
	return x
}

// instances checks that the instances the request names exist and
// returns them (all in the region when it names none).
func (f *Fake) instances(r *req) ([]*resource, *apiError) {
	ids := r.list("InstanceId")
	for _, id := range ids {
		if _, err := f.seen(id, r.region); err != nil {
			return nil, err
		}
	}
	var out []*resource
	for _, in := range f.sorted(kindInstance, r.region) {
		if (len(ids) == 0 && in.unseen == 0) || slices.Contains(ids, in.id) {
			out = append(out, in)
		}
	}
	return out, nil
}

// seen finds an instance a call names: InvalidInstanceID.NotFound when it
// does not exist, or while its consistency window lasts (one call less).
func (f *Fake) seen(id, region string) (*resource, *apiError) {
	in := f.find(kindInstance, id, region)
	if in != nil && in.unseen > 0 {
		in.unseen--
		f.stale++
		in = nil
	}
	if in == nil {
		return nil, notFound(kindInstance, id)
	}
	return in, nil
}

// describeInstances advances every instance it is asked about one step
// before it answers.
func describeInstances(f *Fake, r *req) ([]elem, *apiError) {
	all, err := f.instances(r)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		f.tick(in)
	}
	ids := r.list("InstanceId")
	sel, err := f.selected(r, kindInstance, ids, attrs{
		"instance-state-name": stateOf, "instance-id": idOf, "vpc-id": vpcOf,
		"image-id":  func(in *resource) string { return in.imageID },
		"subnet-id": func(in *resource) string { return in.subnet },
	})
	if err != nil {
		return nil, err
	}
	sel = slices.DeleteFunc(sel, func(in *resource) bool { return !slices.Contains(all, in) })
	sel, next, err := page(f, r, sel, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	var out items[xReservation]
	for _, in := range sel {
		out.Item = append(out.Item, xReservation{
			ReservationID: "r-" + strings.TrimPrefix(in.id, "i-"), OwnerID: Account,
			InstancesSet: items[xInstance]{Item: []xInstance{f.xinstance(in)}},
		})
	}
	return withNext([]elem{{"reservationSet", out}}, next), nil
}

// changeState answers Terminate/Stop/StartInstances.
func (f *Fake) changeState(r *req, allowed []string, next string) ([]elem, *apiError) {
	if len(r.list("InstanceId")) == 0 {
		return nil, &apiError{400, "MissingParameter", "The request must contain the parameter InstanceId"}
	}
	all, aerr := f.instances(r)
	if aerr != nil {
		return nil, aerr
	}
	var out items[xStateChange]
	for _, in := range all {
		prev := in.state
		switch {
		case in.state == next || (in.next == next):
		case slices.Contains(allowed, in.state):
			in.state = map[string]string{"terminated": "shutting-down", "stopped": "stopping", "running": "pending"}[next]
			f.transition(in, next)
		default:
			return nil, &apiError{400, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a state from which it can be %s.", in.id, map[string]string{"terminated": "terminated", "stopped": "stopped", "running": "started"}[next])}
		}
		out.Item = append(out.Item, xStateChange{in.id, xState{stateCodes[in.state], in.state}, xState{stateCodes[prev], prev}})
	}
	return []elem{{"instancesSet", out}}, nil
}

func terminateInstances(f *Fake, r *req) ([]elem, *apiError) {
	return f.changeState(r, []string{"pending", "running", "stopping", "stopped"}, "terminated")
}

func stopInstances(f *Fake, r *req) ([]elem, *apiError) {
	return f.changeState(r, []string{"running", "pending"}, "stopped")
}

func startInstances(f *Fake, r *req) ([]elem, *apiError) {
	return f.changeState(r, []string{"stopped"}, "running")
}

// --- security groups ---

func createSecurityGroup(f *Fake, r *req) ([]elem, *apiError) {
	name, desc, vpc := r.get("GroupName"), r.get("GroupDescription"), r.get("VpcId")
	if name == "" || desc == "" {
		return nil, &apiError{400, "MissingParameter", "The request must contain the parameter GroupName and GroupDescription"}
	}
	if vpc == "" {
		vpc = DefaultVPC
	}
	if vpc != DefaultVPC && vpc != OtherVPC {
		return nil, &apiError{400, "InvalidVpcID.NotFound", fmt.Sprintf("The vpc ID '%s' does not exist", vpc)}
	}
	for _, g := range f.sorted(kindGroup, r.region) {
		if g.name == name && g.vpc == vpc {
			return nil, &apiError{400, "InvalidGroup.Duplicate", fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, vpc)}
		}
	}
	specs, aerr := r.tagSpecs()
	if aerr != nil {
		return nil, aerr
	}
	g := f.add(&resource{kind: kindGroup, id: f.newID("sg"), name: name, desc: desc, vpc: vpc, region: r.region, tags: specs["security-group"], created: time.Now().UTC()})
	return []elem{{"groupId", g.id}, {"tagSet", xtags(g.tags)}}, nil
}

func authorizeIngress(f *Fake, r *req) ([]elem, *apiError) {
	g := f.find(kindGroup, r.get("GroupId"), r.region)
	if g == nil {
		return nil, notFound(kindGroup, r.get("GroupId"))
	}
	for i := 1; i <= r.count("IpPermissions"); i++ {
		p := "IpPermissions." + strconv.Itoa(i)
		from, _ := strconv.Atoi(r.get(p + ".FromPort"))
		to, _ := strconv.Atoi(r.get(p + ".ToPort"))
		for j := 1; j <= r.count(p+".IpRanges"); j++ {
			g.ingress = append(g.ingress, Rule{r.get(p + ".IpProtocol"), from, to, r.get(p + ".IpRanges." + strconv.Itoa(j) + ".CidrIp")})
		}
		for j := 1; j <= r.count(p+".Ipv6Ranges"); j++ {
			g.ingress = append(g.ingress, Rule{r.get(p + ".IpProtocol"), from, to, r.get(p + ".Ipv6Ranges." + strconv.Itoa(j) + ".CidrIpv6")})
		}
	}
	return ret(), nil
}

func deleteSecurityGroup(f *Fake, r *req) ([]elem, *apiError) {
	id := r.get("GroupId")
	return f.remove(r, kindGroup, "GroupId", func(g *resource) *apiError {
		dependent := g.lingering > 0
		if dependent {
			g.lingering--
			f.stale++
		}
		for _, in := range f.sorted(kindInstance, r.region) {
			dependent = dependent || (in.state != "terminated" && slices.Contains(in.groups, id))
		}
		if dependent {
			return &apiError{400, "DependencyViolation", fmt.Sprintf("resource %s has a dependent object", id)}
		}
		return nil
	}, []elem{{"return", true}, {"groupId", id}})
}

func describeSecurityGroups(f *Fake, r *req) ([]elem, *apiError) {
	ids := r.list("GroupId")
	for _, id := range ids {
		if f.find(kindGroup, id, r.region) == nil {
			return nil, notFound(kindGroup, id)
		}
	}
	sel, err := f.selected(r, kindGroup, ids, attrs{"group-id": idOf, "group-name": nameOf, "vpc-id": vpcOf})
	if err != nil {
		return nil, err
	}
	sel, next, err := page(f, r, sel, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	var out items[xGroup]
	for _, g := range sel {
		x := xGroup{OwnerID: Account, GroupID: g.id, GroupName: g.name, GroupDescription: g.desc, VpcID: g.vpc, TagSet: xtags(g.tags)}
		for _, rule := range g.ingress {
			x.IPPermissions.Item = append(x.IPPermissions.Item, xIPPermission{rule.Protocol, rule.From, rule.To, items[xIPRange]{Item: []xIPRange{{rule.CIDR}}}})
		}
		out.Item = append(out.Item, x)
	}
	return withNext([]elem{{"securityGroupInfo", out}}, next), nil
}

// --- volumes and key pairs ---

func describeVolumes(f *Fake, r *req) ([]elem, *apiError) {
	sel, err := f.selected(r, kindVolume, r.list("VolumeId"), attrs{
		"status": stateOf, "volume-id": idOf, "attachment.instance-id": func(v *resource) string { return v.attached },
	})
	if err != nil {
		return nil, err
	}
	sel, next, err := page(f, r, sel, len(r.list("VolumeId")) > 0)
	if err != nil {
		return nil, err
	}
	var out items[xVolume]
	for _, v := range sel {
		out.Item = append(out.Item, xVolume{v.id, v.size, v.region + "a", v.state, iso(v.created), "gp3", xtags(v.tags)})
	}
	return withNext([]elem{{"volumeSet", out}}, next), nil
}

func deleteVolume(f *Fake, r *req) ([]elem, *apiError) {
	return f.remove(r, kindVolume, "VolumeId", func(v *resource) *apiError {
		if v.state == "in-use" {
			return &apiError{400, "VolumeInUse", fmt.Sprintf("Volume %s is currently attached to %s", v.id, v.attached)}
		}
		return nil
	}, ret())
}

func describeKeyPairs(f *Fake, r *req) ([]elem, *apiError) {
	sel, err := f.selected(r, kindKeyPair, r.list("KeyPairId"), attrs{"key-name": nameOf, "key-pair-id": idOf})
	if err != nil {
		return nil, err
	}
	names := r.list("KeyName")
	var out items[xKeyPair]
	for _, k := range sel {
		if len(names) == 0 || slices.Contains(names, k.name) {
			out.Item = append(out.Item, xKeyPair{k.id, k.name, "SHA256:fakefakefake", "ed25519", iso(k.created), xtags(k.tags)})
		}
	}
	return []elem{{"keySet", out}}, nil
}

// deleteKeyPair: EC2 answers success for a key name that does not exist,
// InvalidKeyPair.NotFound for an unknown key pair ID.
func deleteKeyPair(f *Fake, r *req) ([]elem, *apiError) {
	if id := r.get("KeyPairId"); id != "" {
		return f.remove(r, kindKeyPair, "KeyPairId", nil, []elem{{"return", true}, {"keyPairId", id}})
	}
	for _, k := range f.sorted(kindKeyPair, r.region) {
		if k.name == r.get("KeyName") {
			delete(f.res, k.id)
		}
	}
	return ret(), nil
}

// --- network ---

func describeVpcs(f *Fake, r *req) ([]elem, *apiError) {
	if err := checkFilters(r.filters(), "isDefault", "is-default", "vpc-id"); err != nil {
		return nil, err
	}
	fs := r.filters()
	var out items[xVpc]
	for _, v := range []xVpc{{DefaultVPC, Account, "available", "172.31.0.0/16", true}, {OtherVPC, Account, "available", "10.20.0.0/16", false}} {
		ok, err := match(fs, func(name string) ([]string, bool) {
			switch name {
			case "isDefault", "is-default":
				return []string{strconv.FormatBool(v.IsDefault)}, true
			case "vpc-id":
				return []string{v.VpcID}, true
			}
			return tagAttr(nil, name)
		})
		if err != nil {
			return nil, err
		}
		if ok && (len(r.list("VpcId")) == 0 || slices.Contains(r.list("VpcId"), v.VpcID)) {
			out.Item = append(out.Item, v)
		}
	}
	var next string
	var aerr *apiError
	if out.Item, next, aerr = page(f, r, out.Item, len(r.list("VpcId")) > 0); aerr != nil {
		return nil, aerr
	}
	return withNext([]elem{{"vpcSet", out}}, next), nil
}

func describeSubnets(f *Fake, r *req) ([]elem, *apiError) {
	if err := checkFilters(r.filters(), "vpc-id", "subnet-id"); err != nil {
		return nil, err
	}
	ids := r.list("SubnetId")
	all := f.subnets(r.region)
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(s xSubnet) bool { return s.SubnetID == id }) {
			return nil, &apiError{400, "InvalidSubnetID.NotFound", fmt.Sprintf("The subnet ID '%s' does not exist", id)}
		}
	}
	fs := r.filters()
	var out items[xSubnet]
	for _, s := range all {
		ok, err := match(fs, func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{s.VpcID}, true
			case "subnet-id":
				return []string{s.SubnetID}, true
			}
			return tagAttr(nil, name)
		})
		if err != nil {
			return nil, err
		}
		if ok && (len(ids) == 0 || slices.Contains(ids, s.SubnetID)) {
			out.Item = append(out.Item, s)
		}
	}
	var next string
	var aerr *apiError
	if out.Item, next, aerr = page(f, r, out.Item, len(ids) > 0); aerr != nil {
		return nil, aerr
	}
	return withNext([]elem{{"subnetSet", out}}, next), nil
}

// subnets are the account's fixed subnets, then the added ones.
func (f *Fake) subnets(region string) []xSubnet {
	all := []xSubnet{
		{DefaultSubnet, DefaultVPC, "available", "172.31.0.0/20", region + "a", true, true},
		{OtherSubnet, OtherVPC, "available", "10.20.1.0/24", region + "b", false, false},
	}
	for i, s := range f.extraSubnets {
		s.CidrBlock, s.AvailabilityZone = fmt.Sprintf("10.20.%d.0/24", i+2), region+"c"
		all = append(all, s)
	}
	return all
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
