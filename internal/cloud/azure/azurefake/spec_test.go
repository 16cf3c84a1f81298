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
	Operations map[string]struct {
		Method    string   `json:"method"`
		Path      string   `json:"path"`
		LRO       bool     `json:"x-ms-long-running-operation"`
		Responses []string `json:"responses"`
	} `json:"operations"`
	Definitions map[string]json.RawMessage `json:"definitions"`
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
	if len(order) != len(sp.Operations) {
		t.Fatalf("the spec excerpt has %d operations, the test knows %d", len(sp.Operations), len(order))
	}
	for _, name := range order {
		op, ok := sp.Operations[name]
		if !ok {
			t.Fatalf("%s missing from the spec excerpt", name)
		}
		path := strings.NewReplacer("{subscriptionId}", azurefake.Subscription, "{resourceGroupName}", azurefake.ResourceGroup, "{imageName}", "img").Replace(op.Path)
		var body *strings.Reader
		if op.Method == http.MethodPut || op.Method == http.MethodPatch {
			body = strings.NewReader(`{"location":"` + azurefake.Location + `","tags":{"a":"b"}}`)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(op.Method, f.URL()+path+"?api-version=2024-11-01", body)
		req.Header.Set("Authorization", "Bearer fake")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if !slices.Contains(op.Responses, strconv.Itoa(resp.StatusCode)) {
			t.Errorf("%s %s: status %d, the spec allows %v", name, op.Method, resp.StatusCode, op.Responses)
		}
		if op.LRO && resp.StatusCode != http.StatusOK && resp.Header.Get("Azure-AsyncOperation") == "" {
			t.Errorf("%s: long-running answer %d without Azure-AsyncOperation", name, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") == "" {
			t.Errorf("%s: 202 without Location", name)
		}
		if name == "Images_Get" {
			for k := range got {
				if !slices.Contains([]string{"id", "name", "type", "location", "tags", "properties", "extendedLocation"}, k) {
					t.Errorf("image JSON has %q, which the spec's Image does not define", k)
				}
			}
		}
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
