// Package alibabafake is a test double: an in-memory Alibaba Cloud ECS API
// on a local httptest server, for tests only. It speaks the real RPC wire
// format of ECS 2014-05-26 — POST /?Action=...&Version=...&Format=JSON with
// HMAC-SHA1 signed query parameters (the signature is checked against the
// fake credentials), JSON answers shaped like ECS's ({"RequestId":..,
// "Images":{"Image":[..]},"TotalCount":..}), and errors as ECS sends them:
// {"RequestId","HostId","Code","Message","Recommend"} with the HTTP status
// ECS uses and an x-acs-request-id header. Instances move through Pending,
// Starting and Running (and Stopping, Stopped, released) one step per
// DescribeInstances, as a real instance takes time. DescribeImages
// filters as ECS does: by region, owner, ID, status, tags and ImageName (a
// fuzzy search: a part of the name), which alicloud-ecs's pre-validation
// uses to refuse an image name that is taken.
//
// It holds one VPC with one VSwitch (VPCID, VSwitchID in Region/Zone),
// standing for the user's own network, and the public images that
// AddPublicImage adds; Live lists none of them.
//
// It also serves what packer-plugin-alicloud's alicloud-ecs builder calls
// (builder.go, network.go): VPCs, VSwitches, zones, EIPs, CreateInstance,
// CreateImage, AddTags, key pairs, image families and sharing, so the
// real plugin can run a whole build against it (StartTLS: the plugin is
// built to call ECS over HTTPS). The answers' field names are checked
// against the SDK's response types in testdata/ecs-sdk (TestAnswersMatchTheSDKModel).
package alibabafake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// The fake's fixed world.
const (
	AccessKeyID     = "fake-access-key-id-LTAIfake"
	AccessKeySecret = "fake-access-key-secret-do-not-use"
	Region          = "cn-hangzhou"
	Zone            = "cn-hangzhou-h"
	VPCID           = "vpc-fake00001"
	VSwitchID       = "vsw-fake00001"
	SindriVersion   = cloudtest.SindriVersion
	apiVersion      = "2014-05-26"
)

// Kinds of Live resources besides the cloud.Kind* ones.
const (
	KindImage    = "image"
	KindSnapshot = "snapshot"
	KindVPC      = "vpc"
	KindVSwitch  = "vswitch"
	KindEIP      = "eip"
)

var _ cloudtest.Fake = (*Fake)(nil)

// Fake is an in-memory ECS. The zero value is not usable; call New.
// Faults injects failures and hangs (matched against the request line
// "POST Action=<action>") and records every request.
type Fake struct {
	cloudtest.Faults
	srv   *httptest.Server
	tls   *httptest.Server // StartTLS: the same fake over HTTPS
	close sync.Once

	mu        sync.Mutex
	seq       int
	images    map[string]*image
	snapshots map[string]*resource
	instances map[string]*instance
	disks     map[string]*disk
	groups    map[string]*group
	keys      map[string]*resource
	vpcs      map[string]*vpc
	vswitches map[string]*vswitch
	eips      map[string]*eip
	tokens    map[string]string // ClientToken → created ID
	lastReqID string
}

type resource struct {
	id, name, region string
	tags             map[string]string
	created          time.Time
}

type image struct {
	resource
	status      string
	snapshots   []string
	owner       string // self, or system for AddPublicImage's
	family      string
	description string
	sharedWith  []string
}

// instance is an ECS instance; released ones are listed once more while
// they stop, then removed.
type instance struct {
	resource
	status       string
	imageID      string
	instanceType string
	vswitch      string
	groups       []string
	publicIP     string
	bandwidthOut int
	userData     string
	releasing    bool
	releasedAt   time.Time
	afterPending string // the status after Pending: Starting (RunInstances) or Stopped (CreateInstance)
	keyPair      string
	eip          string // the allocation ID of its EIP
}

type disk struct {
	resource
	status             string // In_use or Available
	kind               string // system or data
	category           string
	size               int
	instanceID         string
	deleteWithInstance bool
}

// Rule is one ingress rule of a security group.
type Rule struct {
	Protocol, PortRange, SourceCidr, Policy string
}

type group struct {
	resource
	vpc    string
	rules  []Rule
	egress []Rule // DestCidrIp in SourceCidr
}

// New starts the fake on 127.0.0.1; it stops when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{
		images:    map[string]*image{},
		snapshots: map[string]*resource{},
		instances: map[string]*instance{},
		disks:     map[string]*disk{},
		groups:    map[string]*group{},
		keys:      map[string]*resource{},
		vpcs:      map[string]*vpc{},
		vswitches: map[string]*vswitch{},
		eips:      map[string]*eip{},
		tokens:    map[string]string{},
	}
	user := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.vpcs[VPCID] = &vpc{resource: resource{id: VPCID, name: "fake", region: Region, tags: map[string]string{}, created: user}, cidr: "172.16.0.0/12", status: "Available", user: true}
	f.vswitches[VSwitchID] = &vswitch{resource: resource{id: VSwitchID, name: "fake", region: Region, tags: map[string]string{}, created: user}, vpc: VPCID, zone: Zone, cidr: "172.16.0.0/24", status: "Available", user: true}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// Close stops the server, releasing hanging requests first (closing their
// connections ends them).
func (f *Fake) Close() {
	f.close.Do(func() {
		for _, s := range []*httptest.Server{f.srv, f.tls} {
			if s != nil {
				cloudtest.Stop(s)
			}
		}
	})
}

