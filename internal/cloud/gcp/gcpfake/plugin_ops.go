package gcpfake

// The operations the real googlecompute plugin calls that our own client
// does not: the OAuth token exchange of a service-account key, zones and
// machine types, public image projects and image families, the serial
// console, and images.insert from the build's boot disk.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// AccessToken is what the fake's token endpoint hands out.
const AccessToken = "fake-access-token-not-a-secret"

var (
	keyOnce sync.Once
	keyPEM  []byte
)

// serviceAccountKey is a freshly made RSA key (once per test binary): the
// Google auth library signs its token request with it, so it must parse.
// It is made here, used only against this fake, and never leaves the test.
func serviceAccountKey() string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	})
	return string(keyPEM)
}

// KeyFile writes a service-account key file into dir whose key is real
// (made for this test run, see serviceAccountKey) and whose token_uri is
// the fake's /token, for a client that signs its token request, such as
// the googlecompute plugin's Application Default Credentials.
func (s *Fake) KeyFile(t testing.TB, dir string) string {
	t.Helper()
	key := map[string]string{
		"type": "service_account", "project_id": s.Project, "private_key_id": "fake-private-key-id-0001",
		"private_key": serviceAccountKey(), "client_email": "sindri-fake@fake-project.iam.gserviceaccount.com",
		"client_id": "000000000000000000001", "token_uri": s.URL + "/token",
	}
	data, _ := json.MarshalIndent(key, "", "  ")
	path := filepath.Join(dir, "fake-gcp-key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// token answers the OAuth 2.0 JWT-bearer exchange at the key file's
// token_uri: any signed assertion gets AccessToken.
func (s *Fake) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || !strings.Contains(string(body), "assertion=") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"expected a JWT-bearer assertion"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600})
}

// AddPublicImage adds a READY image to a public image project (such as
// ubuntu-os-cloud): other projects' images can be read, never changed.
func (s *Fake) AddPublicImage(project, name, family string, created time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.public[project] == nil {
		s.public[project] = map[string]*computepb.Image{}
	}
	s.public[project][name] = &computepb.Image{
		Kind: proto.String("compute#image"), Id: proto.Uint64(s.nextID()), Name: proto.String(name),
		Family: proto.String(family), Status: proto.String("READY"), DiskSizeGb: proto.Int64(10),
		CreationTimestamp: proto.String(stamp(created)), SourceType: proto.String("RAW"),
		ArchiveSizeBytes: proto.Int64(1 << 30), StorageLocations: []string{"eu", "us", "asia"},
		// What Google's public Linux images carry; the plugin refuses
		// enable_secure_boot on an image without UEFI_COMPATIBLE.
		GuestOsFeatures: []*computepb.GuestOsFeature{{Type: proto.String("UEFI_COMPATIBLE")}, {Type: proto.String("VIRTIO_SCSI_MULTIQUEUE")},
			{Type: proto.String("GVNIC")}, {Type: proto.String("SEV_CAPABLE")}},
		Licenses: []string{"https://www.googleapis.com/compute/v1/projects/" + project + "/global/licenses/" + project},
		SelfLink: proto.String(s.URL + "/compute/v1/projects/" + project + "/global/images/" + name),
	}
}

