// Package azurefake is a test double: an in-memory Azure Resource Manager
// behind an httptest server on 127.0.0.1, for the tests of package azure
// and the cross-cloud command-line tests. It speaks ARM's wire format:
// resource IDs as paths with an api-version query, JSON bodies with
// id/name/type/location/tags/properties (no systemData: see
// testdata/README.md), long-running PUT/DELETE/POST answered 201/202 with
// an Azure-AsyncOperation header (and Location on 202) whose status
// document says InProgress for LROPolls reads, then Succeeded, or Failed
// with an error (FailOperation); collections as {"value":[...]}, cut into
// pages linked by nextLink when PageSize is set; errors as
// {"error":{"code":..,"message":..}} with x-ms-request-id. Injected
// faults (cloudtest.Faults) answer in that error format. Template
// deployments (deployments.go, template.go) make the resources their
// template declares, so the real Packer azure-arm plugin builds on it.
// Only tests import it.
package azurefake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

// Defaults the fake's seeded resources live in; tests' configs name them.
const (
	Subscription  = "00000000-0000-0000-0000-00000000fa4e"
	ResourceGroup = "sindri-fake-rg"
	Location      = "westus2"
)

// CreatedTag mirrors the tag package azure writes with each resource's
// creation time (network resources report none of their own).
const CreatedTag = "sindri-created"

// Fake is the fake ARM endpoint. Its embedded Faults queue failures and
// hangs (Inject, FailNext, HangNext) and record every request, as
// "METHOD /path" (Requests, Calls).
type Fake struct {
	cloudtest.Faults
	srv   *httptest.Server
	plain *httptest.Server // NewTLS: the same ARM over HTTP, for our client (Env)

	// RetryAfter, when > 0, is sent as Retry-After (seconds) on throttled
	// answers, as ARM does; 0 leaves it out so clients use their backoff.
	RetryAfter int
	// BootPolls is how many instance-view reads a new VM answers
	// PowerState/starting before it runs (Launch's wait loop).
	BootPolls int
	// LROPolls is how many reads of a long-running operation's status
	// answer InProgress before it reaches its end (0: the first read).
	LROPolls int
	// PageSize, when > 0, cuts every list into pages of that many items
	// linked by nextLink, as ARM does for large collections.
	PageSize int
	// PublicIPAddress, when set, is the address every public IP gets (a
	// test that serves SSH there, for a client that connects to the VM);
	// otherwise each gets its own 127.0.x.y.
	PublicIPAddress string

	mu       sync.Mutex
	res      map[string]*resource // by lower-case resource ID
	ops      map[string]*operation
	deps     map[string]*deployment // by lower-case deployment ID
	lroFails []lroFault
	seq      int
	ips      int
}

type resource struct {
	id      string
	typ     string // e.g. microsoft.compute/virtualmachines (lower-case)
	body    map[string]any
	created time.Time
	power   string // virtual machines: running, deallocated, stopped
	general bool   // virtual machines: generalized (no longer startable)
	boot    int    // instance-view reads left that say "starting"
}

// operation is a long-running operation's status document.
type operation struct {
	left      int           // status reads still InProgress
	resource  string        // lower-case ID whose provisioningState follows the operation
	fail      *lroFault     // when set, the operation ends Failed with its error
	finish    func()        // what the operation does when it succeeds (deletes)
	after     func(ok bool) // told how it ended (deployments)
	done      bool
	succeeded bool
}

// lroFault makes matching long-running operations end Failed.
type lroFault struct {
	method, match string // "" matches every request
	code, message string
	n             int
}

// New starts a fake; it stops when the test ends.
func New(t interface {
	Cleanup(func())
}) *Fake {
	return start(t, httptest.NewServer)
}

// NewTLS starts a fake that speaks HTTPS with httptest's certificate for
// 127.0.0.1 (CertPEM), for a client that only talks HTTPS: the real Packer
// azure plugin, pointed at it as a custom cloud environment (Metadata).
// Its Env points package azure at the same state over plain HTTP.
func NewTLS(t interface {
	Cleanup(func())
}) *Fake {
	s := start(t, httptest.NewTLSServer)
	s.plain = cloudtest.Serve(t, httptest.NewServer, http.HandlerFunc(s.serve))
	return s
}