// StartTLS serves the same fake (one state) over HTTPS as well, with
// httptest's certificate for 127.0.0.1, and returns its host:port, what
// the alicloud-ecs builder's custom_endpoint_ecs takes (the plugin this
// project builds calls ECS over HTTPS only). CertPEM is the certificate
// to trust (SSL_CERT_FILE).
func (f *Fake) StartTLS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tls == nil {
		f.tls = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	}
	return strings.TrimPrefix(f.tls.URL, "https://")
}

// CertPEM is the PEM certificate of StartTLS's server.
func (f *Fake) CertPEM() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tls == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.tls.Certificate().Raw})
}

// URL is the fake's base URL (http://127.0.0.1:PORT).
func (f *Fake) URL() string { return f.srv.URL }

// Env points the zero value alibaba.Cloud at the fake with its fake
// credentials, and turns the SDK's ECS metadata (RAM role) probe off.
func (f *Fake) Env() map[string]string {
	return map[string]string{
		"SINDRI_ALIBABA_ENDPOINT":             f.srv.URL,
		"ALICLOUD_ACCESS_KEY":                 AccessKeyID,
		"ALICLOUD_SECRET_KEY":                 AccessKeySecret,
		"ALICLOUD_SECURITY_TOKEN":             "",
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
	}
}

func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%sfake%06d", prefix, f.seq)
}

// ImageSpec describes an image for AddImage.
type ImageSpec struct {
	Name    string
	Tags    map[string]string
	Status  string // default Available
	Region  string // default Region
	Created time.Time
	Family  string // the image family (ImageFamily)
}

// AddImage adds an image (with one system-disk snapshot) and returns its ID.
func (f *Fake) AddImage(s ImageSpec) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Status == "" {
		s.Status = "Available"
	}
	if s.Region == "" {
		s.Region = Region
	}
	if s.Created.IsZero() {
		s.Created = time.Now()
	}
	snap := &resource{id: f.nextID("s-"), name: "image snapshot", region: s.Region, tags: map[string]string{}, created: s.Created}
	f.snapshots[snap.id] = snap
	im := &image{resource: resource{id: f.nextID("m-"), name: s.Name, region: s.Region, tags: cloudtest.CopyTags(s.Tags), created: s.Created.UTC()},
		status: s.Status, snapshots: []string{snap.id}, owner: "self", family: s.Family}
	f.images[im.id] = im
	return im.id
}

// AddPublicImage adds an Alibaba Cloud public image (ImageOwnerAlias
// system) of family in Region, such as the acs:ubuntu_24_04_x64 the
// default config builds from, and returns its ID. Live does not list it.
func (f *Fake) AddPublicImage(name, family string, created time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	im := &image{resource: resource{id: name, name: name, region: Region, tags: map[string]string{}, created: created.UTC()},
		status: "Available", owner: "system", family: family}
	f.images[im.id] = im
	return im.id
}

// SeedImage adds an image this tool made: managed-by, config-hash and
// sindri-version tags, Available.
func (f *Fake) SeedImage(name, configHash string, created time.Time) string {
	return f.AddImage(ImageSpec{Name: name, Created: created, Tags: cloudtest.SeedImageTags(configHash)})
}

// AddInstance adds a Running instance with a system disk (deleted with
// it), both carrying tags, and returns the instance ID.
func (f *Fake) AddInstance(name string, tags map[string]string, created time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addInstance(name, tags, created)
}

func (f *Fake) addInstance(name string, tags map[string]string, created time.Time) string {
	in := &instance{
		resource: resource{id: f.nextID("i-"), name: name, region: Region, tags: cloudtest.CopyTags(tags), created: created.UTC()},
		status:   "Running", instanceType: "ecs.g6.xlarge", vswitch: VSwitchID, bandwidthOut: 10,
	}
	in.publicIP = f.publicIP()
	f.instances[in.id] = in
	f.addSystemDisk(in, "cloud_essd", 80)
	return in.id
}

func (f *Fake) publicIP() string { return fmt.Sprintf("198.51.100.%d", 1+f.seq%250) }

func (f *Fake) addSystemDisk(in *instance, category string, size int) {
	d := &disk{
		resource: resource{id: f.nextID("d-"), name: "", region: in.region, tags: cloudtest.CopyTags(in.tags), created: in.created},
		status:   "In_use", kind: "system", category: category, size: size, instanceID: in.id, deleteWithInstance: true,
	}
	f.disks[d.id] = d
}

// SeedLeftover adds a temporary resource tagged with runID, as a crashed
// run leaves it: an instance (with its system disk), a detached data
// disk, a security group in the fake VPC or a key pair. ECS has no other
// kind of leftover the sweeper handles; other kinds panic.
func (f *Fake) SeedLeftover(kind, runID string, created time.Time) string {
	tags := cloudtest.LeftoverTags(runID)
	f.mu.Lock()
	defer f.mu.Unlock()
	created = created.UTC()
	switch kind {
	case "instance":
		return f.addInstance("sindri-test-"+runID, tags, created)
	case "disk":
		d := &disk{resource: resource{id: f.nextID("d-"), name: "sindri-" + runID, region: Region, tags: tags, created: created},
			status: "Available", kind: "data", category: "cloud_essd", size: 20}
		f.disks[d.id] = d
		return d.id
	case "security-group":
		g := &group{resource: resource{id: f.nextID("sg-"), name: "sindri-ssh-" + runID, region: Region, tags: tags, created: created}, vpc: VPCID}
		f.groups[g.id] = g
		return g.id
	case "key-pair":
		k := &resource{id: fmt.Sprintf("sindri-%s-%d", runID, f.seq), region: Region, tags: tags, created: created}
		f.seq++
		k.name = k.id
		f.keys[k.id] = k
		return k.id
	}
	panic("alibabafake: no leftover of kind " + kind + " on Alibaba Cloud (instance, disk, security-group, key-pair)")
}

