package ocifake

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestListImagesFilters: ListImages applies operatingSystem,
// operatingSystemVersion and displayName as OCI does (the oracle-oci
// plugin's base_image_filter takes the first, newest answer: an ignored
// filter launches the wrong base).
func TestListImagesFilters(t *testing.T) {
	s := New(t)
	now := time.Now()
	ubuntu := s.AddImage("Canonical-Ubuntu-24.04-a", nil, now.Add(-2*time.Hour), "AVAILABLE")
	s.AddPlatformImage("Oracle-Linux-9-a", "Oracle Linux", "9", now.Add(-time.Hour))
	s.AddPlatformImage("Canonical-Ubuntu-22.04-a", "Canonical Ubuntu", "22.04", now)
	c := "/images?compartmentId=" + Compartment + "&sortBy=TIMECREATED&sortOrder=DESC&lifecycleState=AVAILABLE"
	for query, want := range map[string]string{
		"&operatingSystem=Canonical+Ubuntu&operatingSystemVersion=24.04": ubuntu,
		"&displayName=Canonical-Ubuntu-24.04-a":                          ubuntu,
	} {
		var got []image
		if err := json.Unmarshal(call(t, s, "GET", c+query, "").Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != want {
			t.Errorf("ListImages%s = %v, want only %s", query, got, want)
		}
	}
}

// TestCreateImageLifecycle: CreateImage needs a RUNNING or STOPPED
// instance, answers PROVISIONING with the instance's image as its base,
// holds the instance in CREATING_IMAGE until the image is AVAILABLE, and
// a retried request (same opc-retry-token) gets the same image.
func TestCreateImageLifecycle(t *testing.T) {
	s := New(t)
	base := s.AddImage("base", nil, time.Now(), "AVAILABLE")
	in := s.AddInstance("b", nil, time.Now(), "RUNNING")
	s.mu.Lock()
	s.instances[in].ImageID = base
	s.mu.Unlock()
	body := `{"compartmentId":"` + Compartment + `","instanceId":"` + in + `","displayName":"img"}`
	create := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", apiBase+"/images", strings.NewReader(body))
		r.Header.Set("opc-retry-token", "token-1")
		w := httptest.NewRecorder()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.route(w, r, "/images", []byte(body))
		return w
	}
	var img, again image
	if err := json.Unmarshal(create().Body.Bytes(), &img); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(create().Body.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	if img.LifecycleState != "PROVISIONING" || img.BaseImageID != base || again.ID != img.ID {
		t.Fatalf("CreateImage = %+v, retried %s; want PROVISIONING from %s, the same image", img, again.ID, base)
	}
	state := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.instances[in].LifecycleState
	}
	if state() != "CREATING_IMAGE" {
		t.Errorf("instance while imaging: %s", state())
	}
	call(t, s, "GET", "/images/"+img.ID, "")
	var now image
	if err := json.Unmarshal(call(t, s, "GET", "/images/"+img.ID, "").Body.Bytes(), &now); err != nil || now.LifecycleState != "AVAILABLE" {
		t.Errorf("image after a read: %s %v", now.LifecycleState, err)
	}
	if state() != "RUNNING" {
		t.Errorf("instance after the image: %s", state())
	}
	s.mu.Lock()
	s.instances[in].LifecycleState = "TERMINATED"
	s.mu.Unlock()
	r := httptest.NewRequest("POST", apiBase+"/images", strings.NewReader(body))
	w := httptest.NewRecorder()
	s.mu.Lock()
	s.route(w, r, "/images", []byte(body))
	s.mu.Unlock()
	if w.Code != 409 {
		t.Errorf("CreateImage of a terminated instance: %d %s, want 409 IncorrectState", w.Code, w.Body)
	}
}
