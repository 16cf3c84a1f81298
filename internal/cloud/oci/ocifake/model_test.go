package ocifake

// The double checked against the official model: the OCI Go SDK's model
// types (github.com/oracle/oci-go-sdk/v65, the version go.mod pins; its
// struct json tags are the wire names, mandatory:"true" the fields OCI
// always sends, its enums the states it knows). Every shape the double
// serves is decoded generically and compared with its SDK type by
// reflection, and decoded into the SDK type and its enums validated.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"
)

// call serves one request through the fake's router (no signature: the
// wire shapes are under test here, signing in the client tests).
func call(t *testing.T, s *Fake, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, apiBase+target, strings.NewReader(body))
	w := httptest.NewRecorder()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route(w, r, strings.TrimPrefix(r.URL.Path, apiBase), []byte(body))
	if w.Code >= 300 && w.Code != http.StatusNoContent {
		t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
	return w
}

// polymorphic are the SDK's interface-typed fields: the concrete type the
// double sends and the discriminator key the SDK marshals with it.
var polymorphic = map[reflect.Type]struct {
	concrete      reflect.Type
	discriminator string
}{
	reflect.TypeFor[core.InstanceSourceDetails]():           {reflect.TypeFor[core.InstanceSourceViaImageDetails](), "sourceType"},
	reflect.TypeFor[core.ImageCapabilitySchemaDescriptor](): {reflect.TypeFor[core.EnumStringImageCapabilitySchemaDescriptor](), "descriptorType"},
}

// checkShape compares a decoded JSON value with the SDK type typ: every
// key is a json tag of typ, every mandatory field is present, and nested
// objects, arrays and maps are checked the same way.
func checkShape(t *testing.T, where string, v any, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[common.SDKTime]() {
		if s, ok := v.(string); !ok {
			t.Errorf("%s: a time must be a string, got %T", where, v)
		} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("%s: %q is not an RFC 3339 time: %v", where, s, err)
		}
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		items, _ := v.([]any)
		for i, item := range items {
			checkShape(t, where+"["+string(rune('0'+i%10))+"]", item, typ.Elem())
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for k, item := range m {
			checkShape(t, where+"."+k, item, typ.Elem())
		}
	case reflect.Interface:
		p, ok := polymorphic[typ]
		if !ok {
			return // interface{} values (defined tags): anything goes
		}
		obj, _ := v.(map[string]any)
		if _, ok := obj[p.discriminator]; !ok {
			t.Errorf("%s: no discriminator %q", where, p.discriminator)
		}
		checkObject(t, where, obj, p.concrete, p.discriminator)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: want an object (%s), got %T", where, typ, v)
			return
		}
		checkObject(t, where, obj, typ, "")
	}
}

func checkObject(t *testing.T, where string, obj map[string]any, typ reflect.Type, extra string) {
	t.Helper()
	fields := map[string]reflect.StructField{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f
		}
	}
	for k, item := range obj {
		f, ok := fields[k]
		switch {
		case k == extra:
		case !ok:
			t.Errorf("%s: the double writes %q, which is no field of the SDK's %s", where, k, typ)
		default:
			checkShape(t, where+"."+k, item, f.Type)
		}
	}
	for name, f := range fields {
		if _, ok := obj[name]; !ok && f.Tag.Get("mandatory") == "true" {
			t.Errorf("%s: the SDK's %s has mandatory %q, the double leaves it out", where, typ, name)
		}
	}
}

// checkModel checks a response body against the SDK type T (a list is
// []T): its shape, then that the SDK decodes it and knows its enums.
func checkModel[T any](t *testing.T, where string, w *httptest.ResponseRecorder) {
	t.Helper()
	var generic any
	if err := json.Unmarshal(w.Body.Bytes(), &generic); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var model T
	checkShape(t, where, generic, reflect.TypeOf(model))
	if err := json.Unmarshal(w.Body.Bytes(), &model); err != nil {
		t.Errorf("%s: the SDK's %T does not decode it: %v", where, model, err)
		return
	}
	validate(t, where, reflect.ValueOf(model))
}