// publicRoute serves the read-only image calls of a public project.
func (s *Fake) publicRoute(w http.ResponseWriter, r *http.Request, project string, p []string, q map[string][]string) {
	images := s.public[project]
	switch {
	case r.Method != http.MethodGet:
		s.writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("Required 'compute.images.create' permission for 'projects/%s'", project))
	case len(p) == 2 && p[0] == "global" && p[1] == "images":
		s.listImages(w, q, project, images)
	case len(p) == 3 && p[0] == "global" && p[1] == "images" && images[p[2]] != nil:
		s.write(w, images[p[2]])
	case len(p) == 4 && p[0] == "global" && p[1] == "images" && p[2] == "family":
		s.fromFamily(w, project, images, p[3])
	case len(p) == 3 && p[0] == "global" && p[1] == "images":
		s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/global/images/%s' was not found", project, p[2]))
	default:
		s.writeError(w, http.StatusNotFound, "notFound", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

// fromFamily writes the newest image of family that is not deprecated,
// as images.getFromFamily does.
func (s *Fake) fromFamily(w http.ResponseWriter, project string, images map[string]*computepb.Image, family string) {
	var best *computepb.Image
	for _, im := range images {
		if im.GetFamily() != family || im.GetStatus() != "READY" || deprecated(im) {
			continue
		}
		if best == nil || parse(im.GetCreationTimestamp()).After(parse(best.GetCreationTimestamp())) {
			best = im
		}
	}
	if best == nil {
		s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/global/images/family/%s' was not found", project, family))
		return
	}
	s.write(w, best)
}

func deprecated(im *computepb.Image) bool {
	st := im.GetDeprecated().GetState()
	return st != "" && st != "ACTIVE"
}

var zoneRule = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)

// zone answers zones.get for any well-formed zone name.
func (s *Fake) zone(w http.ResponseWriter, zone string) {
	if !zoneRule.MatchString(zone) {
		s.notFound(w, "zones/"+zone)
		return
	}
	region := zone[:len(zone)-2]
	s.write(w, &computepb.Zone{
		Kind: proto.String("compute#zone"), Id: proto.Uint64(2000 + uint64(len(zone))), Name: proto.String(zone),
		Description: proto.String(zone), Status: proto.String("UP"), Region: proto.String(s.link("regions/" + region)),
		SelfLink: proto.String(s.link("zones/" + zone)), AvailableCpuPlatforms: []string{"Intel Cascade Lake", "AMD Milan"},
	})
}

var machineRule = regexp.MustCompile(`^([a-z][a-z0-9]*)-(standard|highmem|highcpu|micro|small|medium)(-([0-9]+))?$`)

// machineType answers machineTypes.get for the usual name shapes.
func (s *Fake) machineType(w http.ResponseWriter, zone, name string) {
	m := machineRule.FindStringSubmatch(name)
	if m == nil || !zoneRule.MatchString(zone) {
		s.notFound(w, "zones/"+zone+"/machineTypes/"+name)
		return
	}
	cpus := int32(2)
	if m[4] != "" {
		_, _ = fmt.Sscan(m[4], &cpus)
	}
	s.write(w, &computepb.MachineType{
		Kind: proto.String("compute#machineType"), Id: proto.Uint64(3000 + uint64(cpus)), Name: proto.String(name),
		Description: proto.String(fmt.Sprintf("%d vCPUs", cpus)), GuestCpus: proto.Int32(cpus), MemoryMb: proto.Int32(cpus * 4096),
		Zone: proto.String(zone), SelfLink: proto.String(s.link("zones/" + zone + "/machineTypes/" + name)),
		MaximumPersistentDisks: proto.Int32(128), MaximumPersistentDisksSizeGb: proto.Int64(263168),
	})
}

// serialPort answers instances.getSerialPortOutput with a short console.
func (s *Fake) serialPort(w http.ResponseWriter, zone, name string) {
	in := s.instances[zone+"/"+name]
	if in == nil {
		s.notFound(w, "zones/"+zone+"/instances/"+name)
		return
	}
	contents := "fake serial console of " + name + "\n"
	s.write(w, &computepb.SerialPortOutput{
		Kind: proto.String("compute#serialPortOutput"), Contents: proto.String(contents),
		Start: proto.Int64(0), Next: proto.Int64(int64(len(contents))),
		SelfLink: proto.String(in.GetSelfLink() + "/serialPort"),
	})
}

var diskLink = regexp.MustCompile(`(?:^|/)projects/([^/]+)/zones/([^/]+)/disks/([^/]+)$`)

// insertImage is images.insert from a source disk: PENDING until its
// operation is done, then READY. A disk attached to a running instance
// needs forceCreate, as on the API.
func (s *Fake) insertImage(w http.ResponseWriter, q map[string][]string, body []byte) {
	var im computepb.Image
	if !s.inserting(w, q, body, &im) {
		return
	}
	name := im.GetName()
	if !s.freeName(w, name, "global/images/", s.images[name] != nil) {
		return
	}
	if k := badLabels(im.GetLabels()); k != "" {
		s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.labels': '%s'.", k))
		return
	}
	d, ok := s.sourceDisk(w, im.GetSourceDisk(), first(q["forceCreate"]) == "true")
	if !ok {
		return
	}
	stored := proto.CloneOf(&im)
	stored.Kind = proto.String("compute#image")
	stored.Id = proto.Uint64(s.nextID())
	stored.Status = proto.String("PENDING")
	stored.CreationTimestamp = proto.String(stamp(time.Now()))
	stored.SelfLink = proto.String(s.link("global/images/" + name))
	stored.SourceDisk = d.SelfLink
	stored.SourceDiskId = proto.String(fmt.Sprint(d.GetId()))
	stored.DiskSizeGb = d.SizeGb
	stored.ArchiveSizeBytes = proto.Int64(d.GetSizeGb() << 27)
	if stored.SourceType == nil {
		stored.SourceType = proto.String("RAW")
	}
	if len(stored.StorageLocations) == 0 {
		stored.StorageLocations = []string{"us"}
	}
	s.images[name] = stored
	s.newOp(w, q, "insert", "", stored.GetSelfLink(), func() *failure { stored.Status = proto.String("READY"); return nil })
}

// sourceDisk finds the disk an image is made from (a full or partial
// URL), or writes the API's error.
func (s *Fake) sourceDisk(w http.ResponseWriter, link string, force bool) (*computepb.Disk, bool) {
	m := diskLink.FindStringSubmatch(link)
	if m == nil {
		s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.sourceDisk': '%s'. The URL is malformed.", link))
		return nil, false
	}
	d := s.disks[m[2]+"/"+m[3]]
	if m[1] != s.Project || d == nil {
		s.writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/zones/%s/disks/%s' was not found", m[1], m[2], m[3]))
		return nil, false
	}
	for _, u := range d.GetUsers() {
		if in := s.instances[m[2]+"/"+last(u)]; in != nil && in.GetStatus() != "TERMINATED" && !force {
			s.writeError(w, http.StatusBadRequest, "resourceInUseByAnotherResource",
				fmt.Sprintf("The disk resource 'projects/%s/zones/%s/disks/%s' is already being used by 'projects/%s/zones/%s/instances/%s'", s.Project, m[2], m[3], s.Project, m[2], in.GetName()))
			return nil, false
		}
	}
	return d, true
}

// setDiskAutoDelete answers instances.setDiskAutoDelete: autoDelete (a
// required boolean) for the attached disk named deviceName.
func (s *Fake) setDiskAutoDelete(w http.ResponseWriter, zone, name string, q map[string][]string) {
	in := s.instances[zone+"/"+name]
	if s.answered(w, q, in != nil, "zones/"+zone+"/instances/"+name) {
		return
	}
	on := first(q["autoDelete"])
	if on != "true" && on != "false" {
		s.writeError(w, http.StatusBadRequest, "required", "Required parameter: autoDelete")
		return
	}
	dev := first(q["deviceName"])
	for _, ad := range in.GetDisks() {
		if ad.GetDeviceName() == dev {
			ad.AutoDelete = proto.Bool(on == "true")
			s.newOp(w, q, "setDiskAutoDelete", zone, in.GetSelfLink(), nil)
			return
		}
	}
	s.writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'deviceName': '%s'. No attached disk found with device name '%s'", dev, dev))
}
