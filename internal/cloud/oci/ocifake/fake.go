// Package ocifake is a test double: an in-memory Oracle Cloud
// Infrastructure API (the compute, virtual network, block storage and
// identity calls the oci target makes) on a local httptest server. It
// speaks OCI's REST wire format: /20160918/... paths, camelCase JSON,
// list pagination by the opc-next-page header, an opc-request-id header on
// every answer, errors as {"code":..,"message":..} with OCI's status codes,
// and it checks each request's RSA signature (Authorization: Signature
// ...) against the clearly fake key it writes for the client. Faults and
// the request record come from the embedded cloudtest.Faults; a request's
// line is "METHOD /20160918/path" (InstanceAction adds its ?action=,
// TerminateInstance its ?preserveBootVolume=). Only tests import it.
package ocifake

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// The fake's identity and placement; the key, user and tenancy are
// clearly fake.
const (
	Region             = "us-ashburn-1"
	Tenancy            = "ocid1.tenancy.oc1..fake-tenancy"
	User               = "ocid1.user.oc1..fake-user"
	UserName           = "fake-user@example.invalid"
	Compartment        = "ocid1.compartment.oc1..fake-compartment"
	AvailabilityDomain = "Fake:US-ASHBURN-AD-1"
	Subnet             = "ocid1.subnet.oc1.iad.fake-subnet"
	apiBase            = "/20160918"
)

// YAML is a sindri.yaml (single-cloud form) that points at this fake's
// compartment, availability domain and subnet.
const YAML = `
packer:
  cloud: oci
  compartment_ocid: ` + Compartment + `
  availability_domain: "` + AvailabilityDomain + `"
  subnet_ocid: ` + Subnet + `
  region: ` + Region + `
`

type image struct {
	ID                     string            `json:"id"`
	CompartmentID          string            `json:"compartmentId"`
	DisplayName            string            `json:"displayName"`
	LifecycleState         string            `json:"lifecycleState"`
	TimeCreated            string            `json:"timeCreated"`
	FreeformTags           map[string]string `json:"freeformTags"`
	OperatingSystem        string            `json:"operatingSystem"`
	OperatingSystemVersion string            `json:"operatingSystemVersion"`
	CreateImageAllowed     bool              `json:"createImageAllowed"`
	BaseImageID            string            `json:"baseImageId,omitempty"`
	LaunchMode             string            `json:"launchMode,omitempty"`
	SizeInMBs              int64             `json:"sizeInMBs,omitempty"`
	created                time.Time
	next                   []string // states the next reads move through
	instance               string   // the instance it is taken from, until AVAILABLE
}

// schema is an image's capability schema (ComputeImageCapabilitySchema):
// CreateImage makes one, the oracle-oci plugin lists and updates it.
type schema struct {
	ID                  string            `json:"id"`
	CompartmentID       string            `json:"compartmentId"`
	GlobalSchemaID      string            `json:"computeGlobalImageCapabilitySchemaId"`
	GlobalSchemaVersion string            `json:"computeGlobalImageCapabilitySchemaVersionName"`
	ImageID             string            `json:"imageId"`
	DisplayName         string            `json:"displayName"`
	LifecycleState      string            `json:"lifecycleState"`
	TimeCreated         string            `json:"timeCreated"`
	FreeformTags        map[string]string `json:"freeformTags"`
	SchemaData          json.RawMessage   `json:"schemaData"`
}

type shapeConfig struct {
	Ocpus       float64 `json:"ocpus"`
	MemoryInGBs float64 `json:"memoryInGBs"`
}

type sourceDetails struct {
	SourceType          string `json:"sourceType"`
	ImageID             string `json:"imageId"`
	BootVolumeSizeInGBs int64  `json:"bootVolumeSizeInGBs,omitempty"`
}