// validate calls the SDK's ValidateEnumValue on a model (each item of a list).
func validate(t *testing.T, where string, v reflect.Value) {
	t.Helper()
	if v.Kind() == reflect.Slice {
		for i := range v.Len() {
			validate(t, where, v.Index(i))
		}
		return
	}
	if m, ok := v.Interface().(interface{ ValidateEnumValue() (bool, error) }); ok {
		if _, err := m.ValidateEnumValue(); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
}

// modelFake is a fake with one of everything the double serves: a base
// image, an instance launched from it (VNIC, boot volume), an image
// created from it (PROVISIONING, with its capability schema), a block
// volume.
func modelFake(t *testing.T) (s *Fake, base, instance, img string) {
	t.Helper()
	s = New(t)
	base = s.AddImage("Canonical-Ubuntu-24.04", nil, time.Now().Add(-time.Hour), "AVAILABLE")
	s.AddVolume("data", map[string]string{"k": "v"}, time.Now())
	launch := `{"availabilityDomain":"` + AvailabilityDomain + `","compartmentId":"` + Compartment + `","displayName":"b","shape":"VM.Standard.E4.Flex",
		"shapeConfig":{"ocpus":4,"memoryInGBs":64},"metadata":{"ssh_authorized_keys":""},"freeformTags":{"a":"b"},
		"sourceDetails":{"sourceType":"image","imageId":"` + base + `","bootVolumeSizeInGBs":80},"createVnicDetails":{"subnetId":"` + Subnet + `"}}`
	var in core.Instance
	w := call(t, s, "POST", "/instances", launch)
	checkModel[core.Instance](t, "LaunchInstance", w)
	if err := json.Unmarshal(w.Body.Bytes(), &in); err != nil {
		t.Fatal(err)
	}
	instance = *in.Id
	call(t, s, "GET", "/instances/"+instance, "") // PROVISIONING → RUNNING
	var im core.Image
	body := `{"compartmentId":"` + Compartment + `","instanceId":"` + instance + `","displayName":"sindri-x","freeformTags":{"k":"v"}}`
	w = call(t, s, "POST", "/images", body)
	checkModel[core.Image](t, "CreateImage", w)
	if w.Header().Get("opc-work-request-id") == "" {
		t.Error("CreateImage names no opc-work-request-id")
	}
	if err := json.Unmarshal(w.Body.Bytes(), &im); err != nil {
		t.Fatal(err)
	}
	return s, base, instance, *im.Id
}

// TestShapesMatchTheSDKModel: every JSON field the double writes, for
// every shape it serves, is a field of the SDK's model type, every field
// the model marks mandatory is there, and the SDK decodes it and knows its
// enum values.
func TestShapesMatchTheSDKModel(t *testing.T) {
	s, base, instance, img := modelFake(t)
	c := "?compartmentId=" + Compartment
	checkModel[core.Image](t, "UpdateImage", call(t, s, "PUT", "/images/"+img, `{"freeformTags":{"k":"v"}}`))
	checkModel[core.Image](t, "GetImage (provisioning)", call(t, s, "GET", "/images/"+img, ""))
	checkModel[core.Image](t, "GetImage", call(t, s, "GET", "/images/"+base, ""))
	checkModel[[]core.Image](t, "ListImages", call(t, s, "GET", "/images"+c+"&limit=100", ""))
	checkModel[core.Instance](t, "GetInstance", call(t, s, "GET", "/instances/"+instance, ""))
	checkModel[[]core.Instance](t, "ListInstances", call(t, s, "GET", "/instances"+c+"&limit=100", ""))
	var atts []core.VnicAttachment
	w := call(t, s, "GET", "/vnicAttachments"+c+"&instanceId="+instance, "")
	checkModel[[]core.VnicAttachment](t, "ListVnicAttachments", w)
	if err := json.Unmarshal(w.Body.Bytes(), &atts); err != nil || len(atts) != 1 {
		t.Fatalf("vnic attachments: %v %v", atts, err)
	}
	checkModel[core.Vnic](t, "GetVnic", call(t, s, "GET", "/vnics/"+*atts[0].VnicId, ""))
	checkModel[[]core.BootVolumeAttachment](t, "ListBootVolumeAttachments", call(t, s, "GET", "/bootVolumeAttachments"+c+"&availabilityDomain="+AvailabilityDomain, ""))
	var boots []core.BootVolume
	w = call(t, s, "GET", "/bootVolumes"+c, "")
	checkModel[[]core.BootVolume](t, "ListBootVolumes", w)
	if err := json.Unmarshal(w.Body.Bytes(), &boots); err != nil || len(boots) == 0 {
		t.Fatalf("boot volumes: %v %v", boots, err)
	}
	checkModel[core.BootVolume](t, "GetBootVolume", call(t, s, "GET", "/bootVolumes/"+*boots[0].Id, ""))
	checkModel[[]core.Volume](t, "ListVolumes", call(t, s, "GET", "/volumes"+c, ""))
	var schemas []core.ComputeImageCapabilitySchemaSummary
	w = call(t, s, "GET", "/computeImageCapabilitySchemas?imageId="+img, "")
	checkModel[[]core.ComputeImageCapabilitySchemaSummary](t, "ListComputeImageCapabilitySchemas", w)
	if err := json.Unmarshal(w.Body.Bytes(), &schemas); err != nil || len(schemas) != 1 {
		t.Fatalf("schemas of %s: %v %v", img, schemas, err)
	}
	checkModel[core.ComputeImageCapabilitySchema](t, "GetComputeImageCapabilitySchema", call(t, s, "GET", "/computeImageCapabilitySchemas/"+*schemas[0].Id, ""))
	checkModel[core.ComputeImageCapabilitySchema](t, "UpdateComputeImageCapabilitySchema", call(t, s, "PUT", "/computeImageCapabilitySchemas/"+*schemas[0].Id,
		`{"freeformTags":{"k":"v"},"schemaData":{"Compute.LaunchMode":{"descriptorType":"enumstring","source":"IMAGE","values":["NATIVE","PARAVIRTUALIZED"],"defaultValue":"NATIVE"}}}`))
	checkModel[core.Instance](t, "InstanceAction", call(t, s, "POST", "/instances/"+instance+"?action=STOP", ""))
	checkModel[identity.User](t, "GetUser", call(t, s, "GET", "/users/"+User, ""))
	checkModel[identity.Tenancy](t, "GetTenancy", call(t, s, "GET", "/tenancies/"+Tenancy, ""))
}

// TestEveryListPages: every list the project or the oracle-oci plugin
// calls pages by opc-next-page at the size a test sets (SetPageSize, and
// limit= over it), and following the pages yields every item once.
func TestEveryListPages(t *testing.T) {
	s, _, instance, img := modelFake(t)
	s.AddInstance("second", nil, time.Now(), "RUNNING")
	s.AddImage("another", nil, time.Now(), "AVAILABLE")
	call(t, s, "GET", "/images/"+img, "") // AVAILABLE: the instance may image again
	call(t, s, "POST", "/images", `{"compartmentId":"`+Compartment+`","instanceId":"`+instance+`"}`)
	c := "compartmentId=" + Compartment
	for _, list := range []string{
		"/images?" + c, "/instances?" + c, "/vnicAttachments?" + c, "/bootVolumeAttachments?" + c + "&availabilityDomain=" + AvailabilityDomain,
		"/bootVolumes?" + c, "/volumes?" + c + "&x=", "/computeImageCapabilitySchemas?" + c,
	} {
		s.SetPageSize(1)
		if list == "/volumes?"+c+"&x=" {
			s.AddVolume("second", nil, time.Now())
		}
		all := ids(t, s, list, "")
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Errorf("%s: %s on two pages", list, id)
			}
			seen[id] = true
		}
		if len(all) < 2 {
			t.Errorf("%s: %d items over the pages, want at least 2", list, len(all))
		}
		s.SetPageSize(1000)
		if whole := ids(t, s, list, ""); len(whole) != len(all) {
			t.Errorf("%s: %d items on one page, %d over pages of 1", list, len(whole), len(all))
		}
		s.SetPageSize(1000)
		if first := call(t, s, "GET", list+"&limit=1", ""); first.Header().Get("opc-next-page") == "" {
			t.Errorf("%s&limit=1: no opc-next-page", list)
		}
	}
}