// base is the scheme and host a request came to: the links the fake
// hands out (operation status, nextLink) go back to the same server.
func base(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func start(t interface{ Cleanup(func()) }, serve func(http.Handler) *httptest.Server) *Fake {
	s := &Fake{res: map[string]*resource{}, ops: map[string]*operation{}, deps: map[string]*deployment{}}
	s.putGroup("/subscriptions/"+Subscription+"/resourceGroups/"+ResourceGroup, map[string]any{"location": Location}, time.Now().UTC())
	s.srv = cloudtest.Serve(t, serve, http.HandlerFunc(s.serve))
	return s
}

// CertPEM is the PEM certificate of a NewTLS fake, for SSL_CERT_FILE.
func (s *Fake) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// EnvironmentName is the custom cloud environment the fake describes at
// /metadata/endpoints (the plugin's cloud_environment_name + metadata_host).
const EnvironmentName = "SindriFake"

// metadata answers ARM's /metadata/endpoints and an Entra ID token
// endpoint: every endpoint of the custom environment is the fake itself.
func (s *Fake) metadata(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.URL.Path == "/metadata/endpoints":
		base := s.srv.URL + "/"
		writeJSON(w, http.StatusOK, []any{map[string]any{
			"name": EnvironmentName, "resourceManager": base, "portal": base, "graph": base, "graphAudience": base,
			"gallery": base, "batch": base, "media": base, "sqlManagement": base, "vmImageAliasDoc": base,
			"activeDirectoryDataLake": base,
			"authentication":          map[string]any{"loginEndpoint": base, "audiences": []string{base}, "tenant": "common", "identityProvider": "AAD"},
			"suffixes": map[string]any{"storage": "core.fake.invalid", "keyVaultDns": "vault.fake.invalid",
				"acrLoginServer": "acr.fake.invalid", "sqlServerHostname": "sql.fake.invalid"},
		}})
		return true
	case strings.Contains(r.URL.Path, "/oauth2/") && strings.HasSuffix(r.URL.Path, "/token"):
		// A token whose claims name an object ID, as the plugin reads it.
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"oid":"00000000-0000-0000-0000-0000000fa4e2","tid":"00000000-0000-0000-0000-0000000fa4e0","aud":"` + s.srv.URL + `/"}`))
		tok := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + claims + ".fake"
		exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "access_token": tok, "expires_in": "3600",
			"ext_expires_in": "3600", "expires_on": exp, "not_before": strconv.FormatInt(time.Now().Unix(), 10), "resource": s.srv.URL + "/"})
		return true
	}
	return false
}

// URL is the fake's base URL (http://127.0.0.1:port, https for NewTLS).
func (s *Fake) URL() string { return s.srv.URL }

// endpoint is the URL package azure is pointed at: plain HTTP, also for
// a NewTLS fake (the same state the plugin changes over HTTPS).
func (s *Fake) endpoint() string {
	if s.plain != nil {
		return s.plain.URL
	}
	return s.srv.URL
}

var _ cloudtest.Fake = (*Fake)(nil)

// Env points the zero value azure.Cloud at the fake. The credential
// values are fake; with a loopback endpoint package azure uses a static
// token and never asks Azure AD or a metadata service.
func (s *Fake) Env() map[string]string {
	return map[string]string{
		"SINDRI_AZURE_ENDPOINT": s.endpoint(),
		"AZURE_TENANT_ID":       "00000000-0000-0000-0000-0000000fa4e0",
		"AZURE_CLIENT_ID":       "00000000-0000-0000-0000-0000000fa4e1",
		"AZURE_CLIENT_SECRET":   "fake-azure-client-secret",
	}
}

// FailOperation makes the next n long-running operations (PUT, PATCH,
// DELETE or a POST action) whose method is method (any when "") and whose
// path contains match be accepted, then end with status Failed and the
// error code and message in the operation's status document, as ARM
// reports a deployment, VM or image that could not be made.
func (s *Fake) FailOperation(method, match, code, message string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lroFails = append(s.lroFails, lroFault{method: method, match: strings.ToLower(match), code: code, message: message, n: n})
}

// LookupEnv reads Env: cloud.Env(f.LookupEnv) points an azure.Cloud at
// the fake without touching the process environment.
func (s *Fake) LookupEnv(key string) (string, bool) {
	return cloudtest.EnvOf(s)(key)
}

// ID builds a resource ID in the fake's subscription and resource group,
// e.g. ID("Microsoft.Compute/images", "img").
func ID(typ, name string) string {
	return "/subscriptions/" + Subscription + "/resourceGroups/" + ResourceGroup + "/providers/" + typ + "/" + name
}

// Put stores a resource as ARM would after a successful PUT, without the
// checks (for seeding states a test needs).
func (s *Fake) Put(id string, body map[string]any, created time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(id, body, created)
}

// Get returns a copy of a stored resource's JSON, nil when absent.
func (s *Fake) Get(id string) map[string]any {
	return cloudtest.Read(&s.mu, s.res, strings.ToLower(id), func(r *resource) map[string]any { return clone(s.view(r, false)) })
}

// SeedImage adds a managed image with the tags our template writes
// (including CreatedTag, the build time) and returns its ID.
func (s *Fake) SeedImage(name, configHash string, created time.Time) string {
	id := ID("Microsoft.Compute/images", name)
	s.Put(id, map[string]any{
		"location": Location,
		"tags": map[string]any{
			cloud.TagManagedBy: cloud.ManagedBy, cloud.TagConfigHash: configHash, cloud.TagSindriVersion: "3.0.1",
			// Packer puts the build's run tags on the image too.
			cloud.TagRunID: "build-run", cloud.TagTemporary: cloud.Temporary,
			// The build time the rendered template writes (azure_tags):
			// a managed image has no creation time of its own.
			CreatedTag: created.UTC().Format(time.RFC3339),
		},
		"properties": map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"osType": "Linux", "osState": "Generalized"}}},
	}, created)
	return id
}

// SeedLeftover adds a temporary resource of kind tagged with runID, as a
// crashed run leaves it. Kinds: instance, disk, security-group, network
// (a virtual network); Azure has no key-pair resource in our use, so
// KindKeyPair seeds nothing and returns "".
func (s *Fake) SeedLeftover(kind, runID string, created time.Time) string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	tags := map[string]any{
		cloud.TagManagedBy: cloud.ManagedBy, cloud.TagRunID: runID, cloud.TagTemporary: cloud.Temporary,
		CreatedTag: created.UTC().Format(time.RFC3339),
	}
	name := fmt.Sprintf("sindri-leftover-%d", n)
	var id string
	props := map[string]any{}
	switch kind {
	case cloud.KindInstance:
		id = ID("Microsoft.Compute/virtualMachines", name)
		props = map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_B1s"}}
	case cloud.KindDisk:
		id = ID("Microsoft.Compute/disks", name)
		props = map[string]any{"diskSizeGB": 30, "diskState": "Unattached"}
	case cloud.KindSecurityGroup:
		id = ID("Microsoft.Network/networkSecurityGroups", name)
	case cloud.KindNetwork:
		id = ID("Microsoft.Network/virtualNetworks", name)
		props = map[string]any{"addressSpace": map[string]any{"addressPrefixes": []any{"10.240.0.0/24"}}}
	default:
		return ""
	}
	s.Put(id, map[string]any{"location": Location, "tags": tags, "properties": props}, created)
	return id
}

// Live lists every resource that exists, sorted by kind then ID.
func (s *Fake) Live() []cloudtest.FakeResource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cloudtest.FakeResource
	for _, r := range s.res {
		v := s.view(r, false)
		if r.typ == typeResourceGroup {
			if t, _ := v["tags"].(map[string]any); t == nil || t[cloud.TagTemporary] != cloud.Temporary {
				continue // the groups a test works in; a temporary one is a leftover
			}
		}
		tags := map[string]string{}
		if m, ok := v["tags"].(map[string]any); ok {
			for k, val := range m {
				tags[k], _ = val.(string)
			}
		}
		state := str(props(v)["provisioningState"])
		if r.typ == "microsoft.compute/virtualmachines" {
			state = r.power
		}
		loc, _ := v["location"].(string)
		out = append(out, cloudtest.FakeResource{Kind: kindOf(r.typ), ID: r.id, Name: str(v["name"]), Region: loc, State: state, Tags: tags, Created: r.created})
	}
	return cloudtest.SortLive(out)
}

func kindOf(typ string) string {
	switch typ {
	case "microsoft.compute/virtualmachines":
		return cloud.KindInstance
	case "microsoft.compute/disks":
		return cloud.KindDisk
	case "microsoft.compute/images", "microsoft.compute/galleries/images/versions":
		return "image"
	case "microsoft.network/networksecuritygroups":
		return cloud.KindSecurityGroup
	case typeResourceGroup:
		return "resource-group"
	}
	return cloud.KindNetwork
}

// serve is the ARM front door: faults and recording, checks, then routing.
func (s *Fake) serve(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("fa4e0000-0000-0000-0000-%012d", s.seq)
	s.mu.Unlock()
	w.Header().Set("x-ms-request-id", reqID)
	w.Header().Set("x-ms-correlation-request-id", reqID)
	if s.Answered(r, r.Method+" "+r.URL.Path, data, func(f cloudtest.Fault) { s.writeFault(w, f) }) {
		return
	}
	if s.metadata(w, r) {
		return
	}
	if r.Header.Get("Authorization") == "" {
		writeErr(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeErr(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	var body map[string]any
	if len(data) > 0 && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost) {
		if err := json.Unmarshal(data, &body); err != nil {
			writeErr(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
			return
		}
	}
	s.route(w, r, body)
}

// writeFault answers an injected fault in ARM's error format, with ARM's
// usual code for the status when the fault names none.
func (s *Fake) writeFault(w http.ResponseWriter, f cloudtest.Fault) {
	usual := map[int]string{429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}[f.Status]
	code, msg := f.Or(cmp.Or(usual, "FakeFailure"), fmt.Sprintf("fake: injected %d failure", f.Status))
	if f.Status == http.StatusTooManyRequests && s.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.RetryAfter))
	}
	writeErr(w, f.Status, code, msg)
}

func (s *Fake) route(w http.ResponseWriter, r *http.Request, body map[string]any) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(seg) == 2 && strings.EqualFold(seg[0], "subscriptions") && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "/subscriptions/" + seg[1], "subscriptionId": seg[1], "tenantId": "00000000-0000-0000-0000-0000000fa4e0",
			"displayName": "Fake Subscription", "state": "Enabled",
		})
		return
	case strings.HasPrefix(path, "/fake/operations/"):
		s.operationStatus(w, r, strings.TrimPrefix(path, "/fake/operations/"))
		return
	}
	if group, name, rest, ok := deploymentPath(seg); ok {
		s.deployments(w, r, group, name, rest, body)
		return
	}
	if len(seg) == 4 && strings.EqualFold(seg[0], "subscriptions") && strings.EqualFold(seg[2], "resourcegroups") {
		s.resourceGroup(w, r, "/"+strings.Join(seg, "/"), body)
		return
	}
	p := providerIndex(seg)
	if p < 0 || len(seg) < p+3 {
		writeErr(w, http.StatusNotFound, "InvalidResourceType", "The resource type could not be found in the namespace for api version.")
		return
	}
	rest := len(seg) - (p + 2) // segments after providers/NS
	if r.Method == http.MethodPost && rest%2 == 1 && rest >= 3 {
		s.action(w, r, strings.Join(seg[:len(seg)-1], "/"), seg[len(seg)-1])
		return
	}
	if r.Method == http.MethodGet && rest%2 == 1 {
		if strings.EqualFold(seg[len(seg)-1], "instanceView") {
			s.instanceView(w, "/"+strings.Join(seg[:len(seg)-1], "/"))
			return
		}
		s.list(w, r, seg, p)
		return
	}
	id := "/" + strings.Join(seg, "/")
	switch r.Method {
	case http.MethodGet:
		s.get(w, r, id)
	case http.MethodPut:
		s.put(w, r, id, body)
	case http.MethodPatch:
		s.patch(w, id, body)
	case http.MethodDelete:
		s.delete(w, r, id)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

// typeResourceGroup is a resource group's type (Microsoft.Resources).
const typeResourceGroup = "microsoft.resources/resourcegroups"

// resourceGroup serves Microsoft.Resources' ResourceGroups_Get,
// _CheckExistence (HEAD: 204 or 404), _CreateOrUpdate (PUT, synchronous
// 200/201) and _Delete (an LRO that removes everything inside).
func (s *Fake) resourceGroup(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(id)
	res := s.res[key]
	switch r.Method {
	case http.MethodHead:
		if res == nil {
			w.WriteHeader(http.StatusNotFound)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
	case http.MethodGet:
		if res == nil {
			name := id[strings.LastIndex(id, "/")+1:]
			writeErr(w, http.StatusNotFound, "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", name))
			return
		}
		writeJSON(w, http.StatusOK, clone(res.body))
	case http.MethodPut:
		if str(body["location"]) == "" {
			writeErr(w, http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
			return
		}
		status := http.StatusCreated
		if res != nil {
			status = http.StatusOK
		}
		s.putGroup(id, body, time.Now().UTC())
		writeJSON(w, status, clone(s.res[key].body))
	case http.MethodDelete:
		if res == nil {
			writeErr(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group could not be found.")
			return
		}
		op := s.async(w, r, true)
		op.finish = func() {
			for k := range s.res {
				if strings.HasPrefix(k, key+"/") || k == key {
					delete(s.res, k)
				}
			}
			for k := range s.deps {
				if strings.HasPrefix(k, key+"/") {
					delete(s.deps, k)
				}
			}
		}
		s.settle(op)
		w.WriteHeader(http.StatusAccepted)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed.")
	}
}

// putGroup stores a resource group (the caller holds mu).
func (s *Fake) putGroup(id string, body map[string]any, created time.Time) {
	body = clone(body)
	body["id"], body["name"], body["type"] = id, id[strings.LastIndex(id, "/")+1:], "Microsoft.Resources/resourceGroups"
	props(body)["provisioningState"] = "Succeeded"
	s.res[strings.ToLower(id)] = &resource{id: id, typ: typeResourceGroup, body: body, created: created}
}

// providerIndex is the index of "providers" in a resource path, or -1.
func providerIndex(seg []string) int {
	for i, s := range seg {
		if strings.EqualFold(s, "providers") {
			return i
		}
	}
	return -1
}

// typeOf is a resource ID's type, lower-case: NS/type[/subtype...].
func typeOf(id string) string {
	seg := strings.Split(strings.TrimPrefix(id, "/"), "/")
	p := providerIndex(seg)
	if p < 0 || len(seg) < p+4 {
		return ""
	}
	t := []string{seg[p+1], seg[p+2]}
	for i := p + 4; i+1 < len(seg); i += 2 {
		t = append(t, seg[i])
	}
	return strings.ToLower(strings.Join(t, "/"))
}

func (s *Fake) get(w http.ResponseWriter, r *http.Request, id string) {
	expand := strings.EqualFold(r.URL.Query().Get("$expand"), "instanceView")
	s.respond(w, id, func(res *resource) map[string]any { return s.view(res, expand) })
}

// respond answers 200 with what answer makes of the resource id (under
// the fake's lock), or ARM's ResourceNotFound.
func (s *Fake) respond(w http.ResponseWriter, id string, answer func(*resource) map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res[strings.ToLower(id)]
	if res == nil {
		writeNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, answer(res))
}

// exists reports whether a referenced ID exists (subnets live in their vnet).
func (s *Fake) exists(id string) bool {
	if s.res[strings.ToLower(id)] != nil {
		return true
	}
	low := strings.ToLower(id)
	if i := strings.Index(low, "/subnets/"); i > 0 {
		if vnet := s.res[low[:i]]; vnet != nil {
			for _, sn := range list(props(vnet.body)["subnets"]) {
				if strings.EqualFold(str(sn["name"]), id[i+len("/subnets/"):]) {
					return true
				}
			}
		}
	}
	return false
}

func (s *Fake) list(w http.ResponseWriter, r *http.Request, seg []string, p int) {
	// The collection is everything below prefix whose type is typ.
	prefix := strings.ToLower("/" + strings.Join(seg[:p], "/") + "/")
	t := []string{seg[p+1], seg[p+2]}
	parent := ""
	if len(seg) > p+3 {
		parent = strings.ToLower("/" + strings.Join(seg[:len(seg)-1], "/") + "/")
		for i := p + 4; i < len(seg); i += 2 {
			t = append(t, seg[i])
		}
	}
	typ := strings.ToLower(strings.Join(t, "/"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for k, r := range s.res {
		if r.typ == typ && strings.HasPrefix(k, prefix) && (parent == "" || strings.HasPrefix(k, parent)) {
			ids = append(ids, k)
		}
	}
	sort.Strings(ids)
	out := map[string]any{}
	if s.PageSize > 0 {
		// $skiptoken is where this page starts; ARM's tokens are opaque.
		from, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		from = min(max(from, 0), len(ids))
		end := min(from+s.PageSize, len(ids))
		if end < len(ids) {
			q := r.URL.Query()
			q.Set("$skiptoken", strconv.Itoa(end))
			out["nextLink"] = base(r) + r.URL.Path + "?" + q.Encode()
		}
		ids = ids[from:end]
	}
	value := []any{}
	for _, k := range ids {
		value = append(value, s.view(s.res[k], false))
	}
	out["value"] = value
	writeJSON(w, http.StatusOK, out)
}

func (s *Fake) put(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == nil {
		writeErr(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
		return
	}
	created, err := s.create(id, body)
	if err != nil {
		writeValidateError(w, err)
		return
	}
	status := map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created]
	res := s.res[strings.ToLower(id)]
	// Until the operation ends, a GET shows the resource Creating (or
	// Updating); then Succeeded, or Failed.
	props(res.body)["provisioningState"] = map[bool]string{true: "Creating", false: "Updating"}[created]
	op := s.async(w, r, false)
	op.resource = strings.ToLower(id)
	s.settle(op)
	writeJSON(w, status, s.view(res, false))
}

// create checks and stores a resource a PUT (or a deployment) makes;
// created is false when it replaced one (the caller holds mu).
func (s *Fake) create(id string, body map[string]any) (created bool, err error) {
	if str(body["location"]) == "" {
		return false, &templateError{code: "LocationRequired", msg: "The location property is required for this definition."}
	}
	// Referenced resources must exist, as ARM checks before it creates.
	for _, ref := range refs(body["properties"]) {
		if !s.exists(ref) {
			return false, &templateError{code: "InvalidResourceReference",
				msg: fmt.Sprintf("Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", ref, id)}
		}
	}
	if err := s.fromVM(id, body); err != nil {
		return false, err
	}
	when := time.Now().UTC()
	old := s.res[strings.ToLower(id)]
	if old != nil {
		when = old.created
	}
	res := s.store(id, body, when)
	if res.typ == "microsoft.compute/virtualmachines" && old == nil {
		s.createOSDisk(res)
		s.dynamicIPs(res, true)
	}
	return old == nil, nil
}

// nextIP is a public IP's address: a loopback one, so nothing a test
// connects to leaves the machine.
func (s *Fake) nextIP() string {
	if s.PublicIPAddress != "" {
		return s.PublicIPAddress
	}
	s.ips++
	return fmt.Sprintf("127.0.%d.%d", 10+s.ips/250, 1+s.ips%250)
}

// dynamicIPs gives the Dynamic public IPs on a VM's NICs an address when
// it runs and takes it back when it is deallocated, as Azure does (a
// Static one keeps the address it got when it was made).
func (s *Fake) dynamicIPs(vm *resource, running bool) {
	np, _ := props(vm.body)["networkProfile"].(map[string]any)
	for _, ni := range list(np["networkInterfaces"]) {
		nic := s.res[strings.ToLower(str(ni["id"]))]
		if nic == nil {
			continue
		}
		for _, ipc := range list(props(nic.body)["ipConfigurations"]) {
			ref, _ := props(ipc)["publicIPAddress"].(map[string]any)
			ip := s.res[strings.ToLower(str(ref["id"]))]
			if ip == nil || !strings.EqualFold(str(props(ip.body)["publicIPAllocationMethod"]), "Dynamic") {
				continue
			}
			if !running {
				delete(props(ip.body), "ipAddress")
			} else if props(ip.body)["ipAddress"] == nil {
				props(ip.body)["ipAddress"] = s.nextIP()
			}
		}
	}
}

// fromVM fills a managed image made from a VM (sourceVirtualMachine) with
// the VM's OS disk, as Images_CreateOrUpdate reports it; the VM must be
// generalized, or ARM refuses with OperationNotAllowed.
func (s *Fake) fromVM(id string, body map[string]any) error {
	if typeOf(id) != "microsoft.compute/images" {
		return nil
	}
	src, _ := props(body)["sourceVirtualMachine"].(map[string]any)
	if src == nil {
		return nil
	}
	vm := s.res[strings.ToLower(str(src["id"]))]
	if vm == nil {
		return nil // refs already said it is missing
	}
	if !vm.general {
		return &templateError{code: "OperationNotAllowed", msg: fmt.Sprintf("The operation 'CreateImage' is not allowed on VM '%s' since the VM is not generalized.", str(vm.body["name"]))}
	}
	sp, _ := props(vm.body)["storageProfile"].(map[string]any)
	od, _ := sp["osDisk"].(map[string]any)
	md, _ := od["managedDisk"].(map[string]any)
	disk := map[string]any{"osType": od["osType"], "osState": "Generalized", "caching": od["caching"],
		"managedDisk": map[string]any{"id": md["id"]}, "storageAccountType": md["storageAccountType"]}
	if size, ok := od["diskSizeGB"]; ok {
		disk["diskSizeGB"] = size
	}
	props(body)["storageProfile"] = map[string]any{"osDisk": disk, "dataDisks": []any{}}
	if props(body)["hyperVGeneration"] == nil {
		props(body)["hyperVGeneration"] = "V1"
	}
	return nil
}

// store saves a resource as ARM reports it after creation.
func (s *Fake) store(id string, body map[string]any, created time.Time) *resource {
	body = clone(body)
	typ := typeOf(id)
	name := id[strings.LastIndex(id, "/")+1:]
	body["id"], body["name"] = id, name
	body["type"] = typeName(id)
	pr := props(body)
	body["properties"] = pr
	pr["provisioningState"] = "Succeeded"
	// No systemData: the Compute and Network specs of the api-versions the
	// SDK and the Packer plugin call (testdata/README.md) define none on
	// images, VMs, disks or network resources, so a client reading it
	// would see nothing on real Azure. Creation times come only where the
	// spec has them: timeCreated (VMs, disks), publishedDate (gallery
	// image versions).
	res := &resource{id: id, typ: typ, body: body, created: created}
	switch typ {
	case "microsoft.compute/galleries/images/versions":
		pp, _ := pr["publishingProfile"].(map[string]any)
		if pp == nil {
			pp = map[string]any{}
			pr["publishingProfile"] = pp
		}
		if pp["publishedDate"] == nil {
			pp["publishedDate"] = created.Format(time.RFC3339Nano)
		}
	case "microsoft.compute/virtualmachines":
		pr["timeCreated"] = created.Format(time.RFC3339Nano)
		pr["vmId"] = fmt.Sprintf("fa4e%04d-0000-0000-0000-000000000000", len(s.res))
		res.power = "running"
		res.boot = s.BootPolls
	case "microsoft.compute/disks":
		pr["timeCreated"] = created.Format(time.RFC3339Nano)
	case "microsoft.network/publicipaddresses":
		if strings.EqualFold(str(pr["publicIPAllocationMethod"]), "Static") && pr["ipAddress"] == nil {
			// A loopback address: nothing a test connects to leaves the machine.
			pr["ipAddress"] = s.nextIP()
		}
	case "microsoft.network/virtualnetworks":
		for _, sn := range list(pr["subnets"]) {
			sn["id"] = id + "/subnets/" + str(sn["name"])
			sp := props(sn)
			sn["properties"] = sp
			sp["provisioningState"] = "Succeeded"
		}
	}
	s.res[strings.ToLower(id)] = res
	return res
}

// createOSDisk makes the managed disk a new VM boots from; like Azure, it
// carries none of the VM's tags.
func (s *Fake) createOSDisk(vm *resource) {
	sp, _ := props(vm.body)["storageProfile"].(map[string]any)
	if sp == nil {
		return
	}
	od, _ := sp["osDisk"].(map[string]any)
	if od == nil {
		return
	}
	name := str(od["name"])
	if name == "" {
		name = str(vm.body["name"]) + "_OsDisk_1_fa4e"
		od["name"] = name
	}
	prefix := vm.id[:strings.Index(strings.ToLower(vm.id), "/providers/")]
	diskID := prefix + "/providers/Microsoft.Compute/disks/" + name
	md, _ := od["managedDisk"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		od["managedDisk"] = md
	}
	md["id"] = diskID
	s.store(diskID, map[string]any{"location": vm.body["location"], "properties": map[string]any{"diskState": "Attached", "osType": "Linux"}}, vm.created)
	s.res[strings.ToLower(diskID)].body["managedBy"] = vm.id
}

// async starts a long-running operation and sets the headers of its first
// answer as ARM does: Azure-AsyncOperation (the status document) always,
// and for a 202 (DELETE, POST actions) also Location, which answers 202
// while the operation runs and 200 once it is done. A FailOperation fault
// that matches the request makes it end Failed.
func (s *Fake) async(w http.ResponseWriter, r *http.Request, location bool) *operation {
	s.seq++
	name := fmt.Sprintf("op-%d", s.seq)
	op := &operation{left: s.LROPolls}
	for i := range s.lroFails {
		f := &s.lroFails[i]
		if f.n > 0 && (f.method == "" || f.method == r.Method) && strings.Contains(strings.ToLower(r.URL.Path), f.match) {
			f.n--
			op.fail = f
			break
		}
	}
	s.ops[name] = op
	q := "?api-version=" + r.URL.Query().Get("api-version")
	w.Header().Set("Azure-AsyncOperation", base(r)+"/fake/operations/"+name+q)
	if location {
		w.Header().Set("Location", base(r)+"/fake/operations/"+name+"/result"+q)
	}
	if s.LROPolls > 0 {
		w.Header().Set("Retry-After", "0")
	}
	return op
}

// settle ends an operation that has no InProgress reads left. A failing
// one ends only when polled: ARM's first answer says Creating (or 202),
// never Failed.
func (s *Fake) settle(op *operation) {
	if op.done || op.left > 0 {
		return
	}
	if op.fail != nil {
		return
	}
	op.done = true
	s.end(op)
}

// end records how a done operation ended.
func (s *Fake) end(op *operation) {
	op.succeeded = op.fail == nil
	if r := s.res[op.resource]; r != nil {
		props(r.body)["provisioningState"] = map[bool]string{true: "Succeeded", false: "Failed"}[op.succeeded]
	}
	if op.succeeded && op.finish != nil {
		op.finish()
	}
	if op.after != nil {
		op.after(op.succeeded)
	}
}

// operationStatus answers a poll of the status document (or, with
// /result, of the Location URL).
func (s *Fake) operationStatus(w http.ResponseWriter, r *http.Request, name string) {
	name, result := strings.CutSuffix(name, "/result")
	s.mu.Lock()
	defer s.mu.Unlock()
	op := s.ops[name]
	if op == nil {
		writeErr(w, http.StatusNotFound, "OperationNotFound", "The operation '"+name+"' was not found.")
		return
	}
	if !op.done {
		if op.left > 0 {
			op.left--
		} else {
			op.done = true // its InProgress reads are used up
			s.end(op)
		}
	}
	if !op.done {
		// ARM says when to ask again while an operation runs; 0 keeps
		// tests fast (without it, autorest clients wait their default
		// polling delay, 60 seconds).
		w.Header().Set("Retry-After", "0")
	}
	switch {
	case result && !op.done:
		w.Header().Set("Location", base(r)+"/fake/operations/"+name+"/result?api-version="+r.URL.Query().Get("api-version"))
		w.WriteHeader(http.StatusAccepted)
	case result && op.succeeded:
		w.WriteHeader(http.StatusOK)
	case result:
		writeErr(w, http.StatusBadRequest, op.fail.code, op.fail.message)
	case !op.done:
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "status": "InProgress"})
	case op.succeeded:
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "status": "Succeeded"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "status": "Failed",
			"error": map[string]any{"code": op.fail.code, "message": op.fail.message}})
	}
}

func (s *Fake) patch(w http.ResponseWriter, id string, body map[string]any) {
	s.respond(w, id, func(res *resource) map[string]any {
		if tags, ok := body["tags"]; ok {
			res.body["tags"] = tags // PATCH replaces the whole tag set
		}
		if p, ok := body["properties"].(map[string]any); ok {
			merge(props(res.body), p)
		}
		return s.view(res, false)
	})
}

func (s *Fake) delete(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res[strings.ToLower(id)]
	if res == nil {
		// ARM answers a delete of what does not exist with 204.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if by := s.usedBy(res); by != "" {
		code := map[string]string{
			"microsoft.network/networkinterfaces":     "NicInUse",
			"microsoft.network/publicipaddresses":     "PublicIPAddressCannotBeDeleted",
			"microsoft.network/networksecuritygroups": "InUseNetworkSecurityGroupCannotBeDeleted",
			"microsoft.network/virtualnetworks":       "InUseSubnetCannotBeDeleted",
			"microsoft.compute/disks":                 "OperationNotAllowed",
		}[res.typ]
		status := http.StatusBadRequest
		if res.typ == "microsoft.compute/disks" {
			status = http.StatusConflict
		}
		writeErr(w, status, code, fmt.Sprintf("Resource %s is in use by %s and cannot be deleted.", id, by))
		return
	}
	op := s.async(w, r, true)
	if v := s.versionOf(res); v != "" && op.fail == nil {
		// Azure accepts the delete, then fails it: a managed image that
		// is the source of a gallery image version cannot go first.
		op.fail = &lroFault{code: "OperationNotAllowed", message: fmt.Sprintf("The image %s is being used by a gallery image version %s and cannot be deleted.", id, v)}
	}
	op.finish = func() { s.remove(res) }
	s.settle(op)
	w.WriteHeader(http.StatusAccepted)
}

// versionOf names a live gallery image version made from the managed
// image res (storageProfile.source.id), or "".
func (s *Fake) versionOf(res *resource) string {
	if res.typ != "microsoft.compute/images" {
		return ""
	}
	for _, o := range s.res {
		if o.typ != "microsoft.compute/galleries/images/versions" {
			continue
		}
		sp, _ := props(o.body)["storageProfile"].(map[string]any)
		src, _ := sp["source"].(map[string]any)
		if strings.EqualFold(str(src["id"]), res.id) {
			return o.id
		}
	}
	return ""
}

// remove deletes res and what goes with it.
func (s *Fake) remove(res *resource) {
	delete(s.res, strings.ToLower(res.id))
	if res.typ == "microsoft.compute/virtualmachines" {
		// The OS disk goes with the VM when its deleteOption says so.
		sp, _ := props(res.body)["storageProfile"].(map[string]any)
		od, _ := sp["osDisk"].(map[string]any)
		md, _ := od["managedDisk"].(map[string]any)
		if disk := str(md["id"]); disk != "" {
			if strings.EqualFold(str(od["deleteOption"]), "Delete") {
				delete(s.res, strings.ToLower(disk))
			} else if d := s.res[strings.ToLower(disk)]; d != nil {
				delete(d.body, "managedBy")
				props(d.body)["diskState"] = "Unattached"
			}
		}
	}
	if res.typ == "microsoft.compute/virtualmachines" {
		// So do NICs whose deleteOption is Delete.
		np, _ := props(res.body)["networkProfile"].(map[string]any)
		for _, ni := range list(np["networkInterfaces"]) {
			if strings.EqualFold(str(props(ni)["deleteOption"]), "Delete") {
				delete(s.res, strings.ToLower(str(ni["id"])))
			}
		}
	}
}

// usedBy names a live resource that references res (ARM refuses to delete
// a NIC on a VM, an IP or NSG on a NIC, a subnet with NICs, a VM's disk).
func (s *Fake) usedBy(res *resource) string {
	switch res.typ {
	case "microsoft.network/networkinterfaces", "microsoft.network/publicipaddresses",
		"microsoft.network/networksecuritygroups", "microsoft.network/virtualnetworks":
	case "microsoft.compute/disks":
		if by := str(res.body["managedBy"]); by != "" && s.res[strings.ToLower(by)] != nil {
			return by
		}
		return ""
	default:
		return ""
	}
	want := strings.ToLower(res.id)
	for k, o := range s.res {
		if k == want {
			continue
		}
		for _, ref := range refs(o.body["properties"]) {
			ref = strings.ToLower(ref)
			if ref == want || strings.HasPrefix(ref, want+"/") {
				return o.id
			}
		}
	}
	return ""
}

// action runs a VM's POST action (start, deallocate, powerOff, restart).
func (s *Fake) action(w http.ResponseWriter, r *http.Request, parent, verb string) {
	id := "/" + parent
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.res[strings.ToLower(id)]
	if res == nil || res.typ != "microsoft.compute/virtualmachines" {
		writeNotFound(w, id)
		return
	}
	verb = strings.ToLower(verb)
	if verb == "generalize" {
		// VirtualMachines_Generalize: synchronous 200, only on a VM
		// that is not running; a generalized VM cannot start again.
		if res.power == "running" {
			writeErr(w, http.StatusConflict, "OperationNotAllowed", fmt.Sprintf("Operation 'generalize' is not allowed on VM '%s' since the VM is running. Please stop or deallocate the VM first.", str(res.body["name"])))
			return
		}
		res.general = true
		w.WriteHeader(http.StatusOK)
		return
	}
	if res.general && (verb == "start" || verb == "restart") {
		writeErr(w, http.StatusConflict, "OperationNotAllowed", fmt.Sprintf("Operation '%s' is not allowed on VM '%s' since the VM is generalized.", verb, str(res.body["name"])))
		return
	}
	power := map[string]string{"start": "running", "restart": "running", "deallocate": "deallocated", "poweroff": "stopped"}[verb]
	if power == "" {
		writeErr(w, http.StatusBadRequest, "InvalidOperation", "unknown action "+verb)
		return
	}
	op := s.async(w, r, true)
	op.finish = func() {
		res.power = power
		s.dynamicIPs(res, power == "running")
	}
	s.settle(op)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Fake) instanceView(w http.ResponseWriter, id string) {
	s.respond(w, id, instanceView)
}

func instanceView(res *resource) map[string]any {
	power := res.power
	if res.boot > 0 {
		res.boot--
		power = "starting"
	}
	return map[string]any{"statuses": []any{
		map[string]any{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
		map[string]any{"code": "PowerState/" + power, "level": "Info", "displayStatus": "VM " + power},
	}}
}

// view is the JSON ARM returns for a resource.
func (s *Fake) view(res *resource, expand bool) map[string]any {
	v := clone(res.body)
	if expand && res.typ == "microsoft.compute/virtualmachines" {
		props(v)["instanceView"] = instanceView(res)
	}
	return v
}

// typeName is the "type" field ARM reports, e.g. Microsoft.Compute/virtualMachines.
func typeName(id string) string {
	seg := strings.Split(strings.TrimPrefix(id, "/"), "/")
	p := providerIndex(seg)
	t := []string{seg[p+1], seg[p+2]}
	for i := p + 4; i+1 < len(seg); i += 2 {
		t = append(t, seg[i])
	}
	return strings.Join(t, "/")
}

// refs are the resource IDs a properties document references ("id" keys).
func refs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "id" {
				if s, ok := e.(string); ok && strings.HasPrefix(strings.ToLower(s), "/subscriptions/") {
					out = append(out, s)
				}
				continue
			}
			out = append(out, refs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refs(e)...)
		}
	}
	return out
}

func props(v map[string]any) map[string]any {
	if p, ok := v["properties"].(map[string]any); ok {
		return p
	}
	p := map[string]any{}
	v["properties"] = p
	return p
}

func list(v any) []map[string]any {
	a, _ := v.([]any)
	var out []map[string]any
	for _, e := range a {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

func merge(dst, src map[string]any) {
	for k, v := range src {
		if m, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, m)
				continue
			}
		}
		dst[k] = v
	}
}

func clone(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	data, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("x-ms-failure-cause", "gateway")
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message}})
}

func writeNotFound(w http.ResponseWriter, id string) {
	seg := strings.Split(strings.TrimPrefix(id, "/"), "/")
	rg := ""
	if len(seg) > 3 {
		rg = seg[3]
	}
	writeErr(w, http.StatusNotFound, "ResourceNotFound",
		fmt.Sprintf("The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typeName(id)+"/"+id[strings.LastIndex(id, "/")+1:], rg))
}