type instance struct {
	ID                 string            `json:"id"`
	CompartmentID      string            `json:"compartmentId"`
	AvailabilityDomain string            `json:"availabilityDomain"`
	DisplayName        string            `json:"displayName"`
	LifecycleState     string            `json:"lifecycleState"`
	Region             string            `json:"region"`
	Shape              string            `json:"shape"`
	TimeCreated        string            `json:"timeCreated"`
	FreeformTags       map[string]string `json:"freeformTags"`
	ImageID            string            `json:"imageId"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ShapeConfig        *shapeConfig      `json:"shapeConfig,omitempty"`
	SourceDetails      sourceDetails     `json:"sourceDetails"`
	created            time.Time
	next               []string // states the next reads move through
	preserveBoot       bool
}

type vnic struct {
	ID                 string            `json:"id"`
	CompartmentID      string            `json:"compartmentId"`
	AvailabilityDomain string            `json:"availabilityDomain"`
	DisplayName        string            `json:"displayName"`
	LifecycleState     string            `json:"lifecycleState"`
	TimeCreated        string            `json:"timeCreated"`
	FreeformTags       map[string]string `json:"freeformTags"`
	IsPrimary          bool              `json:"isPrimary"`
	PrivateIP          string            `json:"privateIp"`
	PublicIP           string            `json:"publicIp,omitempty"`
	SubnetID           string            `json:"subnetId"`
}

type attachment struct {
	ID                 string `json:"id"`
	AvailabilityDomain string `json:"availabilityDomain"`
	CompartmentID      string `json:"compartmentId"`
	InstanceID         string `json:"instanceId"`
	LifecycleState     string `json:"lifecycleState"`
	TimeCreated        string `json:"timeCreated"`
	VnicID             string `json:"vnicId,omitempty"`
	SubnetID           string `json:"subnetId,omitempty"`
	BootVolumeID       string `json:"bootVolumeId,omitempty"`
}

type volume struct {
	ID                 string            `json:"id"`
	AvailabilityDomain string            `json:"availabilityDomain"`
	CompartmentID      string            `json:"compartmentId"`
	DisplayName        string            `json:"displayName"`
	LifecycleState     string            `json:"lifecycleState"`
	SizeInMBs          int64             `json:"sizeInMBs"`
	SizeInGBs          int64             `json:"sizeInGBs"`
	TimeCreated        string            `json:"timeCreated"`
	FreeformTags       map[string]string `json:"freeformTags"`
	ImageID            string            `json:"imageId,omitempty"`
	boot               bool
	created            time.Time
}

// Fake is the fake OCI API. Create it with New.
type Fake struct {
	// Faults injects failures and hangs and records every request.
	cloudtest.Faults

	// URL is the base URL every service answers on.
	URL string
	// PageSize is the page length of list calls (default 2, so clients
	// must follow opc-next-page); set it with SetPageSize once serving.
	PageSize int

	srv        *httptest.Server
	key        *rsa.PrivateKey
	keyID      string
	configFile string

	mu          sync.Mutex
	seq         int
	images      map[string]*image
	instances   map[string]*instance
	vnics       map[string]*vnic
	vnicAtts    map[string]*attachment
	bootAtts    map[string]*attachment
	volumes     map[string]*volume
	retryTokens map[string]string
	launches    []map[string]any
	schemas     map[string]*schema
}

// New starts a fake on 127.0.0.1 with a freshly generated, clearly fake
// API key and an OCI config file naming it; both are removed with t.
func New(t testing.TB) *Fake {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("ocifake: generate key: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("ocifake: public key: %v", err)
	}
	sum := md5.Sum(der)
	var fp []string
	for _, b := range sum {
		fp = append(fp, fmt.Sprintf("%02x", b))
	}
	fingerprint := strings.Join(fp, ":")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "fake_oci_api_key.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatalf("ocifake: %v", err)
	}
	cfg := fmt.Sprintf("[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nregion=%s\nkey_file=%s\n", User, fingerprint, Tenancy, Region, keyFile)
	configFile := filepath.Join(dir, "fake_oci_config")
	if err := os.WriteFile(configFile, []byte(cfg), 0o600); err != nil {
		t.Fatalf("ocifake: %v", err)
	}
	s := &Fake{
		PageSize:    2,
		key:         key,
		keyID:       Tenancy + "/" + User + "/" + fingerprint,
		configFile:  configFile,
		images:      map[string]*image{},
		instances:   map[string]*instance{},
		vnics:       map[string]*vnic{},
		vnicAtts:    map[string]*attachment{},
		bootAtts:    map[string]*attachment{},
		volumes:     map[string]*volume{},
		retryTokens: map[string]string{},
		schemas:     map[string]*schema{},
	}
	s.srv = cloudtest.Serve(t, httptest.NewServer, http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// SetPageSize sets the page length of every list call (limit= still
// wins); n <= 0 means one page of up to 1000.
func (s *Fake) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.PageSize = n
}

// ConfigFile is the fake OCI config file (fake user, tenancy and key).
func (s *Fake) ConfigFile() string { return s.configFile }

// Env points the oci target's zero value at the fake: the endpoint
// override and the fake config file (OCI_CLI_CONFIG_FILE is read before
// ~/.oci/config, so a developer's real configuration is never used).
func (s *Fake) Env() map[string]string {
	return map[string]string{
		"SINDRI_OCI_ENDPOINT":                    s.URL,
		"OCI_CLI_CONFIG_FILE":                    s.configFile,
		"OCI_CONFIG_FILE":                        s.configFile,
		"OCI_CLI_PROFILE":                        "DEFAULT",
		"OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED": "false",
	}
}

var _ cloudtest.Fake = (*Fake)(nil)

func (s *Fake) id(kind string) string {
	s.seq++
	return fmt.Sprintf("ocid1.%s.oc1.iad.fake%04d", kind, s.seq)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// AddImage adds an image with exactly these freeform tags and state
// (OCI's word, e.g. AVAILABLE) and returns its OCID.
func (s *Fake) AddImage(name string, tags map[string]string, created time.Time, state string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id("image")
	s.images[id] = &image{
		ID: id, CompartmentID: Compartment, DisplayName: name, LifecycleState: state,
		TimeCreated: stamp(created), FreeformTags: maps.Clone(tags), OperatingSystem: "Canonical Ubuntu",
		OperatingSystemVersion: "24.04", CreateImageAllowed: true, created: created,
	}
	return id
}

// AddPlatformImage adds an AVAILABLE untagged image of another
// operating system (what base_image_filter must leave out).
func (s *Fake) AddPlatformImage(name, os, version string, created time.Time) string {
	id := s.AddImage(name, nil, created, "AVAILABLE")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[id].OperatingSystem, s.images[id].OperatingSystemVersion = os, version
	return id
}

// BaseImage returns the image an image was taken from (baseImageId), or "".
func (s *Fake) BaseImage(id string) string {
	return cloudtest.Read(&s.mu, s.images, id, func(img *image) string { return img.BaseImageID })
}

// SeedImage adds an AVAILABLE image with the tags packer.go writes.
func (s *Fake) SeedImage(name, configHash string, created time.Time) string {
	return s.AddImage(name, cloudtest.SeedImageTags(configHash), created, "AVAILABLE")
}

// ImageTags returns an image's freeform tags (nil when absent).
func (s *Fake) ImageTags(id string) map[string]string {
	return cloudtest.Read(&s.mu, s.images, id, func(img *image) map[string]string { return maps.Clone(img.FreeformTags) })
}

// SeedLeftover adds what a crashed run leaves: a RUNNING instance (with
// its VNIC and tagged boot volume) for cloud.KindInstance, a detached
// boot volume for cloud.KindDisk. OCI runs make no other kinds: for them
// nothing is added and "" returned.
func (s *Fake) SeedLeftover(kind, runID string, created time.Time) string {
	tags := cloudtest.LeftoverTags(runID)
	switch kind {
	case cloud.KindInstance:
		return s.AddInstance("sindri-test-"+runID, tags, created, "RUNNING")
	case cloud.KindDisk:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.addVolume(true, "sindri-test-"+runID+" (Boot Volume)", tags, created, "")
	}
	return ""
}

// SeedDeployment adds a running deployed instance (no temporary tag).
func (s *Fake) SeedDeployment(deployment string, created time.Time) string {
	return s.AddInstance(deployment, map[string]string{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: "deploy-run", cloud.TagDeployment: deployment,
	}, created, "RUNNING")
}

// AddInstance adds an instance in state with these tags, its primary
// VNIC (public IP) and its boot volume (same tags), and returns its OCID.
func (s *Fake) AddInstance(name string, tags map[string]string, created time.Time, state string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &instance{
		ID: s.id("instance"), CompartmentID: Compartment, AvailabilityDomain: AvailabilityDomain,
		DisplayName: name, LifecycleState: state, Region: Region, Shape: "VM.Standard.E4.Flex",
		TimeCreated: stamp(created), FreeformTags: maps.Clone(tags), ImageID: "ocid1.image.oc1.iad.fake-base",
		SourceDetails: sourceDetails{SourceType: "image", ImageID: "ocid1.image.oc1.iad.fake-base"}, created: created,
	}
	s.instances[in.ID] = in
	s.attach(in, tags, true)
	return in.ID
}

// attach gives an instance its primary VNIC (with a public IP from the
// documentation range 192.0.2.0/24, never contacted) and its boot volume.
func (s *Fake) attach(in *instance, vnicTags map[string]string, tagBoot bool) {
	n := s.seq
	v := &vnic{
		ID: s.id("vnic"), CompartmentID: Compartment, AvailabilityDomain: in.AvailabilityDomain,
		DisplayName: in.DisplayName, LifecycleState: "AVAILABLE", TimeCreated: in.TimeCreated,
		FreeformTags: maps.Clone(vnicTags), IsPrimary: true, PrivateIP: fmt.Sprintf("10.0.0.%d", n%250+2),
		PublicIP: fmt.Sprintf("192.0.2.%d", n%250+2), SubnetID: Subnet,
	}
	s.vnics[v.ID] = v
	va := &attachment{ID: s.id("vnicattachment"), AvailabilityDomain: in.AvailabilityDomain, CompartmentID: Compartment,
		InstanceID: in.ID, LifecycleState: "ATTACHED", TimeCreated: in.TimeCreated, VnicID: v.ID, SubnetID: Subnet}
	s.vnicAtts[va.ID] = va
	var bvTags map[string]string
	if tagBoot {
		bvTags = in.FreeformTags
	}
	bv := s.addVolume(true, in.DisplayName+" (Boot Volume)", bvTags, in.created, in.ImageID)
	ba := &attachment{ID: s.id("instance"), AvailabilityDomain: in.AvailabilityDomain, CompartmentID: Compartment,
		InstanceID: in.ID, LifecycleState: "ATTACHED", TimeCreated: in.TimeCreated, BootVolumeID: bv}
	s.bootAtts[ba.ID] = ba
}

func (s *Fake) addVolume(boot bool, name string, tags map[string]string, created time.Time, imageID string) string {
	kind := "volume"
	if boot {
		kind = "bootvolume"
	}
	v := &volume{ID: s.id(kind), AvailabilityDomain: AvailabilityDomain, CompartmentID: Compartment, DisplayName: name,
		LifecycleState: "AVAILABLE", SizeInMBs: 80 * 1024, SizeInGBs: 80, TimeCreated: stamp(created),
		FreeformTags: maps.Clone(tags), ImageID: imageID, boot: boot, created: created}
	s.volumes[v.ID] = v
	return v.ID
}

// AddVolume adds a block volume with these tags.
func (s *Fake) AddVolume(name string, tags map[string]string, created time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addVolume(false, name, tags, created, "")
}

// Live returns every image, instance (not terminated) and volume, sorted
// by kind then ID. VNICs are left out: they live and die with their
// instance.
func (s *Fake) Live() []cloudtest.FakeResource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cloudtest.FakeResource
	for _, i := range s.images {
		out = append(out, cloudtest.FakeResource{Kind: "image", ID: i.ID, Name: i.DisplayName, Region: Region, State: i.LifecycleState, Tags: maps.Clone(i.FreeformTags), Created: i.created})
	}
	for _, i := range s.instances {
		if i.LifecycleState != "TERMINATED" {
			out = append(out, cloudtest.FakeResource{Kind: cloud.KindInstance, ID: i.ID, Name: i.DisplayName, Region: Region, State: i.LifecycleState, Tags: maps.Clone(i.FreeformTags), Created: i.created})
		}
	}
	for _, v := range s.volumes {
		out = append(out, cloudtest.FakeResource{Kind: cloud.KindDisk, ID: v.ID, Name: v.DisplayName, Region: Region, State: v.LifecycleState, Tags: maps.Clone(v.FreeformTags), Created: v.created})
	}
	return cloudtest.SortLive(out)
}

// VNICs returns the freeform tags of every VNIC, by VNIC OCID.
func (s *Fake) VNICs() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]string{}
	for id, v := range s.vnics {
		out[id] = maps.Clone(v.FreeformTags)
	}
	return out
}

// AddVNIC attaches a secondary VNIC to an instance, with this public IP
// ("" for none), and returns the VNIC's OCID.
func (s *Fake) AddVNIC(instanceID, publicIP string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceID]
	v := &vnic{ID: s.id("vnic"), CompartmentID: Compartment, AvailabilityDomain: in.AvailabilityDomain, DisplayName: in.DisplayName + "-secondary",
		LifecycleState: "AVAILABLE", TimeCreated: stamp(time.Now()), PrivateIP: fmt.Sprintf("10.0.1.%d", s.seq%250+2), PublicIP: publicIP, SubnetID: Subnet}
	s.vnics[v.ID] = v
	a := &attachment{ID: s.id("vnicattachment"), AvailabilityDomain: in.AvailabilityDomain, CompartmentID: Compartment,
		InstanceID: in.ID, LifecycleState: "ATTACHED", TimeCreated: v.TimeCreated, VnicID: v.ID, SubnetID: Subnet}
	s.vnicAtts[a.ID] = a
	return v.ID
}

// SetPrimaryPublicIP sets (or, with "", removes) the public IP of an
// instance's primary VNIC.
func (s *Fake) SetPrimaryPublicIP(instanceID, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.vnicAtts {
		if v := s.vnics[a.VnicID]; a.InstanceID == instanceID && v != nil && v.IsPrimary {
			v.PublicIP = ip
		}
	}
}

// Launches returns the decoded JSON body of every LaunchInstance call.
func (s *Fake) Launches() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.launches)
}

// errorCodes are OCI's codes for the statuses the fake produces.
var errorCodes = map[int][2]string{
	400: {"InvalidParameter", "The request is invalid."},
	401: {"NotAuthenticated", "The required information to complete authentication was not provided or was incorrect."},
	404: {"NotAuthorizedOrNotFound", "Authorization failed or requested resource not found."},
	403: {"NotAllowed", "You are not allowed to perform this operation."},
	409: {"Conflict", "The resource is in a conflicting state."},
	429: {"TooManyRequests", "Too many requests for the tenancy."},
	500: {"InternalServerError", "An internal server error occurred."},
	503: {"ServiceUnavailable", "The service is currently unavailable."},
}

func (s *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	line := r.Method + " " + r.URL.Path
	if a := r.URL.Query().Get("action"); a != "" {
		line += "?action=" + a
	}
	if p := r.URL.Query().Get("preserveBootVolume"); p != "" {
		line += "?preserveBootVolume=" + p
	}
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("fake-opc-request-%06d", s.seq)
	s.mu.Unlock()
	w.Header().Set("opc-request-id", reqID)
	w.Header().Set("Content-Type", "application/json")
	if s.Answered(r, line, body, func(f cloudtest.Fault) {
		code, message := f.Or(errorCodes[f.Status][0], errorCodes[f.Status][1])
		writeError(w, f.Status, code, message)
	}) {
		return
	}
	if msg := s.verify(r, body); msg != "" {
		writeError(w, 401, "NotAuthenticated", msg)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, apiBase)
	if !ok {
		writeError(w, 404, "NotAuthorizedOrNotFound", "unknown API version in "+r.URL.Path)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route(w, r, path, body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

var sigParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// verify checks OCI request signing (draft-cavage HTTP signatures, as the
// SDK's signer makes them): the key id, the signed headers, the body hash
// and the RSA-SHA256 signature. It returns why a request fails, or "".
func (s *Fake) verify(r *http.Request, body []byte) string {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Signature ")
	if !ok {
		return "the request is not signed"
	}
	params := map[string]string{}
	for _, m := range sigParam.FindAllStringSubmatch(auth, -1) {
		params[m[1]] = m[2]
	}
	if params["keyId"] != s.keyID {
		return "unknown keyId"
	}
	if params["algorithm"] != "rsa-sha256" || params["version"] != "1" {
		return "unsupported signature algorithm or version"
	}
	headers := strings.Fields(params["headers"])
	for _, need := range []string{"date", "(request-target)", "host"} {
		if !slices.Contains(headers, need) {
			return "the signature does not cover " + need
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		sum := sha256.Sum256(body)
		if r.Header.Get("x-content-sha256") != base64.StdEncoding.EncodeToString(sum[:]) || !slices.Contains(headers, "x-content-sha256") {
			return "the body hash is missing or wrong"
		}
	}
	var lines []string
	for _, h := range headers {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.RequestURI
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = r.Header.Get(h)
		}
		lines = append(lines, h+": "+v)
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return "the signature is not base64"
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return "the signature does not verify"
	}
	return ""
}

var (
	reImage    = regexp.MustCompile(`^/images/([^/]+)$`)
	reInstance = regexp.MustCompile(`^/instances/([^/]+)$`)
	reVnic     = regexp.MustCompile(`^/vnics/([^/]+)$`)
	reBootVol  = regexp.MustCompile(`^/bootVolumes/([^/]+)$`)
	reVolume   = regexp.MustCompile(`^/volumes/([^/]+)$`)
	reUser     = regexp.MustCompile(`^/users/([^/]+)$`)
	reTenancy  = regexp.MustCompile(`^/tenancies/([^/]+)$`)
)

// route answers one request; s.mu is held.
func (s *Fake) route(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	q := r.URL.Query()
	notFound := func() { writeError(w, 404, errorCodes[404][0], errorCodes[404][1]) }
	match := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(path); m != nil {
			return m[1]
		}
		return ""
	}
	switch {
	case r.Method == http.MethodGet && path == "/images":
		if !needCompartment(w, q.Get("compartmentId")) {
			return
		}
		desc := q.Get("sortOrder") != "ASC"
		// Ties broken by ID: pages must not shuffle between calls.
		listed(w, r, s.PageSize, s.images, func(i *image) bool { return imageMatches(i, q) }, func(a, b *image) int {
			c := a.created.Compare(b.created)
			if q.Get("sortBy") == "DISPLAYNAME" {
				c = strings.Compare(a.DisplayName, b.DisplayName)
			}
			if desc {
				c = -c
			}
			if c == 0 {
				c = strings.Compare(a.ID, b.ID)
			}
			return c
		})
	case match(reImage) != "":
		img, ok := s.images[match(reImage)]
		if !ok {
			notFound()
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, img)
			s.advanceImage(img)
		case http.MethodDelete:
			delete(s.images, img.ID)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPut:
			var d update
			if !decode(w, body, &d) {
				return
			}
			d.apply(&img.DisplayName, &img.FreeformTags)
			writeJSON(w, 200, img)
		default:
			writeError(w, 405, "MethodNotAllowed", r.Method+" "+path)
		}
	case r.Method == http.MethodPost && path == "/images":
		s.createImage(w, r, body)
	case r.Method == http.MethodGet && path == "/computeImageCapabilitySchemas":
		s.listSchemas(w, r)
	case strings.HasPrefix(path, "/computeImageCapabilitySchemas/"):
		s.schema(w, r, strings.TrimPrefix(path, "/computeImageCapabilitySchemas/"), body)
	case r.Method == http.MethodPost && path == "/instances":
		s.launch(w, r, body)
	case r.Method == http.MethodGet && path == "/instances":
		if !needCompartment(w, q.Get("compartmentId")) {
			return
		}
		st := q.Get("lifecycleState")
		listed(w, r, s.PageSize, s.instances, func(i *instance) bool { return st == "" || st == i.LifecycleState },
			func(a, b *instance) int { return cmp.Or(b.created.Compare(a.created), strings.Compare(a.ID, b.ID)) })
	case match(reInstance) != "":
		in, ok := s.instances[match(reInstance)]
		if !ok {
			notFound()
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, in)
			s.advance(in)
		case http.MethodPost:
			s.action(w, in, q.Get("action"))
		case http.MethodDelete:
			if in.LifecycleState != "TERMINATED" && in.LifecycleState != "TERMINATING" {
				in.LifecycleState = "TERMINATING"
				in.next = []string{"TERMINATED"}
				in.preserveBoot = q.Get("preserveBootVolume") == "true"
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, 405, "MethodNotAllowed", r.Method+" "+path)
		}
	case r.Method == http.MethodGet && path == "/vnicAttachments":
		if !needCompartment(w, q.Get("compartmentId")) {
			return
		}
		listed(w, r, s.PageSize, s.vnicAtts, attachedTo(q), attachmentsByID)
	case r.Method == http.MethodGet && path == "/bootVolumeAttachments":
		if !needCompartment(w, q.Get("compartmentId")) {
			return
		}
		if q.Get("availabilityDomain") == "" {
			writeError(w, 400, "MissingParameter", "availabilityDomain is required")
			return
		}
		listed(w, r, s.PageSize, s.bootAtts, attachedTo(q), attachmentsByID)
	case r.Method == http.MethodGet && match(reVnic) != "":
		v, ok := s.vnics[match(reVnic)]
		if !ok {
			notFound()
			return
		}
		writeJSON(w, 200, v)
	case r.Method == http.MethodGet && (path == "/bootVolumes" || path == "/volumes"):
		if !needCompartment(w, q.Get("compartmentId")) {
			return
		}
		listed(w, r, s.PageSize, s.volumes, func(v *volume) bool { return v.boot == (path == "/bootVolumes") },
			func(a, b *volume) int { return strings.Compare(a.ID, b.ID) })
	case match(reBootVol) != "" || match(reVolume) != "":
		id := match(reBootVol) + match(reVolume)
		v, ok := s.volumes[id]
		if !ok || v.boot != (match(reBootVol) != "") {
			notFound()
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, v)
		case http.MethodPut:
			var d struct {
				FreeformTags map[string]string `json:"freeformTags"`
			}
			if !decode(w, body, &d) {
				return
			}
			if d.FreeformTags != nil {
				v.FreeformTags = d.FreeformTags
			}
			writeJSON(w, 200, v)
		case http.MethodDelete:
			for _, a := range s.bootAtts {
				if a.BootVolumeID == id {
					writeError(w, 409, "Conflict", "The boot volume is attached to instance "+a.InstanceID+".")
					return
				}
			}
			delete(s.volumes, id)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, 405, "MethodNotAllowed", r.Method+" "+path)
		}
	case r.Method == http.MethodGet && match(reUser) != "":
		if match(reUser) != User {
			notFound()
			return
		}
		writeJSON(w, 200, map[string]any{"id": User, "compartmentId": Tenancy, "name": UserName,
			"description": "fake user", "isMfaActivated": false, "timeCreated": stamp(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), "lifecycleState": "ACTIVE"})
	case r.Method == http.MethodGet && match(reTenancy) != "":
		if match(reTenancy) != Tenancy {
			notFound()
			return
		}
		writeJSON(w, 200, map[string]any{"id": Tenancy, "name": "fake-tenancy", "homeRegionKey": "IAD"})
	default:
		writeError(w, 404, "NotAuthorizedOrNotFound", "no such API: "+r.Method+" "+apiBase+path)
	}
}

// listed answers a list call with the items of m that keep passes, in
// order's order, a page at a time.
func listed[T any](w http.ResponseWriter, r *http.Request, size int, m map[string]*T, keep func(*T) bool, order func(a, b *T) int) {
	var items []*T
	for _, x := range m {
		if keep(x) {
			items = append(items, x)
		}
	}
	slices.SortFunc(items, order)
	writePage(w, r, size, items)
}

// attachedTo keeps the attachments of the request's instanceId (all of
// them without one).
func attachedTo(q url.Values) func(*attachment) bool {
	id := q.Get("instanceId")
	return func(a *attachment) bool { return id == "" || id == a.InstanceID }
}

func attachmentsByID(a, b *attachment) int { return strings.Compare(a.ID, b.ID) }

// update is what an Update call of an image or a capability schema may
// change besides its own fields; what the body leaves out is kept.
type update struct {
	DisplayName  *string           `json:"displayName"`
	FreeformTags map[string]string `json:"freeformTags"`
}

// apply writes the update over a resource's name and tags.
func (d update) apply(name *string, tags *map[string]string) {
	if d.DisplayName != nil {
		*name = *d.DisplayName
	}
	if d.FreeformTags != nil {
		*tags = d.FreeformTags
	}
}

// decode reads a JSON request body into v, or answers 400.
func decode(w http.ResponseWriter, body []byte, v any) bool {
	if json.Unmarshal(body, v) != nil {
		writeError(w, 400, "InvalidParameter", "the body is not valid JSON")
		return false
	}
	return true
}

func needCompartment(w http.ResponseWriter, c string) bool {
	if c == "" {
		writeError(w, 400, "MissingParameter", "compartmentId is required")
		return false
	}
	if c != Compartment {
		writeError(w, 404, errorCodes[404][0], errorCodes[404][1])
		return false
	}
	return true
}

// writePage answers a list call: a JSON array, and opc-next-page (an
// opaque token; here the offset) while more remain.
func writePage[T any](w http.ResponseWriter, r *http.Request, size int, items []T) {
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		size = n
	}
	if size <= 0 {
		size = 1000
	}
	start := 0
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(p, "page-"))
		if err != nil || n < 0 || n > len(items) {
			writeError(w, 400, "InvalidParameter", "invalid page token")
			return
		}
		start = n
	}
	end := min(start+size, len(items))
	if end < len(items) {
		w.Header().Set("opc-next-page", "page-"+strconv.Itoa(end))
	}
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	writeJSON(w, 200, page)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// step moves state to the first of next, the states the next reads move
// through, and reports whether it moved.
func step(state *string, next *[]string) bool {
	if len(*next) == 0 {
		return false
	}
	*state, *next = (*next)[0], (*next)[1:]
	return true
}

// advance moves an instance one step along its pending states after it
// was read, so clients see each state at least once; terminating removes
// its VNIC, attachments and (unless preserved) boot volume, as OCI does.
func (s *Fake) advance(in *instance) {
	if !step(&in.LifecycleState, &in.next) || in.LifecycleState != "TERMINATED" {
		return
	}
	for id, a := range s.vnicAtts {
		if a.InstanceID == in.ID {
			delete(s.vnics, a.VnicID)
			delete(s.vnicAtts, id)
		}
	}
	for id, a := range s.bootAtts {
		if a.InstanceID == in.ID {
			if !in.preserveBoot {
				delete(s.volumes, a.BootVolumeID)
			}
			delete(s.bootAtts, id)
		}
	}
}

func (s *Fake) action(w http.ResponseWriter, in *instance, action string) {
	switch {
	case (action == "STOP" || action == "SOFTSTOP") && in.LifecycleState == "RUNNING":
		in.LifecycleState, in.next = "STOPPING", []string{"STOPPED"}
	case action == "START" && in.LifecycleState == "STOPPED":
		in.LifecycleState, in.next = "STARTING", []string{"RUNNING"}
	case action == "STOP" || action == "SOFTSTOP" || action == "START":
		writeError(w, 409, "IncorrectState", fmt.Sprintf("Instance %s is %s; %s is not allowed.", in.ID, in.LifecycleState, action))
		return
	default:
		writeError(w, 400, "InvalidParameter", "unsupported action "+action)
		return
	}
	writeJSON(w, 200, in)
}

// launchDetails is the part of LaunchInstanceDetails the fake acts on.
type launchDetails struct {
	AvailabilityDomain string            `json:"availabilityDomain"`
	CompartmentID      string            `json:"compartmentId"`
	DisplayName        string            `json:"displayName"`
	Shape              string            `json:"shape"`
	ShapeConfig        *shapeConfig      `json:"shapeConfig"`
	FreeformTags       map[string]string `json:"freeformTags"`
	Metadata           map[string]string `json:"metadata"`
	SourceDetails      *sourceDetails    `json:"sourceDetails"`
	CreateVnicDetails  *struct {
		SubnetID       string            `json:"subnetId"`
		AssignPublicIP *bool             `json:"assignPublicIp"`
		FreeformTags   map[string]string `json:"freeformTags"`
	} `json:"createVnicDetails"`
}

func (s *Fake) launch(w http.ResponseWriter, r *http.Request, body []byte) {
	if tok := r.Header.Get("opc-retry-token"); tok != "" {
		if id, ok := s.retryTokens[tok]; ok { // a retried launch: the same instance
			writeJSON(w, 200, s.instances[id])
			return
		}
	}
	var raw map[string]any
	var d launchDetails
	if !decode(w, body, &raw) || !decode(w, body, &d) {
		return
	}
	s.launches = append(s.launches, raw)
	switch {
	case d.CompartmentID != Compartment:
		writeError(w, 404, errorCodes[404][0], "compartment "+d.CompartmentID+" not found")
		return
	case d.AvailabilityDomain != AvailabilityDomain:
		writeError(w, 400, "InvalidParameter", "availabilityDomain "+d.AvailabilityDomain+" does not exist")
		return
	case d.SourceDetails == nil || d.SourceDetails.SourceType != "image" || d.SourceDetails.ImageID == "":
		writeError(w, 400, "InvalidParameter", "sourceDetails with an image is required")
		return
	case d.CreateVnicDetails == nil || d.CreateVnicDetails.SubnetID != Subnet:
		writeError(w, 400, "InvalidParameter", "createVnicDetails.subnetId must name an existing subnet")
		return
	}
	if _, ok := s.images[d.SourceDetails.ImageID]; !ok {
		writeError(w, 404, errorCodes[404][0], "image "+d.SourceDetails.ImageID+" not found")
		return
	}
	now := time.Now()
	in := &instance{
		ID: s.id("instance"), CompartmentID: d.CompartmentID, AvailabilityDomain: d.AvailabilityDomain,
		DisplayName: d.DisplayName, LifecycleState: "PROVISIONING", Region: Region, Shape: d.Shape,
		TimeCreated: stamp(now), FreeformTags: maps.Clone(d.FreeformTags), ImageID: d.SourceDetails.ImageID,
		Metadata: d.Metadata, ShapeConfig: d.ShapeConfig, SourceDetails: *d.SourceDetails, created: now,
		next: []string{"RUNNING"},
	}
	s.instances[in.ID] = in
	vnicTags := d.CreateVnicDetails.FreeformTags
	s.attach(in, vnicTags, false) // OCI does not copy instance tags to the boot volume
	if ap := d.CreateVnicDetails.AssignPublicIP; ap != nil && !*ap {
		for _, a := range s.vnicAtts {
			if a.InstanceID == in.ID {
				s.vnics[a.VnicID].PublicIP = ""
			}
		}
	}
	if tok := r.Header.Get("opc-retry-token"); tok != "" {
		s.retryTokens[tok] = in.ID
	}
	w.Header().Set("etag", "fake-etag-"+in.ID)
	writeJSON(w, 200, in)
}

// imageMatches applies ListImages' filters: lifecycleState,
// operatingSystem, operatingSystemVersion and displayName (exact, as OCI
// compares them); shape is accepted and ignores no image (every fake
// image runs on every shape).
func imageMatches(i *image, q url.Values) bool {
	for _, f := range [][2]string{
		{q.Get("lifecycleState"), i.LifecycleState},
		{q.Get("operatingSystem"), i.OperatingSystem},
		{q.Get("operatingSystemVersion"), i.OperatingSystemVersion},
		{q.Get("displayName"), i.DisplayName},
	} {
		if f[0] != "" && f[0] != f[1] {
			return false
		}
	}
	return true
}

// createImageDetails is the part of CreateImageDetails the fake acts on.
type createImageDetails struct {
	CompartmentID      string            `json:"compartmentId"`
	InstanceID         string            `json:"instanceId"`
	DisplayName        string            `json:"displayName"`
	FreeformTags       map[string]string `json:"freeformTags"`
	LaunchMode         string            `json:"launchMode"`
	ImageSourceDetails json.RawMessage   `json:"imageSourceDetails"`
}

// createImage answers CreateImage from an instance: the image starts
// PROVISIONING (AVAILABLE after the next read), the instance is
// CREATING_IMAGE until then, as OCI does; the answer names a work
// request (opc-work-request-id). The image gets its capability schema.
func (s *Fake) createImage(w http.ResponseWriter, r *http.Request, body []byte) {
	tok := r.Header.Get("opc-retry-token")
	if id, ok := s.retryTokens["image:"+tok]; ok && tok != "" {
		writeJSON(w, 200, s.images[id])
		return
	}
	var d createImageDetails
	if !decode(w, body, &d) {
		return
	}
	switch {
	case d.CompartmentID != Compartment:
		writeError(w, 404, errorCodes[404][0], "compartment "+d.CompartmentID+" not found")
		return
	case d.InstanceID == "" || len(d.ImageSourceDetails) > 0:
		writeError(w, 400, "InvalidParameter", "the fake creates images from an instance only (instanceId)")
		return
	}
	in, ok := s.instances[d.InstanceID]
	if !ok {
		writeError(w, 404, errorCodes[404][0], "instance "+d.InstanceID+" not found")
		return
	}
	if in.LifecycleState != "RUNNING" && in.LifecycleState != "STOPPED" {
		writeError(w, 409, "IncorrectState", fmt.Sprintf("Instance %s is %s; an image needs it RUNNING or STOPPED.", in.ID, in.LifecycleState))
		return
	}
	now := time.Now()
	base := s.images[in.ImageID]
	img := &image{
		ID: s.id("image"), CompartmentID: d.CompartmentID, DisplayName: d.DisplayName, LifecycleState: "PROVISIONING",
		TimeCreated: stamp(now), FreeformTags: maps.Clone(d.FreeformTags), CreateImageAllowed: true,
		BaseImageID: in.ImageID, LaunchMode: d.LaunchMode, created: now, next: []string{"AVAILABLE"}, instance: in.ID,
	}
	if img.DisplayName == "" {
		img.DisplayName = "fake-image-" + img.ID
	}
	if base != nil {
		img.OperatingSystem, img.OperatingSystemVersion = base.OperatingSystem, base.OperatingSystemVersion
	}
	s.images[img.ID] = img
	s.schemas[img.ID] = &schema{
		ID: s.id("computeimgcapschema"), CompartmentID: d.CompartmentID, GlobalSchemaID: "ocid1.computeglobalimgcapschema.oc1..fake",
		GlobalSchemaVersion: "fake-version-1", ImageID: img.ID, DisplayName: "Image capability schema of " + img.DisplayName,
		LifecycleState: "ACTIVE", TimeCreated: stamp(now),
		SchemaData: json.RawMessage(`{"Compute.Firmware":{"descriptorType":"enumstring","source":"IMAGE","values":["BIOS","UEFI_64"],"defaultValue":"UEFI_64"}}`),
	}
	in.LifecycleState = "CREATING_IMAGE"
	if tok != "" {
		s.retryTokens["image:"+tok] = img.ID
	}
	w.Header().Set("opc-work-request-id", s.id("workrequest"))
	w.Header().Set("etag", "fake-etag-"+img.ID)
	writeJSON(w, 200, img)
}

// advanceImage moves an image one step along its pending states after it
// was read; once AVAILABLE, its instance is RUNNING again.
func (s *Fake) advanceImage(img *image) {
	if !step(&img.LifecycleState, &img.next) || img.LifecycleState != "AVAILABLE" {
		return
	}
	if in, ok := s.instances[img.instance]; ok && in.LifecycleState == "CREATING_IMAGE" {
		in.LifecycleState = "RUNNING"
	}
	img.instance = ""
}

// listSchemas answers ListComputeImageCapabilitySchemas (compartmentId
// and imageId filters, both optional).
func (s *Fake) listSchemas(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var items []*schema
	for _, sc := range s.schemas {
		if _, live := s.images[sc.ImageID]; !live {
			continue
		}
		if (q.Get("imageId") == "" || q.Get("imageId") == sc.ImageID) && (q.Get("compartmentId") == "" || q.Get("compartmentId") == sc.CompartmentID) {
			items = append(items, sc)
		}
	}
	slices.SortFunc(items, func(a, b *schema) int { return strings.Compare(a.ID, b.ID) })
	summaries := make([]schemaSummary, len(items))
	for i, sc := range items {
		summaries[i] = schemaSummary{ID: sc.ID, CompartmentID: sc.CompartmentID, GlobalSchemaVersion: sc.GlobalSchemaVersion,
			ImageID: sc.ImageID, DisplayName: sc.DisplayName, TimeCreated: sc.TimeCreated, FreeformTags: sc.FreeformTags, SchemaData: sc.SchemaData}
	}
	writePage(w, r, s.PageSize, summaries)
}

// schemaSummary is ComputeImageCapabilitySchemaSummary, what lists give.
type schemaSummary struct {
	ID                  string            `json:"id"`
	CompartmentID       string            `json:"compartmentId"`
	GlobalSchemaVersion string            `json:"computeGlobalImageCapabilitySchemaVersionName"`
	ImageID             string            `json:"imageId"`
	DisplayName         string            `json:"displayName"`
	TimeCreated         string            `json:"timeCreated"`
	FreeformTags        map[string]string `json:"freeformTags"`
	SchemaData          json.RawMessage   `json:"schemaData"`
}

// schema answers Get and UpdateComputeImageCapabilitySchema.
func (s *Fake) schema(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var sc *schema
	for _, c := range s.schemas {
		if _, live := s.images[c.ImageID]; live && c.ID == id {
			sc = c
		}
	}
	if sc == nil {
		writeError(w, 404, errorCodes[404][0], errorCodes[404][1])
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, 200, sc)
	case http.MethodPut:
		var d struct {
			update
			SchemaData json.RawMessage `json:"schemaData"`
		}
		if !decode(w, body, &d) {
			return
		}
		d.apply(&sc.DisplayName, &sc.FreeformTags)
		if len(d.SchemaData) > 0 && string(d.SchemaData) != "null" {
			sc.SchemaData = d.SchemaData
		}
		writeJSON(w, 200, sc)
	default:
		writeError(w, 405, "MethodNotAllowed", r.Method+" "+r.URL.Path)
	}
}