// ids follows a list's pages from page and returns every item's id; with
// page size 1 each answer must name the next page until the last.
func ids(t *testing.T, s *Fake, list, page string) []string {
	t.Helper()
	var out []string
	for {
		target := list
		if page != "" {
			target += "&page=" + page
		}
		w := call(t, s, "GET", target, "")
		var items []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &items); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		for _, i := range items {
			out = append(out, i.ID)
		}
		page = w.Header().Get("opc-next-page")
		if page == "" {
			return out
		}
		if len(items) != 1 && s.PageSize == 1 {
			t.Fatalf("%s: %d items on a page of 1", target, len(items))
		}
	}
}

// TestCheckShapeCatchesDivergence: the model check fails on a field the
// SDK does not know, a missing mandatory field, a wrong time and an
// unknown enum value (so the tests above can fail).
func TestCheckShapeCatchesDivergence(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field":     `{"id":"i","compartmentId":"c","createImageAllowed":true,"lifecycleState":"AVAILABLE","operatingSystem":"o","operatingSystemVersion":"v","timeCreated":"2025-01-01T00:00:00Z","systemData":{}}`,
		"missing mandatory": `{"id":"i","compartmentId":"c","lifecycleState":"AVAILABLE","operatingSystem":"o","operatingSystemVersion":"v","timeCreated":"2025-01-01T00:00:00Z"}`,
		"bad time":          `{"id":"i","compartmentId":"c","createImageAllowed":true,"lifecycleState":"AVAILABLE","operatingSystem":"o","operatingSystemVersion":"v","timeCreated":"yesterday"}`,
		"unknown state":     `{"id":"i","compartmentId":"c","createImageAllowed":true,"lifecycleState":"READY","operatingSystem":"o","operatingSystemVersion":"v","timeCreated":"2025-01-01T00:00:00Z"}`,
	} {
		inner := &testing.T{}
		w := httptest.NewRecorder()
		w.Body.WriteString(body)
		done := make(chan struct{})
		go func() { // checkModel may end inner's goroutine (Fatal)
			defer close(done)
			checkModel[core.Image](inner, name, w)
		}()
		<-done
		if !inner.Failed() {
			t.Errorf("%s: the model check passed %s", name, body)
		}
	}
}

