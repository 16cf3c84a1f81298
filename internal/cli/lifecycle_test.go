package cli

import (
	"encoding/json"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
)

// lifecycleWorld is an aws configuration served by an in-memory cloud.
func lifecycleWorld(t *testing.T) (*memCloud, string, []string) {
	t.Helper()
	fake := newMemCloud(t, "aws")
	cfg := configFile(t, awsYAML)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := sshkey.Generate(t.TempDir(), "DEPLOYKEY")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(home, ".ssh", "id_ed25519.pub"), key.Authorized+"\n", 0o644)
	return fake, cfg, []string{"HOME=" + home, "PATH=" + t.TempDir()}
}

func TestImagesList(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	old := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	fake.images = []cloud.Image{
		{ID: "ami-old", Name: "sindri-dev-1", Region: "us-east-1", State: "available", Created: old, ConfigHash: strings.Repeat("a", 64), SindriVersion: "3.0.0", Deprecated: old.Add(time.Hour)},
		{ID: "ami-new", Name: "sindri-dev-2", Region: "us-east-1", State: "available", Created: old.Add(48 * time.Hour), ConfigHash: strings.Repeat("b", 64), SindriVersion: "3.0.1"},
	}
	r := runWith(t, fake, "", env, "images", "list", "-c", cfg)
	r.check(t, 0, []string{"CLOUD", "ami-new", "sindri-dev-2", "3.0.1", "bbbbbbbbbbbb", "2026-10-01T01:00:00Z"}, nil)
	if strings.Index(r.stdout, "ami-new") > strings.Index(r.stdout, "ami-old") {
		t.Errorf("not newest first:\n%s", r.stdout)
	}
	r = runWith(t, fake, "", env, "images", "list", "-c", cfg, "--json")
	var rows []imageRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 || rows[0].ID != "ami-new" || rows[1].Deprecated.IsZero() {
		t.Fatalf("json rows %+v (%v)\n%s", rows, err, r)
	}
	fake.fail["ListImages"] = errorString("RequestLimitExceeded: slow down (request id 1234)")
	runWith(t, fake, "", env, "images", "list", "-c", cfg).check(t, 3, nil, []string{"aws: RequestLimitExceeded: slow down (request id 1234)", "images list failed for aws"})
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestImagesDeleteAndDeprecate(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.images = []cloud.Image{{ID: "ami-1", Created: time.Now()}, {ID: "ami-2", Created: time.Now()}}

	// Not ours (or missing): nothing is changed, even for the IDs that are.
	runWith(t, fake, "", env, "images", "delete", "-c", cfg, "--yes", "ami-1", "ami-foreign").
		check(t, 2, nil, []string{"image ami-foreign is not among the images sindri-packer made in us-east-1 (nothing was changed)"})
	// No confirmation: nothing deleted.
	runWith(t, fake, "no\n", env, "images", "delete", "-c", cfg, "ami-1").check(t, 2, nil, []string{"delete 1 image(s) in aws: ami-1? [y/N]", "not confirmed"})
	if got := fake.callsWith("DeleteImage"); len(got) != 0 {
		t.Fatalf("deleted without consent: %v", got)
	}
	runWith(t, fake, "yes\n", env, "images", "delete", "-c", cfg, "ami-1").check(t, 0, []string{"deleted aws ami-1"}, nil)
	runWith(t, fake, "", env, "images", "deprecate", "-c", cfg, "ami-2", "--replacement", "ami-3").check(t, 0, []string{"deprecated aws ami-2"}, nil)
	if got := fake.callsWith("DeprecateImage"); !slices.Equal(got, []string{"DeprecateImage ami-2 replacement=ami-3"}) {
		t.Fatalf("deprecate calls %v", got)
	}
	runWith(t, fake, "", env, "images", "deprecate", "-c", cfg, "ami-2", "--at", "tomorrow").check(t, 2, nil, []string{"--at: want an RFC 3339 time"})
	runWith(t, fake, "", env, "images", "-c", cfg).check(t, 2, nil, []string{"name a subcommand: list, delete or deprecate"})
	// A target without an inventory says so.
	qcfg := writeConfig(t, "qemu")
	runTargets(t, packerOnly, env, "images", "delete", "-c", qcfg, "--yes", "x").check(t, 3, nil, []string{"images delete: not available for qemu"})
	// The local store is an inventory too.
	runWith(t, fake, "", env, "images", "delete", "-c", qcfg, "--yes", "x").check(t, 2, nil, []string{"image x is not among the images sindri-packer made"})
	runWith(t, fake, "", env, "images", "list", "-c", qcfg).check(t, 0, []string{"no images made by sindri-packer"}, nil)
}

func TestDeployLifecycle(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-0abc", "--ssh-from", "10.0.0.0/33").check(t, 2, nil, []string{"--ssh-from: want a CIDR"})
	r := runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-0abc", "--ssh-from", "198.51.100.0/24")
	r.check(t, 0, []string{"deployed build-test: instance i-001 at 203.0.113.1", "connect: ssh ubuntu@203.0.113.1"}, nil)
	if len(fake.launched) != 1 {
		t.Fatalf("launched %d", len(fake.launched))
	}
	req := fake.launched[0]
	if req.AllowSSHFrom != "198.51.100.0/24" {
		t.Errorf("AllowSSHFrom = %q", req.AllowSSHFrom)
	}
	if req.Deployment != "build-test" || req.Temporary() || req.ImageID != "ami-0abc" || req.User != "ubuntu" || !strings.Contains(req.PublicKey, "DEPLOYKEY") {
		t.Fatalf("launch request %+v", req)
	}
	if tags := cloud.InstanceTags(req); tags[cloud.TagDeployment] != "build-test" || tags[cloud.TagTemporary] != "" {
		t.Fatalf("deploy tags %v", tags)
	}
	// Found again by its tags: a second deploy changes nothing.
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-0abc").check(t, 0, []string{"deployment build-test already exists in aws; nothing changed", "i-001"}, nil)
	if len(fake.launched) != 1 {
		t.Fatal("second deploy launched again")
	}
	runWith(t, fake, "", env, "status", "-c", cfg).check(t, 0, []string{"i-001", "running", "203.0.113.1", "ami-0abc"}, nil)
	runWith(t, fake, "", env, "connect", "-c", cfg, "--print").check(t, 0, []string{"ssh ubuntu@203.0.113.1"}, nil)
	runWith(t, fake, "", env, "stop", "-c", cfg).check(t, 0, []string{"stop: aws i-001"}, nil)
	runWith(t, fake, "", env, "connect", "-c", cfg, "--print").check(t, 1, nil, []string{"is not running (state stopped): run sindri-packer start"})
	runWith(t, fake, "", env, "start", "-c", cfg).check(t, 0, []string{"start: aws i-001"}, nil)
	runWith(t, fake, "n\n", env, "destroy", "-c", cfg).check(t, 2, nil, []string{"destroy deployment build-test in aws (i-001)?", "not confirmed"})
	if len(fake.instances) != 1 {
		t.Fatal("destroyed without consent")
	}
	runWith(t, fake, "", env, "destroy", "-c", cfg, "--yes").check(t, 0, []string{"destroyed aws i-001"}, nil)
	runWith(t, fake, "", env, "status", "-c", cfg).check(t, 1, nil, []string{"no deployment build-test in aws"})
	runWith(t, fake, "", env, "stop", "-c", cfg).check(t, 1, nil, []string{"no deployment build-test in aws (run sindri-packer deploy first)"})
}

func TestDeployIgnoresTemporaryInstances(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.instances = []cloud.Instance{{ID: "i-test", State: "running", Temporary: true, RunID: "r1"}}
	runWith(t, fake, "", env, "status", "-c", cfg).check(t, 1, nil, []string{"no deployment build-test"})
}

func TestDeployBadInput(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	noKey := []string{"HOME=" + t.TempDir(), "PATH=" + t.TempDir()}
	runWith(t, fake, "", noKey, "deploy", "-c", cfg, "--image", "ami-1").check(t, 2, nil, []string{"no SSH public key: pass --ssh-key FILE"})
	bad := filepath.Join(t.TempDir(), "key.pub")
	mustWrite(t, bad, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0o600)
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-key", bad).check(t, 2, nil, []string{"is not an OpenSSH public key"})
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-key", filepath.Join(t.TempDir(), "missing.pub")).check(t, 2, nil, []string{"--ssh-key:"})
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-public-key", "ssh-ed25519 AAAAnotakey").check(t, 2, nil, []string{"--ssh-public-key is not an OpenSSH public key"})
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-public-key", "x", "--ssh-key", bad).check(t, 2, nil, []string{"not both"})
	multi := configFile(t, "packer:\n  clouds:\n    aws: {region: us-east-1}\n    qemu: {}\n")
	runWith(t, fake, "", env, "deploy", "-c", multi, "--image", "ami-1").check(t, 2, nil, []string{"deploy: acts on one cloud; choose one with --clouds"})
	if len(fake.launched) != 0 {
		t.Fatal("launched on bad input")
	}
	// The key as text, as the Action's ssh-public-key input passes it.
	other, err := sshkey.Generate(t.TempDir(), "ci-key")
	if err != nil {
		t.Fatal(err)
	}
	runWith(t, fake, "", noKey, "deploy", "-c", cfg, "--image", "ami-1", "--ssh-public-key", other.Authorized).check(t, 0, []string{"deployed build-test"}, nil)
	if got := fake.launched[0].PublicKey; got != other.Authorized {
		t.Fatalf("launched with key %q, want %q", got, other.Authorized)
	}
	fake.instances = nil
	fake.fail["Launch"] = errorString("InsufficientInstanceCapacity: none left")
	runWith(t, fake, "", env, "deploy", "-c", cfg, "--image", "ami-1").check(t, 3, nil, []string{"deploy aws: InsufficientInstanceCapacity: none left"})
}

func TestCleanup(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	old := time.Now().Add(-5 * time.Hour)
	fake.leftovers = []cloud.Resource{
		{Kind: cloud.KindSecurityGroup, ID: "sg-1", RunID: "r1", Created: old},
		{Kind: cloud.KindKeyPair, ID: "key-1", RunID: "r1", Created: old},
		{Kind: cloud.KindInstance, ID: "i-1", RunID: "r1", Created: old},
		{Kind: cloud.KindInstance, ID: "i-2", RunID: "r2", Created: time.Now()},
	}
	r := runWith(t, fake, "", env, "cleanup", "-c", cfg, "--run-id", "r1", "--dry-run")
	r.check(t, 0, []string{"i-1", "key-1", "sg-1"}, []string{"--dry-run: 3 resource(s) would be deleted"})
	if got := fake.callsWith("DeleteResource"); len(got) != 0 {
		t.Fatalf("dry run deleted %v", got)
	}
	if got := fake.callsWith("Leftovers"); got[0] != "Leftovers run=r1 before=false" {
		t.Fatalf("filter %v", got)
	}
	runWith(t, fake, "", env, "cleanup", "-c", cfg, "--run-id", "r1").check(t, 0, nil, []string{"aws: deleted instance i-1"})
	want := []string{"DeleteResource instance i-1", "DeleteResource key-pair key-1", "DeleteResource security-group sg-1"}
	if got := fake.callsWith("DeleteResource"); !slices.Equal(got, want) {
		t.Fatalf("deleted %v, want instances first: %v", got, want)
	}
	// Without a run id only old resources go: the young run is in flight.
	runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, 0, nil, []string{"nothing left behind in aws"})
	if got := fake.callsWith("Leftovers"); got[len(got)-1] != "Leftovers run= before=true" {
		t.Fatalf("default filter %v", got)
	}
	runWith(t, fake, "", env, "cleanup", "-c", cfg, "--older-than", "0s").check(t, 0, nil, []string{"deleted instance i-2"})
	runWith(t, fake, "", env, "cleanup", "-c", cfg, "--older-than", "soon").check(t, 2, nil, []string{"cleanup: --older-than: want a duration like 30d"})
	fake.leftovers = []cloud.Resource{{Kind: cloud.KindInstance, ID: "i-3", Created: old}}
	fake.fail["DeleteResource"] = errorString("UnauthorizedOperation")
	// A failed cloud API call is exit 3, as everywhere else.
	runWith(t, fake, "", env, "cleanup", "-c", cfg).check(t, 3, nil, []string{"delete instance i-3: aws: UnauthorizedOperation"})
}

