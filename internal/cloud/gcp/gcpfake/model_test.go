package gcpfake_test

// The double checked against the official model: testdata holds an
// excerpt of the Compute Engine v1 discovery document (its source,
// revision, sha256 and licence are in the file and next to it). Every
// route the double serves must be a method of the API with the same HTTP
// method and path, and every JSON field the double writes must be a
// property of the method's response schema.

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

type schemaProp struct {
	Type                 string                `json:"type"`
	Ref                  string                `json:"$ref"`
	Items                *schemaProp           `json:"items"`
	AdditionalProperties *schemaProp           `json:"additionalProperties"`
	Properties           map[string]schemaProp `json:"properties"`
}

type discovery struct {
	Source  map[string]string `json:"source"`
	Methods map[string]struct {
		HTTPMethod string   `json:"httpMethod"`
		Path       string   `json:"path"`
		Parameters []string `json:"parameters"`
		Request    string   `json:"request"`
		Response   string   `json:"response"`
	} `json:"methods"`
	Schemas map[string]schemaProp `json:"schemas"`
}

func loadDiscovery(t *testing.T) discovery {
	t.Helper()
	data, err := os.ReadFile("testdata/compute-v1-discovery-excerpt.json")
	if err != nil {
		t.Fatal(err)
	}
	var d discovery
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Source["discoveryRevision"] == "" || !strings.Contains(d.Source["licence"], "BSD-3-Clause") {
		t.Fatalf("the excerpt does not say where it comes from: %v", d.Source)
	}
	return d
}

// methodFor returns the response schema of the API method at route
// ("METHOD path"), and whether there is one.
func (d discovery) methodFor(route string) (response string, ok bool) {
	verb, path, _ := strings.Cut(route, " ")
	for _, m := range d.Methods {
		if m.HTTPMethod == verb && m.Path == path {
			return m.Response, true
		}
	}
	return "", false
}