// served are the SDK request types of every operation the double serves.
var served = []any{
	core.ListImagesRequest{}, core.GetImageRequest{}, core.CreateImageRequest{}, core.UpdateImageRequest{}, core.DeleteImageRequest{},
	core.LaunchInstanceRequest{}, core.ListInstancesRequest{}, core.GetInstanceRequest{}, core.InstanceActionRequest{},
	core.TerminateInstanceRequest{}, core.ListVnicAttachmentsRequest{}, core.GetVnicRequest{}, core.ListBootVolumeAttachmentsRequest{},
	core.ListBootVolumesRequest{}, core.GetBootVolumeRequest{}, core.UpdateBootVolumeRequest{}, core.DeleteBootVolumeRequest{},
	core.ListVolumesRequest{}, core.GetVolumeRequest{}, core.UpdateVolumeRequest{}, core.DeleteVolumeRequest{},
	core.ListComputeImageCapabilitySchemasRequest{}, core.GetComputeImageCapabilitySchemaRequest{},
	core.UpdateComputeImageCapabilitySchemaRequest{}, identity.GetUserRequest{}, identity.GetTenancyRequest{},
}

// vnicDetails is the type of launchDetails.CreateVnicDetails.
func vnicDetails() reflect.Type {
	f, _ := reflect.TypeFor[launchDetails]().FieldByName("CreateVnicDetails")
	return f.Type.Elem()
}

// TestRequestParametersAreTheSDKs: every query parameter and header the
// double reads (each Get("...") in fake.go) is a query or header of an
// SDK request it serves (Authorization is the signature, not a model
// field), and every field of the request bodies it decodes is a json tag
// of the SDK's details type.
func TestRequestParametersAreTheSDKs(t *testing.T) {
	names := map[string]bool{}
	for _, req := range served {
		for f := range reflect.TypeOf(req).Fields() {
			if c := f.Tag.Get("contributesTo"); c == "query" || c == "header" {
				names[f.Tag.Get("name")] = true
			}
		}
	}
	src, err := os.ReadFile("fake.go")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`Get\("([A-Za-z-]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(read) < 10 {
		t.Fatalf("found %d parameters read in fake.go", len(read))
	}
	for _, m := range read {
		if !names[m[1]] && m[1] != "Authorization" {
			t.Errorf("the double reads %q, which no SDK request of its operations sends", m[1])
		}
	}
	for fake, sdk := range map[reflect.Type]reflect.Type{
		reflect.TypeFor[launchDetails]():      reflect.TypeFor[core.LaunchInstanceDetails](),
		reflect.TypeFor[sourceDetails]():      reflect.TypeFor[core.InstanceSourceViaImageDetails](),
		reflect.TypeFor[shapeConfig]():        reflect.TypeFor[core.LaunchInstanceShapeConfigDetails](),
		vnicDetails():                         reflect.TypeFor[core.CreateVnicDetails](),
		reflect.TypeFor[createImageDetails](): reflect.TypeFor[core.CreateImageDetails](),
	} {
		tags := map[string]bool{}
		for f := range sdk.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			tags[name] = true
		}
		for f := range fake.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" && !tags[name] && name != "sourceType" {
				t.Errorf("the double decodes %s.%s, which is no field of the SDK's %s", fake, name, sdk)
			}
		}
	}
}
