package azurefake_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/azure/azurefake"
)

// spec is the kept excerpt of Azure's Images REST spec (testdata/README.md).
type spec struct {
	Operations  map[string]specOp          `json:"operations"`
	Definitions map[string]json.RawMessage `json:"definitions"`
}

// specOp is one operation of a kept spec excerpt.
type specOp struct {
	Method    string   `json:"method"`
	Path      string   `json:"path"`
	LRO       bool     `json:"x-ms-long-running-operation"`
	Responses []string `json:"responses"`
	Schema    string   `json:"schema"` // the answer's definition, where the excerpt names one
}

// Every Images operation of the spec is served at its path with the
// api-version the SDK sends, answering one of the spec's status codes,
// and a long-running one with Azure-AsyncOperation (202 with Location).
// An image's JSON holds only what the spec's Image has: no systemData.
func TestImagesOperationsMatchTheSpec(t *testing.T) {
	var sp spec
	readSpec(t, "images-spec.json", &sp)
	f := azurefake.New(t)
	f.Put(azurefake.ID("Microsoft.Compute/images", "img"), map[string]any{"location": azurefake.Location}, time.Now())
	image := `{"location":"` + azurefake.Location + `","tags":{"a":"b"}}`
	specRun{
		ops:        sp.Operations,
		order:      []string{"Images_Get", "Images_ListByResourceGroup", "Images_Update", "Images_CreateOrUpdate", "Images_Delete"},
		name:       []string{"{imageName}", "img"},
		apiVersion: "2024-11-01",
		bodies:     map[string]string{http.MethodPut: image, http.MethodPatch: image},
		done:       []int{http.StatusOK},
	}.run(t, f, func(name string, _ specOp, got map[string]any) {
		if name == "Images_Get" {
			for k := range got {
				if !slices.Contains([]string{"id", "name", "type", "location", "tags", "properties", "extendedLocation"}, k) {
					t.Errorf("image JSON has %q, which the spec's Image does not define", k)
				}
			}
		}
	})
}

// specRun calls the operations of a kept spec excerpt against the fake,
// in order, and checks every answer against the spec.
type specRun struct {
	ops        map[string]specOp
	order      []string // every operation of the excerpt, in the order to call them
	name       []string // the path's resource name placeholder and its value
	apiVersion string
	bodies     map[string]string // the request body, by method
	done       []int             // statuses a long-running answer may have without Azure-AsyncOperation
}

// run fails the test unless the excerpt holds exactly the operations of
// order; it calls each at the spec's path and checks the answer: a
// status the spec allows, Azure-AsyncOperation on a long-running answer
// whose status is not in done, Location on a 202. Then each checks what
// is particular to the operation.
func (s specRun) run(t *testing.T, f *azurefake.Fake, each func(name string, op specOp, got map[string]any)) {
	t.Helper()
	if len(s.order) != len(s.ops) {
		t.Fatalf("the spec excerpt has %d operations, the test knows %d", len(s.ops), len(s.order))
	}
	for _, name := range s.order {
		if _, ok := s.ops[name]; !ok {
			t.Fatalf("%s missing from the spec excerpt", name)
		}
	}
	paths := strings.NewReplacer("{subscriptionId}", azurefake.Subscription, "{resourceGroupName}", azurefake.ResourceGroup, s.name[0], s.name[1])
	for _, name := range s.order {
		op := s.ops[name]
		resp, got := call(t, op.Method, f.URL()+paths.Replace(op.Path)+"?api-version="+s.apiVersion, s.bodies[op.Method])
		if !slices.Contains(op.Responses, strconv.Itoa(resp.StatusCode)) {
			t.Errorf("%s %s: status %d, the spec allows %v (%v)", name, op.Method, resp.StatusCode, op.Responses, got)
		}
		if op.LRO && !slices.Contains(s.done, resp.StatusCode) && resp.Header.Get("Azure-AsyncOperation") == "" {
			t.Errorf("%s: long-running answer %d without Azure-AsyncOperation", name, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") == "" {
			t.Errorf("%s: 202 without Location", name)
		}
		each(name, op, got)
	}
}

// readSpec decodes the spec excerpt testdata/name into v.
func readSpec(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
