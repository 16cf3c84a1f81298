package awsfake

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const (
	ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// apiError is an error answer.
type apiError struct {
	status        int
	code, message string
}

// elem is one child element of an answer.
type elem struct {
	name string
	v    any
}

// answer writes one response in the protocol of its action.
type answer struct {
	w      http.ResponseWriter
	action string
	reqID  string
	sts    bool
}

func (a answer) header(status int) {
	a.w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	a.w.Header().Set("x-amzn-RequestId", a.reqID)
	a.w.Header().Set("Server", "AmazonEC2")
	a.w.WriteHeader(status)
}

// ok writes <ActionResponse xmlns=...><requestId>..</requestId>children..
// for EC2, and <ActionResponse><ActionResult>children..</ActionResult>
// <ResponseMetadata><RequestId> for STS.
func (a answer) ok(elems []elem) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	if a.sts {
		fmt.Fprintf(&b, `<%sResponse xmlns="%s"><%sResult>`, a.action, stsNS, a.action)
	} else {
		fmt.Fprintf(&b, `<%sResponse xmlns="%s"><requestId>%s</requestId>`, a.action, ec2NS, a.reqID)
	}
	for _, e := range elems {
		if err := enc.EncodeElement(e.v, xml.StartElement{Name: xml.Name{Local: e.name}}); err != nil {
			panic("awsfake: encode " + e.name + ": " + err.Error())
		}
	}
	_ = enc.Flush()
	if a.sts {
		fmt.Fprintf(&b, `</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, a.action, a.reqID, a.action)
	} else {
		fmt.Fprintf(&b, `</%sResponse>`, a.action)
	}
	a.header(http.StatusOK)
	_, _ = a.w.Write(b.Bytes())
}

// fail writes EC2's <Response><Errors><Error>..</Errors><RequestID> or
// STS's <ErrorResponse><Error><Type>..</Error><RequestId>.
func (a answer) fail(e *apiError) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if a.sts {
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			stsNS, typ, esc(e.code), esc(e.message), a.reqID)
	} else {
		fmt.Fprintf(&b, `<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			esc(e.code), esc(e.message), a.reqID)
	}
	a.header(e.status)
	_, _ = a.w.Write(b.Bytes())
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// req is one parsed request.
type req struct {
	form   url.Values
	region string
	action string
}

func (r *req) get(key string) string { return r.form.Get(key) }

// list reads a query-protocol list: prefix.1, prefix.2, ...
func (r *req) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := prefix + "." + strconv.Itoa(i)
		if _, ok := r.form[k]; !ok {
			return out
		}
		out = append(out, r.form.Get(k))
	}
}

// count is how many members a list of structures has (prefix.N.field).
func (r *req) count(prefix string) int {
	n := 0
	for k := range r.form {
		if !strings.HasPrefix(k, prefix+".") {
			continue
		}
		idx, _, _ := strings.Cut(strings.TrimPrefix(k, prefix+"."), ".")
		if i, err := strconv.Atoi(idx); err == nil && i > n {
			n = i
		}
	}
	return n
}

// page cuts one page out of all: at most the fake's page size or
// MaxResults items, from where NextToken says, and the token of the next
// page ("" on the last). named: the request names IDs, which EC2 answers
// whole unless MaxResults is set.
func page[T any](f *Fake, r *req, all []T, named bool) ([]T, string, *apiError) {
	size := f.pageSize
	if named {
		size = 0
	}
	if s := r.get("MaxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, "", &apiError{400, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter maxResults is invalid.", s)}
		}
		if size == 0 || n < size {
			size = n
		}
	}
	start := 0
	if tok := r.get("NextToken"); tok != "" {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		action, off, ok := strings.Cut(string(raw), ":")
		n, err := strconv.Atoi(off)
		if !ok || err != nil || action != r.action || n < 0 || n > len(all) {
			return nil, "", &apiError{400, "InvalidPaginationToken", fmt.Sprintf("Invalid pagination token: %s", tok)}
		}
		start = n
	}
	if size == 0 || start+size >= len(all) {
		return all[start:], "", nil
	}
	next := base64.RawURLEncoding.EncodeToString([]byte(r.action + ":" + strconv.Itoa(start+size)))
	return all[start : start+size], next, nil
}

// withNext adds <nextToken> when there is a next page.
func withNext(elems []elem, next string) []elem {
	if next == "" {
		return elems
	}
	return append(elems, elem{"nextToken", next})
}

type filt struct {
	name   string
	values []string
}

