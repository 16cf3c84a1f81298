// Package gcpfake is a test double: an in-memory Compute Engine API on a
// local httptest server, speaking the compute/v1 REST wire format —
// /compute/v1/projects/{p}/global/images, .../zones/{z}/instances and
// friends, protojson bodies with the API's field names, long-running
// Operation resources polled through zoneOperations/globalOperations,
// filter and pageToken list parameters, requestId de-duplication, and
// {"error":{"code","message","errors":[...],"details":[RequestInfo]}}
// error bodies. Faults come from the embedded cloudtest.Faults (FailNext,
// HangNext, Inject: queued, one meaning in every fake); what is about
// Compute Engine itself stays here (BootFailure, FailInstanceInsert).
// Only tests import it.
package gcpfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// Fake is the fake API. Its zero value is not usable; call New.
type Fake struct {
	// Faults records every request (its line is "METHOD /path") and
	// answers the injected faults; a Fault without Code gets the API's
	// usual reason and message for its Status.
	cloudtest.Faults

	URL     string
	Project string // the only project that exists
	Zone    string // the zone SeedLeftover puts zonal resources in
	// NatIP is every instance's external address: loopback, so that a
	// test that dials it never leaves the machine.
	NatIP string
	// PageSize is the default and largest page of a list (the API's is
	// 500); small values exercise pageToken.
	PageSize int
	// CredentialsFile is a service-account key file with clearly fake
	// values (Env points GOOGLE_APPLICATION_CREDENTIALS at it). Its key
	// does not parse: a client that really signs a token request needs
	// KeyFile.
	CredentialsFile string

	srv    *httptest.Server
	errSeq atomic.Int64 // request ids of error bodies; no lock needed

	mu        sync.Mutex
	seq       int
	images    map[string]*computepb.Image
	instances map[string]*computepb.Instance // zone/name
	disks     map[string]*computepb.Disk     // zone/name
	firewalls map[string]*computepb.Firewall
	public    map[string]map[string]*computepb.Image // read-only projects: project → name
	ops       map[string]*op
	byReqID   map[string]string // requestId → operation name
	bootFail  bool
	insertErr *failure
}

type failure struct {
	status          int
	reason, message string
}

// op is a long-running operation: it reports RUNNING until it is polled,
// then applies finish (which may fail it) and reports DONE.
type op struct {
	proto  *computepb.Operation
	finish func() *failure
}