// Live returns every resource that exists now, sorted by kind then ID.
// Instances being released still count until ECS stops listing them.
func (f *Fake) Live() []cloudtest.FakeResource {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cloudtest.FakeResource
	add := func(kind string, r resource, state string) {
		out = append(out, cloudtest.FakeResource{Kind: kind, ID: r.id, Name: r.name, Region: r.region, State: state, Tags: cloudtest.CopyTags(r.tags), Created: r.created})
	}
	for _, im := range f.images {
		if im.owner == "self" {
			add(KindImage, im.resource, im.status)
		}
	}
	for _, v := range f.vpcs {
		if !v.user {
			add(KindVPC, v.resource, v.status)
		}
	}
	for _, v := range f.vswitches {
		if !v.user {
			add(KindVSwitch, v.resource, v.status)
		}
	}
	for _, e := range f.eips {
		add(KindEIP, e.resource, e.status)
	}
	for _, s := range f.snapshots {
		add(KindSnapshot, *s, "accomplished")
	}
	for _, in := range f.instances {
		add("instance", in.resource, in.status)
	}
	for _, d := range f.disks {
		add("disk", d.resource, d.status)
	}
	for _, g := range f.groups {
		add("security-group", g.resource, "")
	}
	for _, k := range f.keys {
		add("key-pair", *k, "")
	}
	return cloudtest.SortLive(out)
}

// Rules returns the ingress rules of a security group (nil when absent).
func (f *Fake) Rules(groupID string) []Rule {
	return cloudtest.Read(&f.mu, f.groups, groupID, func(g *group) []Rule { return slices.Clone(g.rules) })
}

// Params returns the parameters (query and form) of every request of
// action, oldest first.
func (f *Fake) Params(action string) []url.Values {
	var out []url.Values
	for _, c := range f.Calls("Action=" + action) {
		if p := params(c.Query, c.Body); p.Get("Action") == action {
			out = append(out, p)
		}
	}
	return out
}

// params merges a request's query and its form body, as ECS reads them.
func params(query url.Values, body []byte) url.Values {
	p := url.Values{}
	for k, v := range query {
		p[k] = v
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range form {
		p[k] = v
	}
	return p
}

// LookupEnv reads Env: cloud.Env(f.LookupEnv) points an alibaba.Cloud at
// the fake without touching the process environment.
func (f *Fake) LookupEnv(key string) (string, bool) {
	return cloudtest.EnvOf(f)(key)
}

// LastRequestID is the RequestId of the last answer.
func (f *Fake) LastRequestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastReqID
}

func codeFor(status int) (string, string) {
	switch status {
	case http.StatusTooManyRequests:
		return "Throttling", "Request was denied due to request throttling."
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
	case http.StatusInternalServerError:
		return "InternalError", "The request processing has failed due to some unknown error, exception or failure."
	case http.StatusForbidden:
		return "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM."
	case http.StatusNotFound:
		return "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
	}
	return "InvalidParameter", "The specified parameter is not valid."
}

// apiError is an ECS error answer.
type apiError struct {
	status        int
	code, message string
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p := params(r.URL.Query(), body)
	action := p.Get("Action")
	fault, faulted := f.Intercept(r, r.Method+" Action="+action, body)

	f.mu.Lock()
	f.seq++
	reqID := fmt.Sprintf("FAKE-%04d-%s", f.seq, strings.ToUpper(action))
	f.lastReqID = reqID
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	if faulted {
		if !fault.Hang {
			writeError(w, reqID, faultError(fault))
		}
		return
	}
	if aerr := f.authenticate(r.Method, p); aerr != nil {
		writeError(w, reqID, aerr)
		return
	}
	f.mu.Lock()
	answer, aerr := f.dispatch(action, p)
	f.mu.Unlock()
	if aerr != nil {
		writeError(w, reqID, aerr)
		return
	}
	answer["RequestId"] = reqID
	data, _ := json.Marshal(answer)
	_, _ = w.Write(data)
}

// faultError is an injected fault in ECS's words: its own code and
// message, or the usual ones for the status.
func faultError(x cloudtest.Fault) *apiError {
	code, msg := x.Or(codeFor(x.Status))
	return &apiError{status: x.Status, code: code, message: msg}
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	data, _ := json.Marshal(map[string]string{
		"RequestId": reqID,
		"HostId":    "ecs.aliyuncs.com",
		"Code":      e.code,
		"Message":   e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=Ecs",
	})
	w.WriteHeader(e.status)
	_, _ = w.Write(data)
}

// authenticate checks the common parameters and the HMAC-SHA1 signature
// the way ECS does.
func (f *Fake) authenticate(method string, p url.Values) *apiError {
	for _, k := range []string{"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Signature"} {
		if p.Get(k) == "" {
			return errf(400, "MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", k)
		}
	}
	if p.Get("Version") != apiVersion {
		return errf(400, "InvalidVersion", "Specified parameter Version is not valid.")
	}
	if p.Get("Format") != "JSON" || p.Get("SignatureMethod") != "HMAC-SHA1" {
		return errf(400, "InvalidParameter", "Format must be JSON and SignatureMethod HMAC-SHA1 in this fake.")
	}
	if p.Get("AccessKeyId") != AccessKeyID {
		return errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, percentEncode(k)+"="+percentEncode(p.Get(k)))
	}
	toSign := method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(AccessKeySecret+"&"))
	mac.Write([]byte(toSign))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		return errf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", toSign)
	}
	if p.Get("RegionId") == "" && p.Get("Action") != "DescribeRegions" {
		return errf(400, "MissingRegionId", "RegionId is mandatory for this action.")
	}
	return nil
}

