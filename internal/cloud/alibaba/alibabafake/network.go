package alibabafake

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The network the alicloud-ecs builder makes when the config names no
// VSwitch: a VPC, a VSwitch in a zone that offers the instance type, and
// an EIP for SSH. ECS 2014-05-26 carries the VPC actions itself.

type vpc struct {
	resource
	cidr, status string
	user         bool // the user's own network (VPCID): not in Live
}

type vswitch struct {
	resource
	vpc, zone, cidr, status string
	user                    bool
}

type eip struct {
	resource
	ip, status, instance, chargeType string
	bandwidth                        int
}

// instanceTypes are the types every zone of the fake offers.
var instanceTypes = []string{"ecs.g6.large", "ecs.g6.xlarge", "ecs.g7.large", "ecs.g7.2xlarge", "ecs.t6-c1m2.large"}

// zones of the fake's region; Zone holds the user's VSwitch.
var zones = []string{Zone, "cn-hangzhou-i"}

// placement checks the VSwitchId and SecurityGroupId of an instance to be:
// both exist in the region, the group in the VSwitch's VPC.
func (f *Fake) placement(p url.Values) (vsw, sg string, aerr *apiError) {
	vsw, sg = p.Get("VSwitchId"), p.Get("SecurityGroupId")
	v := f.vswitches[vsw]
	if v == nil || v.region != p.Get("RegionId") {
		return "", "", errf(404, "InvalidVSwitchId.NotFound", "The specified VSwitchId does not exist.")
	}
	if g := f.groups[sg]; g == nil || g.region != p.Get("RegionId") || g.vpc != v.vpc {
		return "", "", errf(404, "InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId does not exist.")
	}
	return vsw, sg, nil
}

func (f *Fake) describeZones(p url.Values) (map[string]any, *apiError) {
	out := []map[string]any{}
	if p.Get("RegionId") == Region {
		for _, z := range zones {
			out = append(out, map[string]any{
				"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone",
				"AvailableResourceCreation": map[string]any{"ResourceTypes": []string{"VSwitch", "IoOptimized", "Instance", "Disk"}},
				"AvailableInstanceTypes":    map[string]any{"InstanceTypes": instanceTypes},
				"AvailableDiskCategories":   map[string]any{"DiskCategories": diskCategories},
			})
		}
	}
	return map[string]any{"Zones": map[string]any{"Zone": out}}, nil
}

// token answers a creation repeated with the same ClientToken with what
// the first one made ("" when new).
func (f *Fake) token(p url.Values) string {
	if t := p.Get("ClientToken"); t != "" {
		return f.tokens[t]
	}
	return ""
}

func (f *Fake) remember(p url.Values, id string) {
	if t := p.Get("ClientToken"); t != "" {
		f.tokens[t] = id
	}
}

func (f *Fake) createVpc(p url.Values) (map[string]any, *apiError) {
	id := f.token(p)
	if id == "" {
		cidr := p.Get("CidrBlock")
		if cidr == "" {
			cidr = "172.16.0.0/12" // ECS's default
		}
		v := &vpc{resource: resource{id: f.nextID("vpc-"), name: p.Get("VpcName"), region: p.Get("RegionId"), tags: map[string]string{}, created: time.Now().UTC()},
			cidr: cidr, status: "Pending"}
		f.vpcs[v.id] = v
		id = v.id
		f.remember(p, id)
	}
	return map[string]any{"VpcId": id, "VRouterId": "vrt-" + id[len("vpc-"):], "RouteTableId": "vtb-" + id[len("vpc-"):]}, nil
}

func (f *Fake) describeVpcs(p url.Values) (map[string]any, *apiError) {
	id := p.Get("VpcId")
	return describe(p, f.vpcs, func(v *vpc) bool { return id == "" || v.id == id }, 50, "Vpcs", "Vpc", func(v *vpc) map[string]any {
		var vsws []string
		for _, s := range f.vswitches {
			if s.vpc == v.id {
				vsws = append(vsws, s.id)
			}
		}
		slices.Sort(vsws)
		m := map[string]any{
			"VpcId": v.id, "VpcName": v.name, "RegionId": v.region, "Status": v.status, "CidrBlock": v.cidr,
			"VRouterId": "vrt-" + v.id[len("vpc-"):], "IsDefault": false, "Description": "", "CreationTime": stamp(v.created),
			"VSwitchIds": map[string]any{"VSwitchId": append([]string{}, vsws...)}, "UserCidrs": map[string]any{"UserCidr": []string{}},
		}
		settle(&v.status)
		return m
	})
}

// settle makes a new (Pending) VPC or VSwitch Available once it has been
// described: ECS answers Pending at the first look only.
func settle(status *string) {
	if *status == "Pending" {
		*status = "Available"
	}
}

func (f *Fake) deleteVpc(p url.Values) (map[string]any, *apiError) {
	return remove(p, f.vpcs, "VpcId", func(v *vpc) *apiError {
		for _, s := range f.vswitches {
			if s.vpc == v.id {
				return errf(400, "DependencyViolation.VSwitch", "Specified VPC still has VSwitch.")
			}
		}
		for _, g := range f.groups {
			if g.vpc == v.id {
				return errf(400, "DependencyViolation.SecurityGroup", "Specified VPC still has security group.")
			}
		}
		return nil
	})
}

