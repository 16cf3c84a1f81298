// Package awsfake is a test double: an in-memory EC2 and STS that speaks
// the real wire format of both (the query protocol: POST form bodies with
// Action and Version, XML answers in the 2016-11-15 EC2 namespace and the
// STS namespace, EC2's <Response><Errors> error bodies with their
// RequestID, the x-amzn-RequestId header) on a local httptest server. It
// holds images, snapshots, instances, volumes, key pairs, security groups
// and a default VPC per region (read from the SigV4 credential scope),
// walks instances through pending/running/stopping/stopped/shutting-down/
// terminated one DescribeInstances at a time, and injects faults through
// the embedded cloudtest.Faults (status codes, hanging requests, exact
// error bodies; a Fault's Match selects an action as "Action=RunInstances")
// and launches that fail. Only tests import it.
package awsfake

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// Identity and network of the fake account; every region has the same
// default VPC and subnet, plus a second VPC with one subnet.
const (
	Account         = "123456789012"
	AccessKeyID     = "AKIAFAKEFAKEFAKEFAKE"
	SecretAccessKey = "fake/secret/access/key/not/a/real/one"
	DefaultRegion   = "us-west-2"
	DefaultVPC      = "vpc-0fa4e0000000000d1"
	DefaultSubnet   = "subnet-0fa4e00000000d1a"
	OtherVPC        = "vpc-0fa4e0000000000e2"
	OtherSubnet     = "subnet-0fa4e00000000e2a"
	SindriVersion   = cloudtest.SindriVersion
)

// Fake is the in-memory EC2 + STS. Every request is recorded, and faults
// are queued, by the embedded cloudtest.Faults; a request's line is
// "POST Action=<action>".
type Fake struct {
	cloudtest.Faults
	srv *httptest.Server

	mu        sync.Mutex
	n         int // id counter
	res       map[string]*resource
	lastReqID string
	publicIP  string
	ticks     int          // DescribeInstances calls a transition takes
	launchErr *stateReason // the next launched instance fails to start
	pageSize  int          // items per page of a paged Describe; 0: MaxResults only
	unseen    int          // calls a new instance answers InvalidInstanceID.NotFound
	lingering int          // DeleteSecurityGroup calls a terminated instance still holds its groups
	stale     int          // answers the consistency windows gave

	extraSubnets []xSubnet // AddSubnet's, in every region
}

// Call is one request served, read as EC2 reads it: its action, the
// region of its credential scope and its form.
type Call struct {
	Action string
	Region string
	Form   url.Values
}

// stateReason is why EC2 ended an instance.
type stateReason struct{ code, message string }

// resource is any EC2 object; kind picks the fields that matter.
type resource struct {
	kind, id, name, region, state string
	tags                          map[string]string
	created                       time.Time

	// image
	snapshots   []string
	deprecation time.Time
	owner       string // the account that owns it; "" is Account
	isPublic    bool   // launch permission for all
	encrypted   bool
	// instance
	imageID, instanceType, subnet, vpc, userData, ip, shutdown, token string
	groups                                                            []string
	volume                                                            string
	public                                                            bool
	steps                                                             int
	next                                                              string
	reason                                                            *stateReason
	metadata                                                          Metadata
	keyName                                                           string
	unseen                                                            int // calls left answering NotFound
	// security group
	lingering int // DeleteSecurityGroup calls left answering DependencyViolation
	// security group
	desc    string
	ingress []Rule
	// volume
	attached string
	size     int
}

// Rule is one ingress rule of a security group.
type Rule struct {
	Protocol string
	From, To int
	CIDR     string
}

// New starts the fake; it stops when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{res: map[string]*resource{}, publicIP: "127.0.0.1", ticks: 1}
	f.srv = cloudtest.Serve(t, httptest.NewServer, f)
	return f
}

// URL is the endpoint (SINDRI_AWS_ENDPOINT).
func (f *Fake) URL() string { return f.srv.URL }

// Env points a zero-value aws.Cloud at the fake with fake static keys and
// no shared files, and turns the instance metadata service off, so no
// credential provider looks anywhere else.
func (f *Fake) Env() map[string]string {
	return map[string]string{
		"SINDRI_AWS_ENDPOINT":         f.srv.URL,
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CA_BUNDLE":               "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_EC2":        "",
		"AWS_ENDPOINT_URL_STS":        "",
	}
}

// LookupEnv reads Env: cloud.Env(f.LookupEnv) points an aws.Cloud at the
// fake without touching the process environment.
func (f *Fake) LookupEnv(key string) (string, bool) {
	return cloudtest.EnvOf(f)(key)
}