// percentEncode is ECS's RFC 3986 encoding for signatures.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

func (f *Fake) dispatch(action string, p url.Values) (map[string]any, *apiError) {
	f.finishReleases()
	if h, ok := builderActions[action]; ok {
		return h(f, p)
	}
	switch action {
	case "DescribeRegions":
		return f.describeRegions()
	case "DescribeImages":
		return f.describeImages(p)
	case "DeleteImage":
		return f.deleteImage(p)
	case "DeleteSnapshot":
		return f.deleteSnapshot(p)
	case "ModifyImageAttribute":
		return f.modifyImageAttribute(p)
	case "TagResources":
		return f.tagResources(p)
	case "CreateSecurityGroup":
		return f.createSecurityGroup(p)
	case "AuthorizeSecurityGroup":
		return f.authorizeSecurityGroup(p)
	case "DescribeSecurityGroups":
		return f.describeSecurityGroups(p)
	case "DeleteSecurityGroup":
		return f.deleteSecurityGroup(p)
	case "RunInstances":
		return f.runInstances(p)
	case "DescribeInstances":
		return f.describeInstances(p)
	case "DeleteInstance":
		return f.deleteInstance(p)
	case "StopInstance":
		return f.changeStatus(p, "Running", "Stopping")
	case "StartInstance":
		return f.changeStatus(p, "Stopped", "Starting")
	case "DescribeDisks":
		return f.describeDisks(p)
	case "DeleteDisk":
		return f.deleteDisk(p)
	case "DescribeKeyPairs":
		return f.describeKeyPairs(p)
	case "DeleteKeyPairs":
		return f.deleteKeyPairs(p)
	}
	return nil, errf(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
}

// --- parameter helpers ---

func required(p url.Values, name string) (string, *apiError) {
	v := p.Get(name)
	if v == "" {
		return "", errf(400, "MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", name)
	}
	return v, nil
}

// tagParams reads Tag.N.Key / Tag.N.Value.
func tagParams(p url.Values) map[string]string {
	out := map[string]string{}
	for n := 1; n <= 20; n++ {
		k := p.Get("Tag." + strconv.Itoa(n) + ".Key")
		if k == "" {
			continue
		}
		out[k] = p.Get("Tag." + strconv.Itoa(n) + ".Value")
	}
	return out
}

// repeated reads Name.1, Name.2, ...
func repeated(p url.Values, name string) []string {
	var out []string
	for n := 1; ; n++ {
		v := p.Get(name + "." + strconv.Itoa(n))
		if v == "" {
			return out
		}
		out = append(out, v)
	}
}

// jsonIDs reads a parameter holding a JSON array of IDs.
func jsonIDs(p url.Values, name string) ([]string, *apiError) {
	v := p.Get(name)
	if v == "" {
		return nil, nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(v), &ids); err != nil {
		return nil, errf(400, "InvalidParameter", "The specified parameter %q is not a valid JSON array.", name)
	}
	return ids, nil
}

func matchTags(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || (v != "" && hv != v) {
			return false
		}
	}
	return true
}

func tagList(tags map[string]string) map[string]any {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	list := []map[string]string{}
	for _, k := range keys {
		list = append(list, map[string]string{"TagKey": k, "TagValue": tags[k]})
	}
	return map[string]any{"Tag": list}
}

// regional is what the fake keeps by ID in a region: a *resource, or a
// type that embeds resource.
type regional interface{ res() *resource }

func (r *resource) res() *resource { return r }

// find reads the ID parameter key and returns its resource in m when it
// is in the request's region; else ECS's Invalid<key>.NotFound.
func find[T regional](p url.Values, m map[string]T, key string) (T, *apiError) {
	var none T
	id, aerr := required(p, key)
	if aerr != nil {
		return none, aerr
	}
	x, ok := m[id]
	if !ok || x.res().region != p.Get("RegionId") {
		return none, errf(404, "Invalid"+key+".NotFound", "The specified %s does not exist.", key)
	}
	return x, nil
}

// remove deletes the resource the request's key names (find) and answers
// ECS's empty success, unless refuse gives the error ECS answers while
// the resource is in use.
func remove[T regional](p url.Values, m map[string]T, key string, refuse func(T) *apiError) (map[string]any, *apiError) {
	x, aerr := find(p, m, key)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := refuse(x); aerr != nil {
		return nil, aerr
	}
	delete(m, x.res().id)
	return map[string]any{}, nil
}

// describe answers a paged Describe call: the resources in the request's
// region that carry its Tag.N tags and pass keep, sorted by ID, the page
// asked for (PageSize at most maxSize) each as view makes it, under
// list.item with ECS's TotalCount (how many were picked), PageNumber and
// PageSize.
func describe[T regional](p url.Values, all map[string]T, keep func(T) bool, maxSize int, list, item string, view func(T) map[string]any) (map[string]any, *apiError) {
	want := tagParams(p)
	var picked []T
	for _, x := range all {
		if r := x.res(); r.region == p.Get("RegionId") && matchTags(r.tags, want) && keep(x) {
			picked = append(picked, x)
		}
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].res().id < picked[j].res().id })
	pg, num, size, aerr := page(p, picked, maxSize)
	if aerr != nil {
		return nil, aerr
	}
	out := []map[string]any{}
	for _, x := range pg {
		out = append(out, view(x))
	}
	return map[string]any{"TotalCount": len(picked), "PageNumber": num, "PageSize": size, list: map[string]any{item: out}}, nil
}