// filters reads Filter.N.Name / Filter.N.Value.M.
func (r *req) filters() []filt {
	var out []filt
	for i := 1; i <= r.count("Filter"); i++ {
		p := "Filter." + strconv.Itoa(i)
		out = append(out, filt{name: r.get(p + ".Name"), values: r.list(p + ".Value")})
	}
	return out
}

// tagSpecs reads TagSpecification.N.ResourceType / .Tag.M.Key / .Value.
func (r *req) tagSpecs() (map[string]map[string]string, *apiError) {
	out := map[string]map[string]string{}
	for i := 1; i <= r.count("TagSpecification"); i++ {
		p := "TagSpecification." + strconv.Itoa(i)
		rt := r.get(p + ".ResourceType")
		switch rt {
		case "instance", "volume", "network-interface", "security-group", "key-pair", "image", "snapshot":
		default:
			return nil, &apiError{400, "InvalidParameterValue", fmt.Sprintf("'%s' is not a valid taggable resource type for this operation.", rt)}
		}
		tags := map[string]string{}
		for j := 1; j <= r.count(p+".Tag"); j++ {
			q := p + ".Tag." + strconv.Itoa(j)
			k := r.get(q + ".Key")
			if strings.HasPrefix(strings.ToLower(k), "aws:") {
				return nil, &apiError{400, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use"}
			}
			tags[k] = r.get(q + ".Value")
		}
		out[rt] = tags
	}
	return out, nil
}

// match applies EC2 filter semantics: all filters, any value each, with
// the * and ? wildcards. attr answers the values of a filter name and
// whether the name is valid for the resource type.
func match(fs []filt, attr func(name string) ([]string, bool)) (bool, *apiError) {
	for _, f := range fs {
		vals, ok := attr(f.name)
		if !ok {
			return false, &apiError{400, "InvalidParameterValue", fmt.Sprintf("The filter '%s' is invalid", f.name)}
		}
		hit := false
		for _, want := range f.values {
			for _, v := range vals {
				if glob(want, v) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// checkFilters refuses filter names the resource type does not know, as
// EC2 does, whether or not anything would match.
func checkFilters(fs []filt, names ...string) *apiError {
	for _, f := range fs {
		if !slices.Contains(names, f.name) && !strings.HasPrefix(f.name, "tag:") && f.name != "tag-key" {
			return &apiError{400, "InvalidParameterValue", fmt.Sprintf("The filter '%s' is invalid", f.name)}
		}
	}
	return nil
}

func glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

// tagAttr answers tag:KEY and tag-key filters.
func tagAttr(tags map[string]string, name string) ([]string, bool) {
	if k, ok := strings.CutPrefix(name, "tag:"); ok {
		if v, ok := tags[k]; ok {
			return []string{v}, true
		}
		return nil, true
	}
	if name == "tag-key" {
		var keys []string
		for k := range tags {
			keys = append(keys, k)
		}
		return keys, true
	}
	return nil, false
}

// XML shapes of the answers (element names as EC2 writes them).

type items[T any] struct {
	Item []T `xml:"item"`
}

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xtags(m map[string]string) items[xTag] {
	var out items[xTag]
	for _, k := range sortedKeys(m) {
		out.Item = append(out.Item, xTag{k, m[k]})
	}
	return out
}

type xEBS struct {
	SnapshotID          string `xml:"snapshotId"`
	VolumeSize          int    `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Encrypted           bool   `xml:"encrypted"`
}

type xBDM struct {
	DeviceName string `xml:"deviceName"`
	EBS        xEBS   `xml:"ebs"`
}

type xImage struct {
	ImageID            string      `xml:"imageId"`
	ImageLocation      string      `xml:"imageLocation"`
	ImageState         string      `xml:"imageState"`
	OwnerID            string      `xml:"imageOwnerId"`
	CreationDate       string      `xml:"creationDate"`
	IsPublic           bool        `xml:"isPublic"`
	Architecture       string      `xml:"architecture"`
	ImageType          string      `xml:"imageType"`
	Name               string      `xml:"name"`
	Description        string      `xml:"description,omitempty"`
	RootDeviceType     string      `xml:"rootDeviceType"`
	RootDeviceName     string      `xml:"rootDeviceName"`
	BlockDeviceMapping items[xBDM] `xml:"blockDeviceMapping"`
	VirtualizationType string      `xml:"virtualizationType"`
	TagSet             items[xTag] `xml:"tagSet"`
	Hypervisor         string      `xml:"hypervisor"`
	EnaSupport         bool        `xml:"enaSupport"`
	DeprecationTime    string      `xml:"deprecationTime,omitempty"`
}

type xState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xGroupID struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xInstEBS struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xInstBDM struct {
	DeviceName string   `xml:"deviceName"`
	EBS        xInstEBS `xml:"ebs"`
}

type xPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type xMetadata struct {
	State        string `xml:"state"`
	HTTPTokens   string `xml:"httpTokens"`
	HTTPEndpoint string `xml:"httpEndpoint"`
	HopLimit     int    `xml:"httpPutResponseHopLimit"`
}

type xInstance struct {
	InstanceID         string          `xml:"instanceId"`
	ImageID            string          `xml:"imageId"`
	State              xState          `xml:"instanceState"`
	PrivateDNSName     string          `xml:"privateDnsName"`
	KeyName            string          `xml:"keyName,omitempty"`
	DNSName            string          `xml:"dnsName"`
	InstanceType       string          `xml:"instanceType"`
	LaunchTime         string          `xml:"launchTime"`
	Placement          xPlacement      `xml:"placement"`
	SubnetID           string          `xml:"subnetId,omitempty"`
	VpcID              string          `xml:"vpcId,omitempty"`
	PrivateIPAddress   string          `xml:"privateIpAddress"`
	IPAddress          string          `xml:"ipAddress,omitempty"`
	GroupSet           items[xGroupID] `xml:"groupSet"`
	StateReason        *xReason        `xml:"stateReason,omitempty"`
	RootDeviceType     string          `xml:"rootDeviceType"`
	RootDeviceName     string          `xml:"rootDeviceName"`
	BlockDeviceMapping items[xInstBDM] `xml:"blockDeviceMapping"`
	TagSet             items[xTag]     `xml:"tagSet"`
	MetadataOptions    xMetadata       `xml:"metadataOptions"`
}

type xReservation struct {
	ReservationID string           `xml:"reservationId"`
	OwnerID       string           `xml:"ownerId"`
	GroupSet      items[xGroupID]  `xml:"groupSet"`
	InstancesSet  items[xInstance] `xml:"instancesSet"`
}

type xStateChange struct {
	InstanceID    string `xml:"instanceId"`
	CurrentState  xState `xml:"currentState"`
	PreviousState xState `xml:"previousState"`
}

type xIPRange struct {
	CidrIP string `xml:"cidrIp"`
}

type xIPPermission struct {
	IPProtocol string          `xml:"ipProtocol"`
	FromPort   int             `xml:"fromPort"`
	ToPort     int             `xml:"toPort"`
	IPRanges   items[xIPRange] `xml:"ipRanges"`
}

type xGroup struct {
	OwnerID          string               `xml:"ownerId"`
	GroupID          string               `xml:"groupId"`
	GroupName        string               `xml:"groupName"`
	GroupDescription string               `xml:"groupDescription"`
	VpcID            string               `xml:"vpcId"`
	IPPermissions    items[xIPPermission] `xml:"ipPermissions"`
	TagSet           items[xTag]          `xml:"tagSet"`
}

type xVolume struct {
	VolumeID         string      `xml:"volumeId"`
	Size             int         `xml:"size"`
	AvailabilityZone string      `xml:"availabilityZone"`
	Status           string      `xml:"status"`
	CreateTime       string      `xml:"createTime"`
	VolumeType       string      `xml:"volumeType"`
	TagSet           items[xTag] `xml:"tagSet"`
}

type xKeyPair struct {
	KeyPairID      string      `xml:"keyPairId"`
	KeyName        string      `xml:"keyName"`
	KeyFingerprint string      `xml:"keyFingerprint"`
	KeyType        string      `xml:"keyType"`
	CreateTime     string      `xml:"createTime"`
	TagSet         items[xTag] `xml:"tagSet"`
}

type xVpc struct {
	VpcID     string `xml:"vpcId"`
	OwnerID   string `xml:"ownerId"`
	State     string `xml:"state"`
	CidrBlock string `xml:"cidrBlock"`
	IsDefault bool   `xml:"isDefault"`
}

type xSubnet struct {
	SubnetID            string `xml:"subnetId"`
	VpcID               string `xml:"vpcId"`
	State               string `xml:"state"`
	CidrBlock           string `xml:"cidrBlock"`
	AvailabilityZone    string `xml:"availabilityZone"`
	DefaultForAz        bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch bool   `xml:"mapPublicIpOnLaunch"`
}

type xRegion struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type xSnapshot struct {
	SnapshotID string      `xml:"snapshotId"`
	VolumeID   string      `xml:"volumeId"`
	Status     string      `xml:"status"`
	StartTime  string      `xml:"startTime"`
	Progress   string      `xml:"progress"`
	OwnerID    string      `xml:"ownerId"`
	VolumeSize int         `xml:"volumeSize"`
	Encrypted  bool        `xml:"encrypted"`
	TagSet     items[xTag] `xml:"tagSet"`
}
