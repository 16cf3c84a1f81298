package gcpfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
	"github.com/sindri-dev/sindri-packer/internal/cloud/gcp/gcpfake"
)

// client gives up quickly: a fake that stops answering fails the test
// instead of hanging it.
var client = &http.Client{Timeout: 5 * time.Second}

type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
		Details []struct {
			RequestID string `json:"requestId"`
		} `json:"details"`
	} `json:"error"`
}

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func decodeError(t *testing.T, data []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(data, &e); err != nil || len(e.Error.Errors) != 1 || len(e.Error.Details) != 1 {
		t.Fatalf("not the API's error body (%v): %s", err, data)
	}
	return e
}

// Issue 13: a path the fake does not route took the fake's lock twice and
// hung the whole server.
func TestUnroutedPathIsNotFoundAndTheFakeKeepsServing(t *testing.T) {
	f := gcpfake.New(t)
	base := f.URL + "/compute/v1/projects/" + f.Project
	for _, path := range []string{"/global/networks", "/zones/" + f.Zone + "/machineTypes", "/regions/us-west1/subnetworks/x/y"} {
		status, data := do(t, http.MethodGet, base+path, "")
		if status != http.StatusNotFound || decodeError(t, data).Error.Errors[0].Reason != "notFound" {
			t.Errorf("GET %s = %d %s, want 404 notFound", path, status, data)
		}
	}
	if status, data := do(t, http.MethodGet, base, ""); status != http.StatusOK {
		t.Fatalf("the fake stopped serving after an unrouted path: %d %s", status, data)
	}
}

// Issue 13: the API and the googlecompute plugin accept null entries in
// metadata.items; protojson alone refuses them.
func TestInstanceInsertAcceptsNullMetadataItems(t *testing.T) {
	f := gcpfake.New(t)
	body := `{"name":"vm-1","machineType":"zones/us-west1-a/machineTypes/e2-small",
		"disks":[{"boot":true,"autoDelete":true,"initializeParams":{"sourceImage":"projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64"}}],
		"networkInterfaces":[{"network":"global/networks/default"}],
		"metadata":{"items":[null,{"key":"ssh-keys","value":"packer:ssh-ed25519 AAAA"},null,{"key":"empty","value":null}]}}`
	status, data := do(t, http.MethodPost, f.URL+"/compute/v1/projects/"+f.Project+"/zones/"+f.Zone+"/instances", body)
	if status != http.StatusOK {
		t.Fatalf("insert with null metadata items = %d %s, want accepted", status, data)
	}
	in := f.Instance(f.Zone, "vm-1")
	if in == nil {
		t.Fatal("the instance was not stored")
	}
	items := in.GetMetadata().GetItems()
	if len(items) != 2 || items[0].GetKey() != "ssh-keys" || items[0].GetValue() != "packer:ssh-ed25519 AAAA" || items[1].GetKey() != "empty" {
		t.Errorf("metadata items = %v, want the two non-null ones", items)
	}
	// A body that is not JSON is still the client's error.
	status, data = do(t, http.MethodPost, f.URL+"/compute/v1/projects/"+f.Project+"/zones/"+f.Zone+"/instances", `{"name":`)
	if status != http.StatusBadRequest || decodeError(t, data).Error.Errors[0].Reason != "parseError" {
		t.Errorf("broken body = %d %s, want 400 parseError", status, data)
	}
}