// page cuts a sorted list by PageNumber/PageSize (defaults 1 and 10, as
// ECS's).
func page[T any](p url.Values, items []T, maxSize int) ([]T, int, int, *apiError) {
	num, size := 1, 10
	if v := p.Get("PageNumber"); v != "" {
		num, _ = strconv.Atoi(v)
	}
	if v := p.Get("PageSize"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if num < 1 || size < 1 || size > maxSize {
		return nil, 0, 0, errf(400, "InvalidParameter", "The specified PageNumber or PageSize is not valid (PageSize at most %d).", maxSize)
	}
	start := min((num-1)*size, len(items))
	end := min(start+size, len(items))
	return items[start:end], num, size, nil
}

func stamp(t time.Time) string       { return t.UTC().Format("2006-01-02T15:04:05Z") }
func stampMinute(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

func (f *Fake) describeRegions() (map[string]any, *apiError) {
	regions := []map[string]string{}
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1"} {
		regions = append(regions, map[string]string{"RegionId": r, "LocalName": r, "RegionEndpoint": "ecs." + r + ".aliyuncs.com", "Status": "available"})
	}
	return map[string]any{"Regions": map[string]any{"Region": regions}}, nil
}

// --- images ---

func (f *Fake) describeImages(p url.Values) (map[string]any, *apiError) {
	region := p.Get("RegionId")
	statuses := strings.Split(p.Get("Status"), ",")
	if p.Get("Status") == "" {
		statuses = []string{"Available"} // ECS's default
	}
	var ids []string
	if v := p.Get("ImageId"); v != "" {
		ids = strings.Split(v, ",")
	}
	// Without ImageOwnerAlias ECS lists system, self and others' images.
	owner := p.Get("ImageOwnerAlias")
	want := tagParams(p)
	name := p.Get("ImageName") // a fuzzy search: part of the name
	var list []*image
	for _, im := range f.images {
		if im.region != region || !slices.Contains(statuses, im.status) || (owner != "" && owner != im.owner) ||
			(ids != nil && !slices.Contains(ids, im.id)) || !matchTags(im.tags, want) || !strings.Contains(im.name, name) ||
			(p.Get("ImageFamily") != "" && p.Get("ImageFamily") != im.family) {
			continue
		}
		list = append(list, im)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].created.Equal(list[j].created) {
			return list[i].created.After(list[j].created)
		}
		return list[i].id < list[j].id
	})
	pg, num, size, aerr := page(p, list, 100)
	if aerr != nil {
		return nil, aerr
	}
	out := []map[string]any{}
	for _, im := range pg {
		out = append(out, imageJSON(im))
		if im.status == "Creating" { // it is ready at the next look
			im.status = "Available"
		}
	}
	return map[string]any{"RegionId": region, "TotalCount": len(list), "PageNumber": num, "PageSize": size, "Images": map[string]any{"Image": out}}, nil
}

// imageJSON is an image as DescribeImages and DescribeImageFromFamily
// show it.
func imageJSON(im *image) map[string]any {
	maps := []map[string]any{}
	for _, s := range im.snapshots {
		maps = append(maps, map[string]any{"SnapshotId": s, "Device": "/dev/xvda", "Size": "80", "Type": "system", "Format": "", "Progress": "100%"})
	}
	progress := "100%"
	if im.status == "Creating" {
		progress = "50%"
	}
	return map[string]any{
		"ImageId": im.id, "ImageName": im.name, "ImageOwnerAlias": im.owner, "Status": im.status,
		"CreationTime": stamp(im.created), "Size": 80, "OSType": "linux", "Architecture": "x86_64",
		"Platform": "Ubuntu", "IsPublic": im.owner == "system", "IsSelfShared": "", "Usage": "none", "Progress": progress,
		"ImageFamily": im.family, "Description": im.description,
		"Tags":               tagList(im.tags),
		"DiskDeviceMappings": map[string]any{"DiskDeviceMapping": maps},
	}
}