// SetPublicIP sets the address running instances report (127.0.0.1 by
// default, so SSH can be pointed at a local server).
func (f *Fake) SetPublicIP(ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publicIP = ip
}

// SetTransitionPolls sets how many DescribeInstances calls an instance
// stays pending, stopping or shutting-down (default 1).
func (f *Fake) SetTransitionPolls(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ticks = n
}

// AddSubnet adds a subnet to OtherVPC, in every region (the account's
// fixed network has one subnet per VPC); public: it maps public IPs on
// launch. It returns the subnet's ID, which sorts after OtherSubnet.
func (f *Fake) AddSubnet(public bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("subnet-0fa4e00000000e%02x", 0xb0+len(f.extraSubnets))
	f.extraSubnets = append(f.extraSubnets, xSubnet{SubnetID: id, VpcID: OtherVPC, State: "available", MapPublicIPOnLaunch: public})
	return id
}

// SetPageSize makes every paged Describe (the ones whose EC2 input has
// MaxResults and NextToken: images, instances, security groups, volumes,
// snapshots, VPCs, subnets) answer at most n items with a nextToken for
// the rest, even without MaxResults, and a smaller MaxResults wins. A
// request that names IDs is answered whole unless it sets MaxResults.
// EC2 truncates on its own, so a client must follow nextToken; 0 (the
// default) pages by MaxResults only.
func (f *Fake) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// SetConsistencyWindows switches EC2's eventual consistency on: a
// launched instance answers InvalidInstanceID.NotFound to the first
// unseen calls that name it (DescribeInstances, Terminate/Stop/Start,
// CreateTags, CreateImage) and is left out of lists meanwhile; after an
// instance terminates, DeleteSecurityGroup of each of its groups answers
// DependencyViolation lingering times. Calls, not seconds, so tests are
// deterministic; 0, 0 (the default) switches both off.
func (f *Fake) SetConsistencyWindows(unseen, lingering int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unseen, f.lingering = unseen, lingering
}

// Stale is how many answers the consistency windows gave.
func (f *Fake) Stale() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stale
}

// Metadata is an instance's metadata options as EC2 answers them.
type Metadata struct {
	HTTPTokens, HTTPEndpoint string
	HopLimit                 int
}

// InstanceMetadata returns the metadata options an instance runs with:
// what RunInstances asked for, EC2's defaults for what it did not.
func (f *Fake) InstanceMetadata(instanceID string) Metadata {
	return cloudtest.Read(&f.mu, f.res, instanceID, func(r *resource) Metadata { return r.metadata })
}

// FailLaunch makes the next launched instance go from pending to
// terminated with this state reason, as an instance that cannot start.
func (f *Fake) FailLaunch(code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launchErr = &stateReason{code: code, message: message}
}

// Calls returns the requests of action ("" for all), oldest first, read
// from what Faults recorded.
func (f *Fake) Calls(action string) []Call {
	var out []Call
	for _, c := range f.Faults.Calls("Action=" + action) {
		form, _ := url.ParseQuery(string(c.Body))
		if action != "" && form.Get("Action") != action {
			continue
		}
		region, _ := scope(c.Header.Get("Authorization"))
		out = append(out, Call{Action: form.Get("Action"), Region: region, Form: form})
	}
	return out
}

// LastRequestID is the request id of the last answer.
func (f *Fake) LastRequestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastReqID
}

// Rules returns the ingress rules of a security group.
func (f *Fake) Rules(groupID string) []Rule {
	return cloudtest.Read(&f.mu, f.res, groupID, func(r *resource) []Rule { return slices.Clone(r.ingress) })
}

// UserData returns the decoded user data an instance was launched with.
func (f *Fake) UserData(instanceID string) string {
	return cloudtest.Read(&f.mu, f.res, instanceID, func(r *resource) string { return r.userData })
}

// Live returns every image, snapshot, instance that is not terminated,
// volume, key pair and security group, sorted by kind then ID. The VPCs
// and subnets are the account's fixed network and are not listed.
func (f *Fake) Live() []cloudtest.FakeResource {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cloudtest.FakeResource
	for _, r := range f.res {
		if r.kind == kindInstance && r.state == "terminated" {
			continue
		}
		out = append(out, cloudtest.FakeResource{
			Kind: r.kind, ID: r.id, Name: r.name, Region: r.region, State: r.state,
			Tags: cloudtest.CopyTags(r.tags), Created: r.created,
		})
	}
	return cloudtest.SortLive(out)
}

const (
	kindImage    = "image"
	kindSnapshot = "snapshot"
	kindInstance = cloud.KindInstance
	kindVolume   = cloud.KindDisk
	kindKeyPair  = cloud.KindKeyPair
	kindGroup    = cloud.KindSecurityGroup
)