func TestDoctor(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	r := runWith(t, fake, "", env, "doctor", "-c", cfg)
	// No packer, no plugin: required checks fail; credentials are named.
	r.check(t, 1, []string{"packer", "missing", "plugin amazon", "credentials", "account 123456789012 (fake)"}, []string{"required check(s) failed"})
	bin := filepath.Dir(cfgPacker(t))
	plugins := t.TempDir()
	p := filepath.Join(plugins, "github.com", "hashicorp", "amazon")
	name := "packer-plugin-amazon_v" + fake.Plugin().Version + "_x5.0_linux_amd64"
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(p, name), "test double", 0o755)
	env2 := []string{"HOME=" + t.TempDir(), "PATH=" + bin, "PACKER_PLUGIN_PATH=" + plugins}
	runWith(t, fake, "", env2, "doctor", "-c", cfg).check(t, 1, []string{"has no _SHA256SUM file beside it"}, nil)
	mustWrite(t, filepath.Join(p, name+"_SHA256SUM"), "00\n", 0o644)
	runWith(t, fake, "", env2, "doctor", "-c", cfg).check(t, 0, []string{"github.com/hashicorp/amazon " + fake.Plugin().Version}, nil)
	fake.fail["CheckCredentials"] = errorString("no EC2 IMDS role found")
	runWith(t, fake, "", env2, "doctor", "-c", cfg).check(t, 1, []string{"failed", "no EC2 IMDS role found"}, nil)
}