// image is the request's ImageId among the images this account owns.
func (f *Fake) image(p url.Values) (*image, *apiError) {
	im, aerr := find(p, f.images, "ImageId")
	if aerr == nil && im.owner != "self" {
		return nil, errf(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	}
	return im, aerr
}

func (f *Fake) deleteImage(p url.Values) (map[string]any, *apiError) {
	im, aerr := f.image(p)
	if aerr != nil {
		return nil, aerr
	}
	if p.Get("Force") != "true" {
		for _, in := range f.instances {
			if in.imageID == im.id {
				return nil, errf(403, "ImageUsedByInstance", "The specified image is in use by instances; use Force.")
			}
		}
	}
	delete(f.images, im.id) // its snapshots stay, as on ECS
	return map[string]any{}, nil
}

func (f *Fake) deleteSnapshot(p url.Values) (map[string]any, *apiError) {
	id, aerr := required(p, "SnapshotId")
	if aerr != nil {
		return nil, aerr
	}
	if f.snapshots[id] == nil {
		return nil, errf(404, "InvalidSnapshotId.NotFound", "The specified SnapshotId does not exist.")
	}
	for _, im := range f.images {
		if slices.Contains(im.snapshots, id) {
			return nil, errf(403, "SnapshotCreatedImage", "The snapshot has been used to create user defined image(s).")
		}
	}
	delete(f.snapshots, id)
	return map[string]any{}, nil
}

func (f *Fake) modifyImageAttribute(p url.Values) (map[string]any, *apiError) {
	im, aerr := f.image(p)
	if aerr != nil {
		return nil, aerr
	}
	switch st := p.Get("Status"); st {
	case "":
	case "Deprecated", "Available":
		if im.status != "Available" && im.status != "Deprecated" {
			return nil, errf(403, "IncorrectImageStatus", "The current status of the image does not support this operation.")
		}
		im.status = st
	default:
		return nil, errf(400, "InvalidStatus.ValueNotSupported", "The specified Status is not supported.")
	}
	if n := p.Get("ImageName"); n != "" {
		im.name = n
	}
	return map[string]any{}, nil
}

func (f *Fake) tagResources(p url.Values) (map[string]any, *apiError) {
	typ, aerr := required(p, "ResourceType")
	if aerr != nil {
		return nil, aerr
	}
	ids := repeated(p, "ResourceId")
	tags := tagParams(p)
	if len(ids) == 0 || len(tags) == 0 {
		return nil, errf(400, "MissingParameter", "ResourceId.N and Tag.N are mandatory.")
	}
	for _, id := range ids {
		var r *resource
		switch typ {
		case "image":
			if im := f.images[id]; im != nil {
				r = &im.resource
			}
		case "instance":
			if in := f.instances[id]; in != nil {
				r = &in.resource
			}
		case "disk":
			if d := f.disks[id]; d != nil {
				r = &d.resource
			}
		case "securitygroup":
			if g := f.groups[id]; g != nil {
				r = &g.resource
			}
		case "snapshot":
			r = f.snapshots[id]
		case "keypair":
			r = f.keys[id]
		default:
			return nil, errf(400, "InvalidResourceType.NotFound", "The specified ResourceType is not valid.")
		}
		if r == nil || r.region != p.Get("RegionId") {
			return nil, errf(404, "InvalidResourceId.NotFound", "The specified ResourceIds are not found in our records.")
		}
		for k, v := range tags {
			r.tags[k] = v
		}
	}
	return map[string]any{}, nil
}

// --- network ---

func (f *Fake) createSecurityGroup(p url.Values) (map[string]any, *apiError) {
	vpc := p.Get("VpcId")
	if v := f.vpcs[vpc]; vpc != "" && (v == nil || v.region != p.Get("RegionId")) {
		return nil, errf(404, "InvalidVpcId.NotFound", "The specified VpcId does not exist.")
	}
	if id := f.token(p); id != "" {
		return map[string]any{"SecurityGroupId": id}, nil
	}
	g := &group{resource: resource{id: f.nextID("sg-"), name: p.Get("SecurityGroupName"), region: p.Get("RegionId"), tags: tagParams(p), created: time.Now().UTC()}, vpc: vpc}
	f.groups[g.id] = g
	f.remember(p, g.id)
	return map[string]any{"SecurityGroupId": g.id}, nil
}

func (f *Fake) authorizeSecurityGroup(p url.Values) (map[string]any, *apiError) {
	return f.authorize(p, "SourceCidrIp", "SourceGroupId", func(g *group) *[]Rule { return &g.rules })
}

// authorize adds the rule of an Authorize call to the group's list that
// rules picks (its ingress rules or its egress); the peer is cidrKey's
// CIDR (kept in SourceCidr) or groupKey's group.
func (f *Fake) authorize(p url.Values, cidrKey, groupKey string, rules func(*group) *[]Rule) (map[string]any, *apiError) {
	g, aerr := find(p, f.groups, "SecurityGroupId")
	if aerr != nil {
		return nil, aerr
	}
	rule := Rule{Protocol: p.Get("IpProtocol"), PortRange: p.Get("PortRange"), SourceCidr: p.Get(cidrKey), Policy: p.Get("Policy")}
	if rule.Protocol == "" || rule.PortRange == "" {
		return nil, errf(400, "MissingParameter", "IpProtocol and PortRange are mandatory.")
	}
	if rule.SourceCidr == "" && p.Get(groupKey) == "" {
		return nil, errf(400, "MissingParameter", "One of %s and %s is mandatory.", cidrKey, groupKey)
	}
	list := rules(g)
	*list = append(*list, rule)
	return map[string]any{}, nil
}

func (f *Fake) describeSecurityGroups(p url.Values) (map[string]any, *apiError) {
	ids, aerr := jsonIDs(p, "SecurityGroupIds")
	if aerr != nil {
		return nil, aerr
	}
	ans, aerr := describe(p, f.groups, func(g *group) bool { return ids == nil || slices.Contains(ids, g.id) }, 50, "SecurityGroups", "SecurityGroup", func(g *group) map[string]any {
		n := 0
		for _, in := range f.instances {
			if slices.Contains(in.groups, g.id) {
				n++
			}
		}
		return map[string]any{
			"SecurityGroupId": g.id, "SecurityGroupName": g.name, "VpcId": g.vpc, "SecurityGroupType": "normal",
			"CreationTime": stamp(g.created), "Description": "", "EcsCount": n, "Tags": tagList(g.tags),
		}
	})
	if aerr == nil {
		ans["RegionId"] = p.Get("RegionId")
	}
	return ans, aerr
}

func (f *Fake) deleteSecurityGroup(p url.Values) (map[string]any, *apiError) {
	return remove(p, f.groups, "SecurityGroupId", func(g *group) *apiError {
		for _, in := range f.instances {
			if slices.Contains(in.groups, g.id) {
				return errf(403, "DependencyViolation", "There is still instance(s) in the specified security group.")
			}
		}
		return nil
	})
}

// --- instances ---

var diskCategories = []string{"cloud_essd", "cloud_ssd", "cloud_efficiency", "cloud_auto", "cloud"}

func (f *Fake) runInstances(p url.Values) (map[string]any, *apiError) {
	answer := func(id string) map[string]any {
		return map[string]any{"InstanceIdSets": map[string]any{"InstanceIdSet": []string{id}}, "TradePrice": 0}
	}
	if id := f.token(p); id != "" {
		return answer(id), nil
	}
	imageID, aerr := required(p, "ImageId")
	if aerr != nil {
		return nil, aerr
	}
	if _, aerr := required(p, "InstanceType"); aerr != nil {
		return nil, aerr
	}
	im := f.images[imageID]
	if im == nil || im.region != p.Get("RegionId") || (im.status != "Available" && im.status != "Deprecated") {
		return nil, errf(404, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	}
	in, aerr := f.newInstance(p, im, "Starting")
	if aerr != nil {
		return nil, aerr
	}
	return answer(in.id), nil
}

// newInstance makes the Pending instance of a RunInstances or a
// CreateInstance from im, with its system disk: after Pending it becomes
// afterPending.
func (f *Fake) newInstance(p url.Values, im *image, afterPending string) (*instance, *apiError) {
	vsw, sg, aerr := f.placement(p)
	if aerr != nil {
		return nil, aerr
	}
	if z := p.Get("ZoneId"); z != "" && z != f.vswitches[vsw].zone {
		return nil, errf(400, "InvalidVSwitchId.NotBelongToZone", "The specified VSwitch does not belong to the specified zone.")
	}
	userData := ""
	if v := p.Get("UserData"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, errf(400, "InvalidUserData.Base64FormatInvalid", "The specified UserData is not valid base64.")
		}
		userData = string(b)
	}
	category := p.Get("SystemDisk.Category")
	if category == "" {
		category = "cloud_efficiency"
	}
	if !slices.Contains(diskCategories, category) {
		return nil, errf(400, "InvalidSystemDiskCategory.ValueNotSupported", "The specified SystemDisk.Category is not supported.")
	}
	size, _ := strconv.Atoi(p.Get("SystemDisk.Size"))
	if size == 0 {
		size = 40
	}
	bw, _ := strconv.Atoi(p.Get("InternetMaxBandwidthOut"))
	in := &instance{
		resource: resource{id: f.nextID("i-"), name: p.Get("InstanceName"), region: p.Get("RegionId"), tags: tagParams(p), created: time.Now().UTC()},
		status:   "Pending", imageID: im.id, instanceType: p.Get("InstanceType"), vswitch: vsw,
		groups: []string{sg}, bandwidthOut: bw, userData: userData, afterPending: afterPending,
	}
	f.instances[in.id] = in
	f.addSystemDisk(in, category, size)
	f.remember(p, in.id)
	return in, nil
}

// advance moves an instance one step through its life, as time passes
// between two looks at it. It reports false when the instance is gone.
func (f *Fake) advance(in *instance) bool {
	switch {
	case in.releasing:
		f.release(in)
		return false
	case in.status == "Pending":
		in.status = in.afterPending
	case in.status == "Starting":
		in.status = "Running"
		if in.bandwidthOut > 0 && in.publicIP == "" {
			in.publicIP = f.publicIP()
		}
	case in.status == "Stopping":
		in.status = "Stopped"
	}
	return true
}

// releaseAfter is how long a released instance is still there for the
// other calls (a security group it was in cannot be deleted yet), when
// no DescribeInstances looked at it meanwhile.
const releaseAfter = 2 * time.Second

// finishReleases removes the instances released more than releaseAfter ago.
func (f *Fake) finishReleases() {
	for _, in := range f.instances {
		if in.releasing && time.Since(in.releasedAt) > releaseAfter {
			f.release(in)
		}
	}
}

func (f *Fake) release(in *instance) {
	delete(f.instances, in.id)
	if e := f.eips[in.eip]; e != nil {
		e.instance, e.status = "", "Available"
	}
	for id, d := range f.disks {
		if d.instanceID != in.id {
			continue
		}
		if d.deleteWithInstance {
			delete(f.disks, id)
		} else {
			d.instanceID, d.status = "", "Available"
		}
	}
}

func (f *Fake) describeInstances(p url.Values) (map[string]any, *apiError) {
	ids, aerr := jsonIDs(p, "InstanceIds")
	if aerr != nil {
		return nil, aerr
	}
	want := tagParams(p)
	var list []*instance
	for _, in := range f.instances {
		if in.region != p.Get("RegionId") || (ids != nil && !slices.Contains(ids, in.id)) || !matchTags(in.tags, want) {
			continue
		}
		if st := p.Get("Status"); st != "" && in.status != st {
			continue
		}
		// What this answer shows is the state before the step.
		shown := *in
		f.advance(in)
		list = append(list, &shown)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	pg, num, size, aerr := page(p, list, 100)
	if aerr != nil {
		return nil, aerr
	}
	out := []map[string]any{}
	for _, in := range pg {
		pub := []string{}
		if in.publicIP != "" {
			pub = append(pub, in.publicIP)
		}
		eipJSON := map[string]any{"IpAddress": "", "AllocationId": "", "InternetChargeType": "", "Bandwidth": 0, "IsSupportUnassociate": true}
		if e := f.eips[in.eip]; e != nil {
			eipJSON = map[string]any{"IpAddress": e.ip, "AllocationId": e.id, "InternetChargeType": e.chargeType, "Bandwidth": e.bandwidth, "IsSupportUnassociate": true}
		}
		vpcID, zone := "", Zone
		if v := f.vswitches[in.vswitch]; v != nil {
			vpcID, zone = v.vpc, v.zone
		}
		out = append(out, map[string]any{
			"InstanceId": in.id, "InstanceName": in.name, "HostName": in.name, "RegionId": in.region, "ZoneId": zone,
			"Status": in.status, "ImageId": in.imageID, "InstanceType": in.instanceType,
			"CreationTime": stampMinute(in.created), "InstanceChargeType": "PostPaid", "InternetChargeType": "PayByTraffic",
			"InternetMaxBandwidthOut": in.bandwidthOut, "InstanceNetworkType": "vpc",
			"PublicIpAddress":  map[string]any{"IpAddress": pub},
			"EipAddress":       eipJSON,
			"KeyPairName":      in.keyPair,
			"InnerIpAddress":   map[string]any{"IpAddress": []string{}},
			"VpcAttributes":    map[string]any{"VpcId": vpcID, "VSwitchId": in.vswitch, "PrivateIpAddress": map[string]any{"IpAddress": []string{"172.16.0.10"}}},
			"SecurityGroupIds": map[string]any{"SecurityGroupId": in.groups},
			"Tags":             tagList(in.tags),
		})
	}
	return map[string]any{"TotalCount": len(list), "PageNumber": num, "PageSize": size, "Instances": map[string]any{"Instance": out}}, nil
}

func (f *Fake) deleteInstance(p url.Values) (map[string]any, *apiError) {
	in, aerr := find(p, f.instances, "InstanceId")
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case in.releasing:
	case in.status == "Pending":
		in.status = "Starting" // it will be deletable in a moment
		return nil, errf(403, "IncorrectInstanceStatus.Initializing", "The specified instance is in initializing state.")
	case in.status != "Stopped" && p.Get("Force") != "true":
		return nil, errf(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
	default:
		in.status, in.releasing, in.releasedAt = "Stopping", true, time.Now()
	}
	return map[string]any{}, nil
}

// changeStatus starts a StopInstance (from Running to Stopping) or a
// StartInstance (from Stopped to Starting); an instance in any other
// status, or being released, refuses it.
func (f *Fake) changeStatus(p url.Values, from, to string) (map[string]any, *apiError) {
	in, aerr := find(p, f.instances, "InstanceId")
	if aerr != nil {
		return nil, aerr
	}
	if in.status != from || in.releasing {
		return nil, errf(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
	}
	in.status = to
	return map[string]any{}, nil
}

// --- disks and key pairs ---

func (f *Fake) describeDisks(p url.Values) (map[string]any, *apiError) {
	ids, aerr := jsonIDs(p, "DiskIds")
	if aerr != nil {
		return nil, aerr
	}
	return describe(p, f.disks, func(d *disk) bool { return ids == nil || slices.Contains(ids, d.id) }, 100, "Disks", "Disk", func(d *disk) map[string]any {
		return map[string]any{
			"DiskId": d.id, "DiskName": d.name, "Status": d.status, "Type": d.kind, "Category": d.category,
			"Size": d.size, "InstanceId": d.instanceID, "DeleteWithInstance": d.deleteWithInstance,
			"Portable": d.kind == "data", "RegionId": d.region, "ZoneId": Zone, "CreationTime": stamp(d.created),
			"Tags": tagList(d.tags),
		}
	})
}

func (f *Fake) deleteDisk(p url.Values) (map[string]any, *apiError) {
	id, aerr := required(p, "DiskId")
	if aerr != nil {
		return nil, aerr
	}
	d := f.disks[id]
	if d == nil || d.region != p.Get("RegionId") {
		return nil, errf(404, "InvalidDiskId.NotFound", "The specified disk does not exist.")
	}
	if d.status != "Available" {
		return nil, errf(403, "IncorrectDiskStatus", "The current disk status does not support this operation.")
	}
	delete(f.disks, id)
	return map[string]any{}, nil
}

func (f *Fake) describeKeyPairs(p url.Values) (map[string]any, *apiError) {
	name := p.Get("KeyPairName")
	return describe(p, f.keys, func(k *resource) bool { return name == "" || name == k.name }, 50, "KeyPairs", "KeyPair", func(k *resource) map[string]any {
		return map[string]any{
			"KeyPairName": k.name, "KeyPairFingerPrint": "fa:ke:00", "CreationTime": stampMinute(k.created), "Tags": tagList(k.tags),
		}
	})
}

func (f *Fake) deleteKeyPairs(p url.Values) (map[string]any, *apiError) {
	names, aerr := jsonIDs(p, "KeyPairNames")
	if aerr != nil {
		return nil, aerr
	}
	if len(names) == 0 {
		return nil, errf(400, "MissingParameter", "KeyPairNames is mandatory.")
	}
	for _, n := range names {
		if k := f.keys[n]; k != nil && k.region == p.Get("RegionId") {
			delete(f.keys, n)
		}
	}
	return map[string]any{}, nil
}