func (f *Fake) createVSwitch(p url.Values) (map[string]any, *apiError) {
	if id := f.token(p); id != "" {
		return map[string]any{"VSwitchId": id}, nil
	}
	for _, k := range []string{"ZoneId", "CidrBlock"} {
		if _, aerr := required(p, k); aerr != nil {
			return nil, aerr
		}
	}
	v, aerr := find(p, f.vpcs, "VpcId")
	if aerr != nil {
		return nil, aerr
	}
	if v.status != "Available" {
		return nil, errf(400, "IncorrectVpcStatus", "The current status of the VPC does not support this operation.")
	}
	if !slices.Contains(zones, p.Get("ZoneId")) {
		return nil, errf(400, "InvalidZoneId.NotFound", "The specified zone does not exist.")
	}
	s := &vswitch{resource: resource{id: f.nextID("vsw-"), name: p.Get("VSwitchName"), region: v.region, tags: map[string]string{}, created: time.Now().UTC()},
		vpc: v.id, zone: p.Get("ZoneId"), cidr: p.Get("CidrBlock"), status: "Pending"}
	f.vswitches[s.id] = s
	f.remember(p, s.id)
	return map[string]any{"VSwitchId": s.id}, nil
}

func (f *Fake) describeVSwitches(p url.Values) (map[string]any, *apiError) {
	id, vpcID, zone := p.Get("VSwitchId"), p.Get("VpcId"), p.Get("ZoneId")
	keep := func(s *vswitch) bool {
		return (id == "" || s.id == id) && (vpcID == "" || s.vpc == vpcID) && (zone == "" || s.zone == zone)
	}
	return describe(p, f.vswitches, keep, 50, "VSwitches", "VSwitch", func(s *vswitch) map[string]any {
		m := map[string]any{
			"VSwitchId": s.id, "VpcId": s.vpc, "ZoneId": s.zone, "CidrBlock": s.cidr, "Status": s.status,
			"VSwitchName": s.name, "IsDefault": false, "AvailableIpAddressCount": 250, "Description": "",
			"CreationTime": stamp(s.created), "ResourceGroupId": "",
		}
		settle(&s.status)
		return m
	})
}

func (f *Fake) deleteVSwitch(p url.Values) (map[string]any, *apiError) {
	return remove(p, f.vswitches, "VSwitchId", func(s *vswitch) *apiError {
		for _, in := range f.instances {
			if in.vswitch == s.id {
				return errf(400, "DependencyViolation", "The specified VSwitch has instances in it.")
			}
		}
		return nil
	})
}

func (f *Fake) allocateEipAddress(p url.Values) (map[string]any, *apiError) {
	id := f.token(p)
	if id == "" {
		bw, err := strconv.Atoi(p.Get("Bandwidth"))
		if err != nil {
			bw = 5 // ECS's default
		}
		charge := p.Get("InternetChargeType")
		if charge == "" {
			charge = "PayByBandwidth" // ECS's default for EIPs
		}
		f.seq++
		e := &eip{resource: resource{id: f.nextID("eip-"), region: p.Get("RegionId"), tags: map[string]string{}, created: time.Now().UTC()},
			ip: fmt.Sprintf("203.0.113.%d", 1+f.seq%250), status: "Available", chargeType: charge, bandwidth: bw}
		f.eips[e.id] = e
		id = e.id
		f.remember(p, id)
	}
	return map[string]any{"AllocationId": id, "EipAddress": f.eips[id].ip}, nil
}

func (f *Fake) describeEipAddresses(p url.Values) (map[string]any, *apiError) {
	id := p.Get("AllocationId")
	return describe(p, f.eips, func(e *eip) bool { return id == "" || e.id == id }, 50, "EipAddresses", "EipAddress", func(e *eip) map[string]any {
		typ := ""
		if e.instance != "" {
			typ = "EcsInstance"
		}
		return map[string]any{
			"AllocationId": e.id, "IpAddress": e.ip, "Status": e.status, "InstanceId": e.instance, "InstanceType": typ,
			"RegionId": e.region, "Bandwidth": fmt.Sprint(e.bandwidth), "EipBandwidth": fmt.Sprint(e.bandwidth),
			"InternetChargeType": e.chargeType, "ChargeType": "PostPaid", "AllocationTime": stamp(e.created), "ExpiredTime": "",
			"OperationLocks": map[string]any{"LockReason": []map[string]string{}},
		}
	})
}

func (f *Fake) associateEipAddress(p url.Values) (map[string]any, *apiError) {
	e, aerr := find(p, f.eips, "AllocationId")
	if aerr != nil {
		return nil, aerr
	}
	in, aerr := find(p, f.instances, "InstanceId")
	if aerr != nil {
		return nil, aerr
	}
	if e.status != "Available" {
		return nil, errf(400, "IncorrectEipStatus", "The current status of the resource does not support this operation.")
	}
	if (in.status != "Running" && in.status != "Stopped") || in.releasing || in.eip != "" {
		return nil, errf(400, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
	}
	e.instance, e.status, in.eip = in.id, "InUse", e.id
	return map[string]any{}, nil
}

func (f *Fake) unassociateEipAddress(p url.Values) (map[string]any, *apiError) {
	e, aerr := find(p, f.eips, "AllocationId")
	if aerr != nil {
		return nil, aerr
	}
	if e.instance == "" || e.instance != p.Get("InstanceId") {
		return nil, errf(400, "IncorrectEipStatus", "The current status of the resource does not support this operation.")
	}
	if in := f.instances[e.instance]; in != nil {
		in.eip = ""
	}
	e.instance, e.status = "", "Available"
	return map[string]any{}, nil
}

func (f *Fake) releaseEipAddress(p url.Values) (map[string]any, *apiError) {
	return remove(p, f.eips, "AllocationId", func(e *eip) *apiError {
		if e.status != "Available" {
			return errf(400, "IncorrectEipStatus", "The current status of the resource does not support this operation.")
		}
		return nil
	})
}
