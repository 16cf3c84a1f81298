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
	order := []string{"Images_Get", "Images_ListByResourceGroup", "Images_Update", "Images_CreateOrUpdate", "Images_Delete"}
	checkOrder(t, sp.Operations, order)
	for _, name := range order {
		op := sp.Operations[name]
		path := strings.NewReplacer("{subscriptionId}", azurefake.Subscription, "{resourceGroupName}", azurefake.ResourceGroup, "{imageName}", "img").Replace(op.Path)
		body := ""
		if op.Method == http.MethodPut || op.Method == http.MethodPatch {
			body = `{"location":"` + azurefake.Location + `","tags":{"a":"b"}}`
		}
		resp, got := call(t, op.Method, f.URL()+path+"?api-version=2024-11-01", body)
		checkAnswer(t, name, op, resp, got, http.StatusOK)
		if name == "Images_Get" {
			for k := range got {
				if !slices.Contains([]string{"id", "name", "type", "location", "tags", "properties", "extendedLocation"}, k) {
					t.Errorf("image JSON has %q, which the spec's Image does not define", k)
				}
			}
		}
	}
}

// checkOrder fails the test unless the spec excerpt holds exactly the
// operations order names.
func checkOrder(t *testing.T, ops map[string]specOp, order []string) {
	t.Helper()
	if len(order) != len(ops) {
		t.Fatalf("the spec excerpt has %d operations, the test knows %d", len(ops), len(order))
	}
	for _, name := range order {
		if _, ok := ops[name]; !ok {
			t.Fatalf("%s missing from the spec excerpt", name)
		}
	}
}

// checkAnswer checks an answer to op against the spec: a status the spec
// allows, Azure-AsyncOperation on a long-running answer with a status
// other than done, Location on a 202.
func checkAnswer(t *testing.T, name string, op specOp, resp *http.Response, got map[string]any, done ...int) {
	t.Helper()
	if !slices.Contains(op.Responses, strconv.Itoa(resp.StatusCode)) {
		t.Errorf("%s %s: status %d, the spec allows %v (%v)", name, op.Method, resp.StatusCode, op.Responses, got)
	}
	if op.LRO && !slices.Contains(done, resp.StatusCode) && resp.Header.Get("Azure-AsyncOperation") == "" {
		t.Errorf("%s: long-running answer %d without Azure-AsyncOperation", name, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") == "" {
		t.Errorf("%s: 202 without Location", name)
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