func TestFaultsAnswerInTheAPIsErrorFormat(t *testing.T) {
	f := gcpfake.New(t)
	project := f.URL + "/compute/v1/projects/" + f.Project
	f.FailNext(http.StatusTooManyRequests, 1)
	f.Inject(cloudtest.Fault{Status: http.StatusBadRequest, Code: "invalid", Message: "Invalid value for field 'resource.name'"})
	f.Inject(cloudtest.Fault{Match: "POST /compute/v1/", Status: http.StatusConflict})
	tests := []struct {
		method         string
		status         int
		reason, inText string
	}{
		{http.MethodGet, 429, "rateLimitExceeded", "Quota exceeded"},                // no Code: the usual body of 429
		{http.MethodGet, 400, "invalid", "Invalid value for field 'resource.name'"}, // Code and Message as given
		{http.MethodGet, 200, "", ""},                                               // the POST fault waits for a POST
		{http.MethodPost, 409, "backendError", "Internal error"},                    // an unusual status: the generic body
	}
	seen := map[string]bool{}
	for i, tt := range tests {
		status, data := do(t, tt.method, project+"/global/firewalls", `{}`)
		if status != tt.status {
			t.Fatalf("request %d = %d %s, want %d", i, status, data, tt.status)
		}
		if tt.status == 200 {
			continue
		}
		e := decodeError(t, data)
		if e.Error.Code != tt.status || e.Error.Errors[0].Reason != tt.reason || !strings.Contains(e.Error.Message, tt.inText) {
			t.Errorf("request %d: error body %s, want %d %s %q", i, data, tt.status, tt.reason, tt.inText)
		}
		rid := e.Error.Details[0].RequestID
		if !strings.HasPrefix(rid, "fake-req-") || seen[rid] {
			t.Errorf("request %d: request id %q is not a fresh fake-req id", i, rid)
		}
		seen[rid] = true
	}
	if got := f.Requests(); len(got) != 4 || got[3] != "POST /compute/v1/projects/"+f.Project+"/global/firewalls" {
		t.Errorf("Requests = %v", got)
	}
}

func TestHangingRequestDoesNotBlockOthers(t *testing.T) {
	f := gcpfake.New(t)
	f.HangNext(1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL+"/compute/v1/projects/"+f.Project, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			t.Error("the hung request was answered")
		}
	}()
	for len(f.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	if status, data := do(t, http.MethodGet, f.URL+"/compute/v1/projects/"+f.Project+"/global/images", ""); status != http.StatusOK {
		t.Errorf("while one request hangs: %d %s", status, data)
	}
	cancel()
	<-done
}

// images.insert as the googlecompute plugin calls it: from a disk (a full
// URL on compute.googleapis.com), PENDING until its operation is done; a
// disk in use by a running instance is refused without forceCreate.
func TestImageInsertFromADisk(t *testing.T) {
	f := gcpfake.New(t)
	f.SeedInstance("vm-a", nil, time.Now())
	base := f.URL + "/compute/v1/projects/" + f.Project
	disk := "https://compute.googleapis.com/compute/v1/projects/" + f.Project + "/zones/" + f.Zone + "/disks/vm-a"
	body := `{"name":"img-a","sourceDisk":"` + disk + `","sourceType":"RAW","labels":{"managed-by":"sindri-packer"}}`
	status, data := do(t, "POST", base+"/global/images", body)
	if e := decodeError(t, data); status != 400 || e.Error.Errors[0].Reason != "resourceInUseByAnotherResource" {
		t.Fatalf("image from a disk in use: %d %s", status, data)
	}
	status, data = do(t, "POST", base+"/global/images?forceCreate=true", body)
	if status != 200 {
		t.Fatalf("forceCreate: %d %s", status, data)
	}
	var op struct{ Name string }
	_ = json.Unmarshal(data, &op)
	if im := f.Image("img-a"); im.GetStatus() != "PENDING" || im.GetDiskSizeGb() != 80 || !strings.HasSuffix(im.GetSourceDisk(), "/disks/vm-a") {
		t.Fatalf("image before its operation is done: %v", im)
	}
	if status, data := do(t, "GET", base+"/global/operations/"+op.Name, ""); status != 200 || !strings.Contains(string(data), `"DONE"`) {
		t.Fatalf("operation: %d %s", status, data)
	}
	if im := f.Image("img-a"); im.GetStatus() != "READY" {
		t.Fatalf("image after its operation: %v", im)
	}
	missing := strings.NewReplacer("img-a", "img-b", "/disks/vm-a", "/disks/nope").Replace(body)
	status, data = do(t, "POST", base+"/global/images", missing)
	if e := decodeError(t, data); status != 404 || e.Error.Errors[0].Reason != "notFound" {
		t.Fatalf("image from a missing disk: %d %s", status, data)
	}
}