// ImageSpec describes an image to seed.
type ImageSpec struct {
	Region      string // default DefaultRegion
	Name        string
	State       string // default available
	Tags        map[string]string
	Created     time.Time
	Deprecation time.Time
	// Owner is the owning account ("" is Account); Public grants every
	// account launch permission, as Canonical's Ubuntu AMIs do.
	Owner  string
	Public bool
}

// AddImage seeds an image with one EBS snapshot and returns its ID.
func (f *Fake) AddImage(s ImageSpec) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	region := or(s.Region, DefaultRegion)
	snap := f.add(&resource{kind: kindSnapshot, id: f.newID("snap"), region: region, state: "completed", tags: cloudtest.CopyTags(s.Tags), created: s.Created, owner: s.Owner})
	img := f.add(&resource{
		kind: kindImage, id: f.newID("ami"), name: s.Name, region: region, state: or(s.State, "available"),
		tags: cloudtest.CopyTags(s.Tags), created: s.Created, snapshots: []string{snap.id}, deprecation: s.Deprecation,
		owner: s.Owner, isPublic: s.Public, encrypted: !s.Public,
	})
	return img.id
}

// ImageTags are the tags Packer writes on this tool's images.
func ImageTags(configHash string) map[string]string {
	return cloudtest.SeedImageTags(configHash)
}

// SeedImage adds an image this tool made, in DefaultRegion.
func (f *Fake) SeedImage(name, configHash string, created time.Time) string {
	return f.AddImage(ImageSpec{Name: name, Tags: ImageTags(configHash), Created: created})
}

// InstanceSpec describes an instance to seed.
type InstanceSpec struct {
	Region  string // default DefaultRegion
	ImageID string
	State   string // default running
	Tags    map[string]string
	Groups  []string
	Created time.Time
}

// AddInstance seeds an instance with a root volume and returns its ID.
func (f *Fake) AddInstance(s InstanceSpec) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addInstance(s, true).id
}

func (f *Fake) addInstance(s InstanceSpec, public bool) *resource {
	region := or(s.Region, DefaultRegion)
	in := &resource{
		kind: kindInstance, id: f.newID("i"), region: region, state: or(s.State, "running"),
		tags: cloudtest.CopyTags(s.Tags), created: s.Created, imageID: or(s.ImageID, "ami-0fa4e00000000base"),
		instanceType: "t3.large", subnet: DefaultSubnet, vpc: DefaultVPC, groups: s.Groups, public: public,
		shutdown: "stop", metadata: Metadata{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1},
	}
	in.name = in.tags["Name"]
	if in.state == "running" && public {
		in.ip = f.publicIP
	}
	f.add(in)
	vol := f.add(&resource{kind: kindVolume, id: f.newID("vol"), region: region, state: "in-use", tags: cloudtest.CopyTags(s.Tags), created: s.Created, attached: in.id, size: 80})
	in.volume = vol.id
	return in
}

// RunTags are the tags of a run's temporary resources.
func RunTags(runID string) map[string]string {
	return cloudtest.LeftoverTags(runID)
}