// New starts a fake that stops when the test ends.
func New(t testing.TB) *Fake {
	s := &Fake{
		Project:   "fake-project",
		Zone:      "us-west1-a",
		NatIP:     "127.0.0.1",
		PageSize:  500,
		images:    map[string]*computepb.Image{},
		instances: map[string]*computepb.Instance{},
		disks:     map[string]*computepb.Disk{},
		firewalls: map[string]*computepb.Firewall{},
		public:    map[string]map[string]*computepb.Image{},
		ops:       map[string]*op{},
		byReqID:   map[string]string{},
	}
	s.srv = cloudtest.Serve(t, httptest.NewServer, http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.CredentialsFile = filepath.Join(t.TempDir(), "fake-gcp-credentials.json")
	key := map[string]string{
		"type":           "service_account",
		"project_id":     s.Project,
		"private_key_id": "fake-private-key-id-0000",
		"private_key":    "-----BEGIN PRIVATE KEY-----\nZmFrZS1rZXktbm90LWEta2V5\n-----END PRIVATE KEY-----\n",
		"client_email":   "sindri-fake@fake-project.iam.gserviceaccount.com",
		"client_id":      "000000000000000000000",
		"token_uri":      s.URL + "/token", // loopback even if ever used
	}
	data, _ := json.MarshalIndent(key, "", "  ")
	if err := os.WriteFile(s.CredentialsFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

var _ cloudtest.Fake = (*Fake)(nil)

// Env points the zero-value gcp.Cloud at the fake: the endpoint (a
// loopback URL, so authentication is off), fake credentials, and the
// metadata host on the fake too, so an accidental metadata probe stays on
// this machine (and shows in Requests).
func (s *Fake) Env() map[string]string {
	host := strings.TrimPrefix(s.URL, "http://")
	return map[string]string{
		"SINDRI_GCP_ENDPOINT":            s.URL,
		"GOOGLE_APPLICATION_CREDENTIALS": s.CredentialsFile,
		"GOOGLE_CLOUD_PROJECT":           s.Project,
		"CLOUDSDK_CORE_PROJECT":          s.Project,
		"GCE_METADATA_HOST":              host,
		"GCE_METADATA_IP":                host,
	}
}

// BootFailure makes new instances stop during boot (TERMINATED), as an
// image that does not boot does.
func (s *Fake) BootFailure(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bootFail = on
}

// FailInstanceInsert makes the next instance insert's operation finish
// with this error (zone out of capacity, quota...); no instance remains.
func (s *Fake) FailInstanceInsert(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertErr = &failure{status: http.StatusServiceUnavailable, reason: code, message: message}
}

// Instance returns a copy of a stored instance, or nil.
func (s *Fake) Instance(zone, name string) *computepb.Instance {
	return cloudtest.Read(&s.mu, s.instances, zone+"/"+name, proto.CloneOf[*computepb.Instance])
}

// Firewall returns a copy of a stored firewall rule, or nil.
func (s *Fake) Firewall(name string) *computepb.Firewall {
	return cloudtest.Read(&s.mu, s.firewalls, name, proto.CloneOf[*computepb.Firewall])
}

// Image returns a copy of a stored image, or nil.
func (s *Fake) Image(name string) *computepb.Image {
	return cloudtest.Read(&s.mu, s.images, name, proto.CloneOf[*computepb.Image])
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-07:00") }

func (s *Fake) link(path string) string {
	return s.URL + "/compute/v1/projects/" + s.Project + "/" + path
}

func (s *Fake) nextID() uint64 {
	s.seq++
	return uint64(1000000000000000000 + s.seq)
}

// PutImage stores an image as given (name required), for tests that need
// images this tool did not make or odd states.
func (s *Fake) PutImage(im *computepb.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im = proto.CloneOf(im)
	if im.Id == nil {
		im.Id = proto.Uint64(s.nextID())
	}
	if im.Status == nil {
		im.Status = proto.String("READY")
	}
	if im.CreationTimestamp == nil {
		im.CreationTimestamp = proto.String(stamp(time.Now()))
	}
	im.Kind = proto.String("compute#image")
	im.SelfLink = proto.String(s.link("global/images/" + im.GetName()))
	s.images[im.GetName()] = im
}

// SeedImage adds an image with this tool's labels, as packer.go writes
// them, and returns its name (the image ID on GCP).
func (s *Fake) SeedImage(name, configHash string, created time.Time) string {
	h := strings.ToLower(configHash)
	if len(h) > 63 {
		h = h[:63]
	}
	s.PutImage(&computepb.Image{
		Name:              proto.String(name),
		CreationTimestamp: proto.String(stamp(created)),
		Labels:            map[string]string{cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: h, cloud.TagSindriVersion: "3-0-1"},
		StorageLocations:  []string{"us"},
		DiskSizeGb:        proto.Int64(80),
	})
	return name
}

func label(v string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// SeedLeftover adds a temporary resource of kind tagged with runID:
// instance (with its auto-delete boot disk), disk (unattached) or
// security-group (a firewall rule). GCP has no key pairs or per-run
// networks here: other kinds return "".
func (s *Fake) SeedLeftover(kind, runID string, created time.Time) string {
	labels := cloudtest.LeftoverTags(label(runID))
	s.mu.Lock()
	n := s.seq + 1
	s.mu.Unlock()
	base := strings.TrimRight(fmt.Sprintf("%d-%s", n, label(runID)), "-")
	switch kind {
	case cloud.KindInstance:
		name := cut63("sindri-test-" + base)
		s.SeedInstance(name, labels, created)
		return name
	case cloud.KindDisk:
		name := cut63("sindri-disk-" + base)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.disks[s.Zone+"/"+name] = s.newDisk(s.Zone, name, labels, "", created)
		return name
	case cloud.KindSecurityGroup:
		name := cut63("sindri-tmp-" + base)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.firewalls[name] = &computepb.Firewall{
			Kind: proto.String("compute#firewall"), Id: proto.Uint64(s.nextID()), Name: proto.String(name),
			Description:       proto.String(fmt.Sprintf("sindri-packer: ssh; %s=%s; %s=%s", cloud.TagRunID, runID, cloud.TagTemporary, cloud.Temporary)),
			Network:           proto.String(s.link("global/networks/default")),
			Direction:         proto.String("INGRESS"),
			Allowed:           []*computepb.Allowed{{IPProtocol: proto.String("tcp"), Ports: []string{"22"}}},
			SourceRanges:      []string{"0.0.0.0/0"},
			CreationTimestamp: proto.String(stamp(created)),
			SelfLink:          proto.String(s.link("global/firewalls/" + name)),
		}
		return name
	}
	return ""
}

func cut63(s string) string {
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.TrimRight(s, "-")
}

// SeedInstance adds a RUNNING instance in Zone with these labels (e.g. a
// deployment) and its auto-delete boot disk.
func (s *Fake) SeedInstance(name string, labels map[string]string, created time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &computepb.Instance{
		Name:        proto.String(name),
		MachineType: proto.String(s.link("zones/" + s.Zone + "/machineTypes/e2-standard-4")),
		Labels:      labels,
		Disks: []*computepb.AttachedDisk{{
			Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
			InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/" + s.Project + "/global/images/seeded"), Labels: maps.Clone(labels)},
		}},
		NetworkInterfaces: []*computepb.NetworkInterface{{
			Network:       proto.String("global/networks/default"),
			AccessConfigs: []*computepb.AccessConfig{{Name: proto.String("External NAT"), Type: proto.String("ONE_TO_ONE_NAT")}},
		}},
	}
	s.createInstance(s.Zone, in, created)
	in.Status = proto.String("RUNNING")
	in.NetworkInterfaces[0].AccessConfigs[0].NatIP = proto.String(s.NatIP)
}

// Live returns every resource that exists now, sorted by kind then ID.
// Firewall rules have no labels: their tags are read from the
// description the gcp package writes.
func (s *Fake) Live() []cloudtest.FakeResource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cloudtest.FakeResource
	for _, im := range s.images {
		out = append(out, cloudtest.FakeResource{Kind: "image", ID: im.GetName(), Name: im.GetName(), Region: "global",
			State: strings.ToLower(im.GetStatus()), Tags: im.GetLabels(), Created: parse(im.GetCreationTimestamp())})
	}
	for _, in := range s.instances {
		out = append(out, cloudtest.FakeResource{Kind: cloud.KindInstance, ID: in.GetName(), Name: in.GetName(), Region: last(in.GetZone()),
			State: strings.ToLower(in.GetStatus()), Tags: in.GetLabels(), Created: parse(in.GetCreationTimestamp())})
	}
	for _, d := range s.disks {
		out = append(out, cloudtest.FakeResource{Kind: cloud.KindDisk, ID: d.GetName(), Name: d.GetName(), Region: last(d.GetZone()),
			State: strings.ToLower(d.GetStatus()), Tags: d.GetLabels(), Created: parse(d.GetCreationTimestamp())})
	}
	for _, fw := range s.firewalls {
		tags := map[string]string{}
		for _, part := range strings.Split(fw.GetDescription(), ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
				tags[k] = v
			}
		}
		out = append(out, cloudtest.FakeResource{Kind: cloud.KindSecurityGroup, ID: fw.GetName(), Name: fw.GetName(), Region: "global",
			State: "active", Tags: tags, Created: parse(fw.GetCreationTimestamp())})
	}
	return cloudtest.SortLive(out)
}

func parse(ts string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, ts)
	return t.UTC()
}

func last(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// serve is the HTTP entry point: record and answer an injected fault
// (Faults, which holds no lock of this fake while a request hangs), then
// route under the lock.
func (s *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if s.Answered(r, r.Method+" "+r.URL.Path, body, func(fault cloudtest.Fault) {
		reason, message := faultBody(fault, s.Project)
		s.writeError(w, fault.Status, reason, message)
	}) {
		return
	}
	const prefix = "/compute/v1/projects/"
	if r.URL.Path == "/token" {
		s.token(w, r, body)
		return
	}
	if !strings.HasPrefix(r.URL.Path, prefix) {
		s.writeError(w, http.StatusNotFound, "notFound", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.public[parts[0]] != nil {
		s.publicRoute(w, r, parts[0], parts[1:], r.URL.Query())
		return
	}
	if parts[0] != s.Project {
		s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s' was not found", parts[0]))
		return
	}
	s.route(w, r, parts[1:], body)
}

// faultBody is the reason and message of an injected fault: its own, or
// the API's usual ones for its status.
func faultBody(f cloudtest.Fault, project string) (reason, message string) {
	reason, message = "backendError", "Internal error. Please try again or contact Google Support."
	switch f.Status {
	case http.StatusTooManyRequests:
		reason, message = "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'."
	case http.StatusServiceUnavailable:
		reason, message = "backendError", "The service is currently unavailable."
	case http.StatusForbidden:
		reason, message = "forbidden", "Required 'compute.images.list' permission for 'projects/"+project+"'"
	case http.StatusBadRequest:
		reason, message = "invalid", "Invalid value for field 'resource'."
	}
	return f.Or(reason, message)
}

// Routes is every method and path the router serves (besides /token), in
// the discovery document's form; model_test.go checks each against the
// Compute discovery document and drives it. A route added to the router
// belongs here too.
var Routes = []string{
	"GET projects/{project}",
	"GET projects/{project}/global/images",
	"POST projects/{project}/global/images",
	"GET projects/{project}/global/images/{image}",
	"DELETE projects/{project}/global/images/{image}",
	"POST projects/{project}/global/images/{image}/deprecate",
	"GET projects/{project}/global/images/family/{family}",
	"GET projects/{project}/global/firewalls",
	"POST projects/{project}/global/firewalls",
	"GET projects/{project}/global/firewalls/{firewall}",
	"DELETE projects/{project}/global/firewalls/{firewall}",
	"GET projects/{project}/global/operations/{operation}",
	"POST projects/{project}/global/operations/{operation}/wait",
	"GET projects/{project}/zones/{zone}",
	"GET projects/{project}/zones/{zone}/machineTypes/{machineType}",
	"GET projects/{project}/zones/{zone}/instances",
	"POST projects/{project}/zones/{zone}/instances",
	"GET projects/{project}/zones/{zone}/instances/{instance}",
	"DELETE projects/{project}/zones/{zone}/instances/{instance}",
	"POST projects/{project}/zones/{zone}/instances/{instance}/stop",
	"POST projects/{project}/zones/{zone}/instances/{instance}/start",
	"POST projects/{project}/zones/{zone}/instances/{instance}/setDiskAutoDelete",
	"GET projects/{project}/zones/{zone}/instances/{instance}/serialPort",
	"GET projects/{project}/zones/{zone}/disks",
	"GET projects/{project}/zones/{zone}/disks/{disk}",
	"DELETE projects/{project}/zones/{zone}/disks/{disk}",
	"GET projects/{project}/zones/{zone}/operations/{operation}",
	"POST projects/{project}/zones/{zone}/operations/{operation}/wait",
}

func (s *Fake) route(w http.ResponseWriter, r *http.Request, p []string, body []byte) {
	m := r.Method
	q := r.URL.Query()
	switch {
	case len(p) == 0 && m == http.MethodGet:
		s.write(w, &computepb.Project{Kind: proto.String("compute#project"), Name: proto.String(s.Project), Id: proto.Uint64(424242424242),
			SelfLink: proto.String(s.URL + "/compute/v1/projects/" + s.Project)})
	case len(p) == 2 && p[0] == "global" && p[1] == "images" && m == http.MethodGet:
		s.listImages(w, q, s.Project, s.images)
	case len(p) == 2 && p[0] == "global" && p[1] == "images" && m == http.MethodPost:
		s.insertImage(w, q, body)
	case len(p) == 4 && p[0] == "global" && p[1] == "images" && p[2] == "family" && m == http.MethodGet:
		s.fromFamily(w, s.Project, s.images, p[3])
	case len(p) == 3 && p[0] == "global" && p[1] == "images":
		s.image(w, r, p[2], q)
	case len(p) == 4 && p[0] == "global" && p[1] == "images" && p[3] == "deprecate" && m == http.MethodPost:
		s.deprecate(w, p[2], q, body)
	case len(p) == 2 && p[0] == "global" && p[1] == "firewalls" && m == http.MethodGet:
		s.listFirewalls(w, q)
	case len(p) == 2 && p[0] == "global" && p[1] == "firewalls" && m == http.MethodPost:
		s.insertFirewall(w, q, body)
	case len(p) == 3 && p[0] == "global" && p[1] == "firewalls":
		s.firewall(w, r, p[2], q)
	case (len(p) == 3 && m == http.MethodGet || len(p) == 4 && p[3] == "wait" && m == http.MethodPost) && p[0] == "global" && p[1] == "operations":
		s.operation(w, "", p[2])
	case len(p) == 2 && p[0] == "zones" && m == http.MethodGet:
		s.zone(w, p[1])
	case len(p) >= 3 && p[0] == "zones":
		s.zonal(w, r, p[1], p[2:], q, body)
	default:
		s.writeError(w, http.StatusNotFound, "notFound", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

func (s *Fake) zonal(w http.ResponseWriter, r *http.Request, zone string, p []string, q map[string][]string, body []byte) {
	m := r.Method
	switch {
	case len(p) == 1 && p[0] == "instances" && m == http.MethodGet:
		s.listInstances(w, zone, q)
	case len(p) == 1 && p[0] == "instances" && m == http.MethodPost:
		s.insertInstance(w, zone, q, body)
	case len(p) == 2 && p[0] == "instances":
		s.instance(w, r, zone, p[1], q)
	case len(p) == 3 && p[0] == "instances" && (p[2] == "stop" || p[2] == "start") && m == http.MethodPost:
		s.power(w, zone, p[1], p[2], q)
	case len(p) == 3 && p[0] == "instances" && p[2] == "setDiskAutoDelete" && m == http.MethodPost:
		s.setDiskAutoDelete(w, zone, p[1], q)
	case len(p) == 3 && p[0] == "instances" && p[2] == "serialPort" && m == http.MethodGet:
		s.serialPort(w, zone, p[1])
	case len(p) == 2 && p[0] == "machineTypes" && m == http.MethodGet:
		s.machineType(w, zone, p[1])
	case len(p) == 1 && p[0] == "disks" && m == http.MethodGet:
		s.listDisks(w, zone, q)
	case len(p) == 2 && p[0] == "disks":
		s.disk(w, r, zone, p[1], q)
	case (len(p) == 2 && m == http.MethodGet || len(p) == 3 && p[2] == "wait" && m == http.MethodPost) && p[0] == "operations":
		s.operation(w, zone, p[1])
	default:
		s.writeError(w, http.StatusNotFound, "notFound", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

// writeError writes the API's error body, with a RequestInfo detail. It
// takes no lock: it is called with and without s.mu held.
func (s *Fake) writeError(w http.ResponseWriter, status int, reason, message string) {
	rid := fmt.Sprintf("fake-req-%06d", s.errSeq.Add(1))
	body := map[string]any{"error": map[string]any{
		"code":    status,
		"message": message,
		"errors":  []map[string]string{{"message": message, "domain": "global", "reason": reason}},
		"details": []map[string]string{{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": rid}},
	}}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func (s *Fake) write(w http.ResponseWriter, m proto.Message) {
	data, err := protojson.Marshal(m)
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, "backendError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
}

// decode reads a request body strictly: a field the API does not know is
// the client's bug.
func (s *Fake) decode(w http.ResponseWriter, body []byte, m proto.Message) bool {
	if err := protojson.Unmarshal(body, m); err != nil {
		s.writeError(w, http.StatusBadRequest, "parseError", "Invalid JSON payload received. "+err.Error())
		return false
	}
	return true
}

// inserting begins an insert: a repeated requestId is answered with the
// operation it already made; else body decodes into m (a 400 when it
// cannot). It says whether the insert goes on.
func (s *Fake) inserting(w http.ResponseWriter, q map[string][]string, body []byte, m proto.Message) bool {
	if o := s.seen(q); o != nil {
		s.writeOp(w, o)
		return false
	}
	return s.decode(w, body, m)
}

// dropNullMetadataItems removes null entries from metadata.items of a
// request body: the API (and the googlecompute plugin, which sends them)
// treats them as absent, while protojson refuses a null list element.
// Every other value stays as sent.
func dropNullMetadataItems(body []byte) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top["metadata"] == nil {
		return body
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(top["metadata"], &meta) != nil || meta["items"] == nil {
		return body
	}
	var items []json.RawMessage
	if json.Unmarshal(meta["items"], &items) != nil {
		return body
	}
	kept := slices.DeleteFunc(items, func(it json.RawMessage) bool { return string(bytes.TrimSpace(it)) == "null" })
	var err error
	if meta["items"], err = json.Marshal(kept); err != nil {
		return body
	}
	if top["metadata"], err = json.Marshal(meta); err != nil {
		return body
	}
	out, err := json.Marshal(top)
	if err != nil {
		return body
	}
	return out
}

// page cuts a sorted list by maxResults and pageToken (an offset here).
func (s *Fake) page(n int, q map[string][]string) (from, to int, next string) {
	size := s.PageSize
	if v := first(q["maxResults"]); v != "" {
		if m, err := strconv.Atoi(v); err == nil && m > 0 && m < size {
			size = m
		}
	}
	if v := first(q["pageToken"]); v != "" {
		from, _ = strconv.Atoi(v)
	}
	from = min(from, n)
	to = min(from+size, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (s *Fake) filter(w http.ResponseWriter, q map[string][]string) ([]cond, bool) {
	conds, err := parseFilter(first(q["filter"]))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'filter': '"+first(q["filter"])+"'. "+err.Error())
		return nil, false
	}
	return conds, true
}

// newOp stores an operation on target and writes it (RUNNING), or the
// operation a repeated requestId already made.
func (s *Fake) newOp(w http.ResponseWriter, q map[string][]string, kind, zone, target string, finish func() *failure) {
	s.writeOp(w, s.makeOp(first(q["requestId"]), kind, zone, target, finish))
}

func (s *Fake) makeOp(rid, kind, zone, target string, finish func() *failure) *op {
	s.seq++
	name := fmt.Sprintf("operation-%d-%06d", time.Now().UnixMilli(), s.seq)
	o := &op{finish: finish, proto: &computepb.Operation{
		Kind: proto.String("compute#operation"), Id: proto.Uint64(s.nextID()), Name: proto.String(name),
		OperationType: proto.String(kind), TargetLink: proto.String(target),
		Status: computepb.Operation_RUNNING.Enum(), Progress: proto.Int32(0),
		InsertTime: proto.String(stamp(time.Now())), StartTime: proto.String(stamp(time.Now())),
		User: proto.String("sindri-fake@fake-project.iam.gserviceaccount.com"),
	}}
	if zone != "" {
		o.proto.Zone = proto.String(s.link("zones/" + zone))
		o.proto.SelfLink = proto.String(s.link("zones/" + zone + "/operations/" + name))
	} else {
		o.proto.SelfLink = proto.String(s.link("global/operations/" + name))
	}
	s.ops[name] = o
	if rid != "" {
		s.byReqID[rid] = name
	}
	return o
}

// seen returns the operation a requestId already made.
func (s *Fake) seen(q map[string][]string) *op {
	if rid := first(q["requestId"]); rid != "" {
		if name, ok := s.byReqID[rid]; ok {
			return s.ops[name]
		}
	}
	return nil
}

func (s *Fake) writeOp(w http.ResponseWriter, o *op) { s.write(w, o.proto) }

func (s *Fake) operation(w http.ResponseWriter, zone, name string) {
	o := s.ops[name]
	if o == nil || (zone == "") != (o.proto.Zone == nil) {
		s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource '%s' was not found", "projects/"+s.Project+"/operations/"+name))
		return
	}
	if o.proto.GetStatus() != computepb.Operation_DONE {
		var f *failure
		if o.finish != nil {
			f = o.finish()
		}
		o.proto.Status = computepb.Operation_DONE.Enum()
		o.proto.Progress = proto.Int32(100)
		o.proto.EndTime = proto.String(stamp(time.Now()))
		if f != nil {
			o.proto.Error = &computepb.Error{Errors: []*computepb.Errors{{Code: proto.String(f.reason), Message: proto.String(f.message)}}}
			o.proto.HttpErrorStatusCode = proto.Int32(int32(f.status))
			o.proto.HttpErrorMessage = proto.String(http.StatusText(f.status))
		}
	}
	s.writeOp(w, o)
}

// --- images ---

// listImages answers images.list of project, whose images are images
// (the fake's own project, or a public one).
func (s *Fake) listImages(w http.ResponseWriter, q map[string][]string, project string, images map[string]*computepb.Image) {
	items, next, ok := pageOf(s, w, q, images, "", fieldsOf[*computepb.Image])
	if ok {
		s.write(w, &computepb.ImageList{Kind: proto.String("compute#imageList"), Id: proto.String("projects/" + project + "/global/images"),
			Items: items, SelfLink: proto.String(s.URL + "/compute/v1/projects/" + project + "/global/images"), NextPageToken: token(next)})
	}
}

// pageOf answers a list request's filter, maxResults and pageToken: the
// resources of all whose key starts with keyPrefix and that match the
// filter (on the fields get reads), sorted by name, one page of them. ok
// is false when the filter was refused (the error is written).
func pageOf[T interface{ GetName() string }](s *Fake, w http.ResponseWriter, q map[string][]string, all map[string]T,
	keyPrefix string, get func(T) func(string) (string, bool)) (items []T, next string, ok bool) {
	conds, ok := s.filter(w, q)
	if !ok {
		return nil, "", false
	}
	for key, it := range all {
		if strings.HasPrefix(key, keyPrefix) && match(conds, get(it)) {
			items = append(items, it)
		}
	}
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(a.GetName(), b.GetName()) })
	from, to, next := s.page(len(items), q)
	return items[from:to], next, true
}

// token is a list's nextPageToken: absent on the last page.
func token(next string) *string {
	if next == "" {
		return nil
	}
	return proto.String(next)
}

// answered writes the operation a repeated requestId already made, or
// 404 when the resource at path does not exist, and says whether it did.
func (s *Fake) answered(w http.ResponseWriter, q map[string][]string, exists bool, path string) bool {
	if o := s.seen(q); o != nil {
		s.writeOp(w, o)
		return true
	}
	if !exists {
		s.notFound(w, path)
	}
	return !exists
}

func (s *Fake) notFound(w http.ResponseWriter, path string) {
	s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/%s' was not found", s.Project, path))
}

func (s *Fake) image(w http.ResponseWriter, r *http.Request, name string, q map[string][]string) {
	single(s, w, r, q, s.images, "images", "", name, onResource[*computepb.Image]{
		deleting: func(im *computepb.Image) bool { im.Status = proto.String("DELETING"); return true },
	})
}

// onResource is how a GET or DELETE of one resource differs by kind;
// every field may be nil.
type onResource[M any] struct {
	got      func(M)      // after a GET is answered
	deleting func(M) bool // before a DELETE: marks it, or refuses (writes the error and returns false)
	remove   func()       // what the finished delete does; nil: it leaves the map
}

// single answers a GET or DELETE of the resource name in m, the
// collection coll of zone ("" for a global one): GET writes it, DELETE
// starts the operation that removes it once polled; a repeated requestId
// gets the operation it made, a missing resource 404, other methods 405.
func single[M interface {
	proto.Message
	GetSelfLink() string
}](s *Fake, w http.ResponseWriter, r *http.Request, q map[string][]string, m map[string]M, coll, zone, name string, on onResource[M]) {
	key, path := name, "global/"+coll+"/"+name
	if zone != "" {
		key, path = zone+"/"+name, "zones/"+zone+"/"+coll+"/"+name
	}
	x, ok := m[key]
	if s.answered(w, q, ok, path) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.write(w, x)
		if on.got != nil {
			on.got(x)
		}
	case http.MethodDelete:
		if on.deleting != nil && !on.deleting(x) {
			return
		}
		remove := on.remove
		if remove == nil {
			remove = func() { delete(m, key) }
		}
		s.newOp(w, q, "delete", zone, x.GetSelfLink(), func() *failure { remove(); return nil })
	default:
		s.writeError(w, http.StatusMethodNotAllowed, "badRequest", "Method not allowed")
	}
}

var deprecationStates = []string{"ACTIVE", "DEPRECATED", "OBSOLETE", "DELETED"}

func (s *Fake) deprecate(w http.ResponseWriter, name string, q map[string][]string, body []byte) {
	im := s.images[name]
	if s.answered(w, q, im != nil, "global/images/"+name) {
		return
	}
	var st computepb.DeprecationStatus
	if !s.decode(w, body, &st) {
		return
	}
	if !slices.Contains(deprecationStates, st.GetState()) {
		s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.state': '%s'.", st.GetState()))
		return
	}
	if r := st.GetReplacement(); r != "" && s.images[last(r)] == nil {
		s.notFound(w, "global/images/"+last(r))
		return
	}
	im.Deprecated = &st
	s.newOp(w, q, "deprecate", "", im.GetSelfLink(), nil)
}

// --- firewalls ---

// freeName writes the API's error and returns false when name is not a
// valid resource name or the resource at path+name exists.
func (s *Fake) freeName(w http.ResponseWriter, name, path string, exists bool) bool {
	switch {
	case !nameRule.MatchString(name):
		s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", name))
		return false
	case exists:
		s.writeError(w, http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource 'projects/%s/%s%s' already exists", s.Project, path, name))
		return false
	}
	return true
}

var imageLink = regexp.MustCompile(`(?:^|/)projects/([^/]+)/global/images/([^/]+)$`)

var nameRule = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (s *Fake) listFirewalls(w http.ResponseWriter, q map[string][]string) {
	items, next, ok := pageOf(s, w, q, s.firewalls, "", func(fw *computepb.Firewall) func(string) (string, bool) {
		return fields(fw.GetName(), "", fw.GetDescription(), nil)
	})
	if ok {
		s.write(w, &computepb.FirewallList{Kind: proto.String("compute#firewallList"), Items: items,
			SelfLink: proto.String(s.link("global/firewalls")), NextPageToken: token(next)})
	}
}
func (s *Fake) insertFirewall(w http.ResponseWriter, q map[string][]string, body []byte) {
	var fw computepb.Firewall
	if !s.inserting(w, q, body, &fw) {
		return
	}
	name := fw.GetName()
	switch {
	case !s.freeName(w, name, "global/firewalls/", s.firewalls[name] != nil):
		return
	case len(fw.GetAllowed()) == 0 && len(fw.GetDenied()) == 0:
		s.writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'resource.allowed': ''. At least one allowed or denied rule is required.")
		return
	}
	for _, cidr := range fw.GetSourceRanges() {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.sourceRanges[0]': '%s'. Must be a CIDR address range that is contained in the network.", cidr))
			return
		}
	}
	stored := proto.CloneOf(&fw)
	stored.Kind = proto.String("compute#firewall")
	stored.Id = proto.Uint64(s.nextID())
	stored.CreationTimestamp = proto.String(stamp(time.Now()))
	stored.SelfLink = proto.String(s.link("global/firewalls/" + name))
	s.firewalls[name] = stored
	s.newOp(w, q, "insert", "", stored.GetSelfLink(), nil)
}

func (s *Fake) firewall(w http.ResponseWriter, r *http.Request, name string, q map[string][]string) {
	single(s, w, r, q, s.firewalls, "firewalls", "", name, onResource[*computepb.Firewall]{})
}

// --- instances and disks ---

var (
	labelKeyRule   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRule = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

func badLabels(l map[string]string) string {
	for k, v := range l {
		if !labelKeyRule.MatchString(k) || !labelValueRule.MatchString(v) {
			return k
		}
	}
	return ""
}

func (s *Fake) listInstances(w http.ResponseWriter, zone string, q map[string][]string) {
	items, next, ok := pageOf(s, w, q, s.instances, zone+"/", fieldsOf[*computepb.Instance])
	if ok {
		s.write(w, &computepb.InstanceList{Kind: proto.String("compute#instanceList"), Items: items,
			SelfLink: proto.String(s.link("zones/" + zone + "/instances")), NextPageToken: token(next)})
	}
}
func (s *Fake) listDisks(w http.ResponseWriter, zone string, q map[string][]string) {
	items, next, ok := pageOf(s, w, q, s.disks, zone+"/", fieldsOf[*computepb.Disk])
	if ok {
		s.write(w, &computepb.DiskList{Kind: proto.String("compute#diskList"), Items: items,
			SelfLink: proto.String(s.link("zones/" + zone + "/disks")), NextPageToken: token(next)})
	}
}
func (s *Fake) newDisk(zone, name string, labels map[string]string, image string, created time.Time) *computepb.Disk {
	d := &computepb.Disk{
		Kind: proto.String("compute#disk"), Id: proto.Uint64(s.nextID()), Name: proto.String(name),
		Zone: proto.String(s.link("zones/" + zone)), SizeGb: proto.Int64(80), Status: proto.String("READY"),
		Type:   proto.String(s.link("zones/" + zone + "/diskTypes/pd-balanced")),
		Labels: labels, CreationTimestamp: proto.String(stamp(created)),
		SelfLink: proto.String(s.link("zones/" + zone + "/disks/" + name)),
	}
	if image != "" {
		d.SourceImage = proto.String(image)
	}
	return d
}

// createInstance stores in (PROVISIONING) with its boot disk; the caller
// holds the lock.
func (s *Fake) createInstance(zone string, in *computepb.Instance, created time.Time) {
	name := in.GetName()
	in.Kind = proto.String("compute#instance")
	in.Id = proto.Uint64(s.nextID())
	in.Zone = proto.String(s.link("zones/" + zone))
	in.Status = proto.String("PROVISIONING")
	in.CreationTimestamp = proto.String(stamp(created))
	in.SelfLink = proto.String(s.link("zones/" + zone + "/instances/" + name))
	for i, ad := range in.GetDisks() {
		dname := name
		if i > 0 {
			dname = fmt.Sprintf("%s-%d", name, i)
		}
		ip := ad.GetInitializeParams()
		if ip.GetDiskName() != "" {
			dname = ip.GetDiskName()
		}
		if ip != nil {
			d := s.newDisk(zone, dname, ip.GetLabels(), ip.GetSourceImage(), created)
			if ip.DiskSizeGb != nil {
				d.SizeGb = ip.DiskSizeGb
			}
			if ip.DiskType != nil {
				d.Type = ip.DiskType
			}
			d.Users = []string{in.GetSelfLink()}
			s.disks[zone+"/"+dname] = d
			ad.Source = d.SelfLink
		}
		ad.InitializeParams = nil
		ad.Kind = proto.String("compute#attachedDisk")
		if ad.DeviceName == nil {
			ad.DeviceName = proto.String(fmt.Sprintf("persistent-disk-%d", i)) // the API's default
		}
		ad.Index = proto.Int32(int32(i))
	}
	for i, ni := range in.GetNetworkInterfaces() {
		ni.Name = proto.String(fmt.Sprintf("nic%d", i))
		ni.NetworkIP = proto.String(fmt.Sprintf("10.128.0.%d", 2+s.seq%250))
	}
	s.instances[zone+"/"+name] = in
}

func (s *Fake) insertInstance(w http.ResponseWriter, zone string, q map[string][]string, body []byte) {
	var in computepb.Instance
	if !s.inserting(w, q, dropNullMetadataItems(body), &in) {
		return
	}
	name := in.GetName()
	key := zone + "/" + name
	switch {
	case !s.freeName(w, name, "zones/"+zone+"/instances/", s.instances[key] != nil):
		return
	case in.GetMachineType() == "":
		s.writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'resource.machineType': ''. Machine type must be specified.")
		return
	case len(in.GetDisks()) == 0 || !in.GetDisks()[0].GetBoot():
		s.writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'resource.disks': ''. Boot disk must be specified.")
		return
	}
	if k := badLabels(in.GetLabels()); k != "" {
		s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.labels': '%s'.", k))
		return
	}
	img := in.GetDisks()[0].GetInitializeParams().GetSourceImage()
	if m := imageLink.FindStringSubmatch(img); m != nil && s.public[m[1]] != nil {
		if s.public[m[1]][m[2]] == nil {
			s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/global/images/%s' was not found", m[1], m[2]))
			return
		}
	} else if i := strings.Index(img, "projects/"+s.Project+"/global/images/"); i >= 0 || strings.HasPrefix(img, "global/images/") {
		if s.images[last(img)] == nil {
			s.notFound(w, "global/images/"+last(img))
			return
		}
	}
	stored := proto.CloneOf(&in)
	s.createInstance(zone, stored, time.Now())
	var finish func() *failure
	if f := s.insertErr; f != nil {
		s.insertErr = nil
		finish = func() *failure { s.removeInstance(zone, name); return f }
	}
	s.newOp(w, q, "insert", zone, stored.GetSelfLink(), finish)
}

// removeInstance deletes an instance and its auto-delete disks.
func (s *Fake) removeInstance(zone, name string) {
	in := s.instances[zone+"/"+name]
	if in == nil {
		return
	}
	delete(s.instances, zone+"/"+name)
	for _, ad := range in.GetDisks() {
		key := zone + "/" + last(ad.GetSource())
		if d := s.disks[key]; d != nil {
			if ad.GetAutoDelete() {
				delete(s.disks, key)
			} else {
				d.Users = slices.DeleteFunc(d.Users, func(u string) bool { return u == in.GetSelfLink() })
			}
		}
	}
}

// advance moves a booting instance one step on each read, as a real boot
// is seen by polling: PROVISIONING → STAGING → RUNNING (with its address).
func (s *Fake) advance(in *computepb.Instance) {
	switch in.GetStatus() {
	case "PROVISIONING":
		in.Status = proto.String("STAGING")
	case "STAGING":
		if s.bootFail {
			in.Status = proto.String("TERMINATED")
			return
		}
		in.Status = proto.String("RUNNING")
		for _, ni := range in.GetNetworkInterfaces() {
			for _, ac := range ni.GetAccessConfigs() {
				if ac.GetType() == "ONE_TO_ONE_NAT" {
					ac.NatIP = proto.String(s.NatIP)
				}
			}
		}
	}
}

func (s *Fake) instance(w http.ResponseWriter, r *http.Request, zone, name string, q map[string][]string) {
	single(s, w, r, q, s.instances, "instances", zone, name, onResource[*computepb.Instance]{
		got:      s.advance,
		deleting: func(in *computepb.Instance) bool { in.Status = proto.String("STOPPING"); return true },
		remove:   func() { s.removeInstance(zone, name) },
	})
}

func (s *Fake) power(w http.ResponseWriter, zone, name, verb string, q map[string][]string) {
	in := s.instances[zone+"/"+name]
	if s.answered(w, q, in != nil, "zones/"+zone+"/instances/"+name) {
		return
	}
	if verb == "stop" {
		in.Status = proto.String("STOPPING")
		s.newOp(w, q, "stop", zone, in.GetSelfLink(), func() *failure {
			in.Status = proto.String("TERMINATED")
			for _, ni := range in.GetNetworkInterfaces() {
				for _, ac := range ni.GetAccessConfigs() {
					ac.NatIP = nil // an ephemeral address goes with the stop
				}
			}
			return nil
		})
		return
	}
	if in.GetStatus() == "TERMINATED" {
		in.Status = proto.String("PROVISIONING")
	}
	s.newOp(w, q, "start", zone, in.GetSelfLink(), nil)
}

func (s *Fake) disk(w http.ResponseWriter, r *http.Request, zone, name string, q map[string][]string) {
	single(s, w, r, q, s.disks, "disks", zone, name, onResource[*computepb.Disk]{
		deleting: func(d *computepb.Disk) bool {
			if len(d.GetUsers()) == 0 {
				return true
			}
			s.writeError(w, http.StatusBadRequest, "resourceInUseByAnotherResource",
				fmt.Sprintf("The disk resource '%s' is already being used by '%s'", strings.TrimPrefix(d.GetSelfLink(), s.URL+"/compute/v1/"), strings.TrimPrefix(d.GetUsers()[0], s.URL+"/compute/v1/")))
			return false
		},
	})
}