// unknownFields lists the JSON fields of v that schema does not have.
func (d discovery) unknownFields(v any, p schemaProp, at string) []string {
	if p.Ref != "" {
		p = d.Schemas[p.Ref]
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch {
			case p.Properties != nil:
				sub, ok := p.Properties[k]
				if !ok {
					out = append(out, at+"."+k)
					continue
				}
				out = append(out, d.unknownFields(e, sub, at+"."+k)...)
			case p.AdditionalProperties != nil:
				out = append(out, d.unknownFields(e, *p.AdditionalProperties, at+"."+k)...)
			default:
				out = append(out, at+"."+k+" (the schema has no object here)")
			}
		}
	case []any:
		if p.Items == nil {
			return []string{at + " (the schema has no array here)"}
		}
		for i, e := range v {
			out = append(out, d.unknownFields(e, *p.Items, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

// The checker itself: a field the schema lacks, at any depth, is named.
func TestUnknownFieldsAreNamed(t *testing.T) {
	d := loadDiscovery(t)
	v := map[string]any{"name": "x", "createdAt": "2026", "labels": map[string]any{"any-key": "v"},
		"deprecated": map[string]any{"state": "DEPRECATED", "since": "x"}, "guestOsFeatures": []any{map[string]any{"type": "GVNIC", "on": true}}}
	got := d.unknownFields(v, schemaProp{Ref: "Image"}, "Image")
	slices.Sort(got)
	want := []string{"Image.createdAt", "Image.deprecated.since", "Image.guestOsFeatures[0].on"}
	if !slices.Equal(got, want) {
		t.Errorf("unknownFields = %v, want %v", got, want)
	}
}

func TestRoutesAreMethodsOfTheDiscoveryDocument(t *testing.T) {
	d := loadDiscovery(t)
	for _, r := range gcpfake.Routes {
		if _, ok := d.methodFor(r); !ok {
			t.Errorf("the double serves %s, which is no method of the Compute v1 discovery document", r)
		}
	}
	if len(gcpfake.Routes) != len(d.Methods) {
		t.Errorf("%d routes, %d methods in the excerpt: keep them in step", len(gcpfake.Routes), len(d.Methods))
	}
}

// routeFixture is a fake with one of everything, and what fills each
// path parameter and request body.
type routeFixture struct {
	f       *gcpfake.Fake
	params  map[string]string
	bodies  map[string]string
	queries map[string]string
}

func newRouteFixture(t *testing.T) routeFixture {
	f := gcpfake.New(t)
	now := time.Now()
	img := f.SeedImage("sindri-image-a", "hash-a", now.Add(-time.Hour))
	f.PutImage(&computepb.Image{Name: proto.String("sindri-image-b"), Family: proto.String("sindri"), Labels: map[string]string{"managed-by": "sindri-packer"}})
	f.SeedInstance("vm-a", map[string]string{cloud.TagManagedBy: cloud.ManagedBy}, now)
	disk := f.SeedLeftover(cloud.KindDisk, "run-a", now)
	fw := f.SeedLeftover(cloud.KindSecurityGroup, "run-a", now)
	base := f.URL + "/compute/v1/projects/" + f.Project
	// operations to read: one zonal, one global
	_, zop := do(t, "POST", base+"/zones/"+f.Zone+"/instances/vm-a/stop", "")
	_, gop := do(t, "POST", base+"/global/images/"+img+"/deprecate", `{"state":"ACTIVE"}`)
	return routeFixture{f: f,
		params: map[string]string{
			"{project}": f.Project, "{image}": img, "{family}": "sindri", "{firewall}": fw, "{zone}": f.Zone,
			"{machineType}": "e2-standard-4", "{instance}": "vm-a", "{disk}": disk,
			"{operation}": opName(t, zop), "{globalOperation}": opName(t, gop),
		},
		queries: map[string]string{
			"POST projects/{project}/zones/{zone}/instances/{instance}/setDiskAutoDelete": "?autoDelete=false&deviceName=persistent-disk-0",
		},
		bodies: map[string]string{
			"POST projects/{project}/global/images":                   `{"name":"new-image","sourceDisk":"projects/` + f.Project + `/zones/` + f.Zone + `/disks/` + disk + `","labels":{"a":"b"}}`,
			"POST projects/{project}/global/images/{image}/deprecate": `{"state":"DEPRECATED"}`,
			"POST projects/{project}/global/firewalls":                `{"name":"fw-new","allowed":[{"IPProtocol":"tcp","ports":["22"]}],"sourceRanges":["10.0.0.0/8"]}`,
			"POST projects/{project}/zones/{zone}/instances":          `{"name":"vm-new","machineType":"zones/` + f.Zone + `/machineTypes/e2-standard-4","disks":[{"boot":true,"autoDelete":true,"initializeParams":{"sourceImage":"global/images/` + img + `"}}],"metadata":{"items":[null,{"key":"k","value":"v"}]}}`,
		}}
}

func opName(t *testing.T, body []byte) string {
	t.Helper()
	var op struct{ Name string }
	if err := json.Unmarshal(body, &op); err != nil || op.Name == "" {
		t.Fatalf("no operation: %s", body)
	}
	return op.Name
}

// TestEveryRouteAnswersInTheSchema drives each route on a fake with one
// of everything: it must be served (2xx) and write only the properties
// of the method's response schema. A route in Routes the router does not
// serve, or a field the API does not have, fails here.
func TestEveryRouteAnswersInTheSchema(t *testing.T) {
	d := loadDiscovery(t)
	for _, route := range gcpfake.Routes {
		t.Run(route, func(t *testing.T) {
			fx := newRouteFixture(t)
			verb, path, _ := strings.Cut(route, " ")
			path = strings.ReplaceAll(path, "global/operations/{operation}", "global/operations/{globalOperation}")
			for k, v := range fx.params {
				path = strings.ReplaceAll(path, k, v)
			}
			status, body := do(t, verb, fx.f.URL+"/compute/v1/"+path+fx.queries[route], fx.bodies[route])
			if status/100 != 2 {
				t.Fatalf("%s %s: %d %s", verb, path, status, body)
			}
			response, _ := d.methodFor(route)
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if bad := d.unknownFields(v, schemaProp{Ref: response}, response); len(bad) > 0 {
				slices.Sort(bad)
				t.Errorf("fields the %s schema does not have: %v", response, bad)
			}
		})
	}
}

// TestEveryListPages: with a small page size, each list the project or
// the plugin calls answers nextPageToken until the last page, and the
// pages together hold every item once.
func TestEveryListPages(t *testing.T) {
	f := gcpfake.New(t)
	f.PageSize = 2
	now := time.Now()
	for i := range 5 {
		f.SeedImage(fmt.Sprintf("img-%d", i), "h", now)
		f.SeedLeftover(cloud.KindInstance, "run", now)
		f.SeedLeftover(cloud.KindDisk, "run", now)
		f.SeedLeftover(cloud.KindSecurityGroup, "run", now)
		f.AddPublicImage("ubuntu-os-cloud", fmt.Sprintf("pub-%d", i), "fam", now)
	}
	base := f.URL + "/compute/v1/projects/"
	for list, want := range map[string]int{
		f.Project + "/global/images": 5, f.Project + "/global/firewalls": 5, "ubuntu-os-cloud/global/images": 5,
		f.Project + "/zones/" + f.Zone + "/instances": 5, f.Project + "/zones/" + f.Zone + "/disks": 10, // instances' boot disks too
	} {
		seen, pages, tok := map[string]bool{}, 0, ""
		for {
			url := base + list
			if tok != "" {
				url += "?pageToken=" + tok
			}
			status, body := do(t, "GET", url, "")
			var page struct {
				Items         []struct{ Name string }
				NextPageToken string
			}
			if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) > f.PageSize {
				t.Fatalf("%s: %d %s", url, status, body)
			}
			for _, it := range page.Items {
				if seen[it.Name] {
					t.Errorf("%s: %s on two pages", list, it.Name)
				}
				seen[it.Name] = true
			}
			pages++
			if tok = page.NextPageToken; tok == "" {
				break
			}
		}
		if len(seen) != want || pages != (want+1)/2 {
			t.Errorf("%s: %d items on %d pages, want %d on %d", list, len(seen), pages, want, (want+1)/2)
		}
	}
}