// SeedLeftover adds a temporary resource of kind tagged with runID, as a
// crashed run leaves it, in DefaultRegion. EC2 reports no creation time
// for security groups: a seeded one carries it in its Packer-style name.
func (f *Fake) SeedLeftover(kind, runID string, created time.Time) string {
	tags := RunTags(runID)
	switch kind {
	case cloud.KindInstance:
		tags["Name"] = "packer-leftover-" + runID
		return f.AddInstance(InstanceSpec{Tags: tags, Created: created})
	case cloud.KindImage:
		// amazon-ebs's intermediate AMI under encrypt_boot: run_tags on
		// the AMI and its snapshot, a random 7-character name.
		f.mu.Lock()
		name := fmt.Sprintf("tmp%04d", f.n%10000)
		f.mu.Unlock()
		return f.AddImage(ImageSpec{Name: name, Tags: tags, Created: created})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &resource{kind: kind, region: DefaultRegion, tags: tags, created: created}
	switch kind {
	case cloud.KindDisk:
		r.id, r.state, r.size = f.newID("vol"), "available", 80
	case cloud.KindKeyPair:
		r.id = f.newID("key")
		r.name = "packer_" + strings.TrimPrefix(r.id, "key-")
	case cloud.KindSecurityGroup:
		// Named as Packer names it: packer_<time-ordered UUID>, whose
		// first 32 bits are the Unix time.
		r.id, r.vpc, r.desc = f.newID("sg"), DefaultVPC, "Temporary group for Packer"
		r.name = fmt.Sprintf("packer_%08x-%04x-4000-8000-%012x", uint32(created.Unix()), f.n&0xffff, f.n)
	default:
		panic("awsfake: no leftover kind " + kind)
	}
	return f.add(r).id
}

// AddSecurityGroup seeds a security group in the default VPC of
// DefaultRegion and returns its ID.
func (f *Fake) AddSecurityGroup(name string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(&resource{kind: kindGroup, id: f.newID("sg"), name: name, vpc: DefaultVPC, desc: name, region: DefaultRegion, tags: cloudtest.CopyTags(tags)}).id
}

func (f *Fake) add(r *resource) *resource {
	if r.tags == nil {
		r.tags = map[string]string{}
	}
	f.res[r.id] = r
	return r
}

// newID makes EC2-shaped IDs: prefix, dash, 17 hex digits.
func (f *Fake) newID(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%017x", prefix, 0xfa4e0000000+f.n)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ServeHTTP routes by Action, after the fault injections.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	_ = r.ParseForm()
	form := r.PostForm
	action := form.Get("Action")
	region, akid := scope(r.Header.Get("Authorization"))

	f.mu.Lock()
	f.n++
	reqID := fmt.Sprintf("fa4e%04d-0000-4000-8000-%012d", f.n%10000, f.n)
	f.lastReqID = reqID
	f.mu.Unlock()
	sts := action == "GetCallerIdentity"
	ans := answer{w: w, action: action, reqID: reqID, sts: sts}
	if f.Answered(r, r.Method+" Action="+action, body, func(x cloudtest.Fault) { ans.fail(faultError(x, sts)) }) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPost {
		ans.fail(&apiError{400, "InvalidAction", "The action " + action + " is not valid for this web service."})
		return
	}
	if akid != AccessKeyID {
		ans.fail(&apiError{401, "AuthFailure", "AWS was not able to validate the provided access credentials"})
		return
	}
	wantVersion := "2016-11-15"
	if sts {
		wantVersion = "2011-06-15"
	}
	if v := form.Get("Version"); v != wantVersion {
		ans.fail(&apiError{400, "InvalidParameterValue", fmt.Sprintf("Invalid API version %q", v)})
		return
	}
	h, ok := handlers[action]
	if !ok {
		ans.fail(&apiError{400, "InvalidAction", "The action " + action + " is not valid for this web service."})
		return
	}
	elems, aerr := h(f, &req{form: form, region: region, action: action})
	if aerr != nil {
		ans.fail(aerr)
		return
	}
	ans.ok(elems)
}

// scope reads region and access key from a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-west-2/ec2/aws4_request, ...".
func scope(auth string) (region, akid string) {
	_, after, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return DefaultRegion, ""
	}
	cred, _, _ := strings.Cut(after, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 3 {
		return DefaultRegion, parts[0]
	}
	return parts[2], parts[0]
}

// faultError is an injected fault in EC2's (or STS's) words: the code and
// message the status usually comes with, unless the fault names its own.
//
// A throttled request (Status 429, the suite's word for throttling, or
// Code RequestLimitExceeded / Throttling) is answered as the service
// throttles: EC2 with HTTP 503 and RequestLimitExceeded, STS with HTTP
// 400 and Throttling. Neither sends 429.
func faultError(fault cloudtest.Fault, sts bool) *apiError {
	status := cmp.Or(fault.Status, http.StatusBadRequest)
	if status == http.StatusTooManyRequests || fault.Code == "RequestLimitExceeded" || fault.Code == "Throttling" {
		if sts {
			return &apiError{http.StatusBadRequest, "Throttling", cmp.Or(fault.Message, "Rate exceeded")}
		}
		return &apiError{http.StatusServiceUnavailable, "RequestLimitExceeded", cmp.Or(fault.Message, "Request limit exceeded.")}
	}
	code, msg := fault.Or(statusError(status, sts))
	return &apiError{status, code, msg}
}

func statusError(status int, sts bool) (code, msg string) {
	switch status {
	case http.StatusServiceUnavailable:
		if sts {
			return "ServiceUnavailable", "Service is unavailable"
		}
		return "Unavailable", "The service is unavailable. Please try again shortly."
	case http.StatusInternalServerError:
		return "InternalError", "An internal error has occurred"
	case http.StatusUnauthorized:
		return "AuthFailure", "AWS was not able to validate the provided access credentials"
	case http.StatusForbidden:
		return "UnauthorizedOperation", "You are not authorized to perform this operation."
	}
	return "InvalidParameterValue", "The fake was told to fail this request."
}