// cfgPacker puts a packer test double on a fresh PATH folder.
func cfgPacker(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "packer")
	mustWrite(t, p, "#!/bin/sh\n# test double for packer\nexit 0\n", 0o755)
	return p
}

func TestConnectRunsSSH(t *testing.T) {
	fake, cfg, env := lifecycleWorld(t)
	fake.instances = []cloud.Instance{{ID: "i-9", Host: "198.51.100.7", Port: 2222, State: "running", Deployment: "build-test"}}
	bin := t.TempDir()
	record := filepath.Join(bin, "args")
	// A test double for ssh: records its arguments, exits 0 or as told.
	mustWrite(t, filepath.Join(bin, "ssh"), "#!/bin/sh\n# test double for ssh\nprintf '%s\\n' \"$@\" > "+record+"\nexit ${SSH_EXIT:-0}\n", 0o755)
	env = append(env, "PATH="+bin)
	runWith(t, fake, "", env, "connect", "-c", cfg, "-i", "/keys/id").check(t, 0, nil, nil)
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if want := "-i\n/keys/id\n-p\n2222\nubuntu@198.51.100.7\n"; string(got) != want {
		t.Fatalf("ssh args %q, want %q", got, want)
	}
	runWith(t, fake, "", append(env, "SSH_EXIT=255"), "connect", "-c", cfg).check(t, 255, nil, []string{"ssh exited 255"})
}
