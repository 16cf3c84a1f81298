package qemu

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"golang.org/x/crypto/ssh"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/cloud/cloudtest"
)

const minimal = "packer:\n  cloud: qemu\n"

func TestIdentity(t *testing.T) {
	cloudtest.CheckIdentity(t, Cloud{}, cloudtest.Identity{
		Name: "qemu", SourceType: "qemu", Plugin: "qemu",
		Minimal: minimal, DefaultUser: "sindri", User: "dev",
	})
}

func TestVariables(t *testing.T) {
	tests := []struct {
		accel string // "" for the default (auto)
		want  string
	}{
		{"", "tcg"},
		{"auto", "tcg"},
		{"kvm", "kvm"},
		{"tcg", "tcg"},
	}
	for _, tc := range tests {
		t.Run("accelerator="+tc.accel, func(t *testing.T) {
			yaml := minimal
			if tc.accel != "" {
				yaml += "  accelerator: " + tc.accel + "\n"
			}
			vars := Cloud{}.Variables(cloudtest.Load(t, yaml))
			byName := map[string]cloud.Variable{}
			var names []string
			for _, v := range vars {
				byName[v.Name] = v
				names = append(names, v.Name)
				if v.Sensitive {
					t.Errorf("%s is sensitive; none of these are secrets", v.Name)
				}
			}
			wantNames := []string{"qemu_accelerator", "qemu_output_dir", "ssh_public_key", "ssh_private_key_file"}
			if !slices.Equal(names, wantNames) {
				t.Fatalf("variables %q, want %q", names, wantNames)
			}
			if got := byName["qemu_accelerator"].Default; got != tc.want {
				t.Errorf("qemu_accelerator default = %q, want %q", got, tc.want)
			}
			if got := byName["qemu_output_dir"].Default; got != "output-qemu" {
				t.Errorf("qemu_output_dir default = %q", got)
			}
			for _, key := range []string{"ssh_public_key", "ssh_private_key_file"} {
				if got := byName[key].Default; got != "" {
					t.Errorf("%s default = %q, want empty (set per run)", key, got)
				}
			}
		})
	}
}

func TestSourceDefaults(t *testing.T) {
	b := cloudtest.Source(t, Cloud{}, cloudtest.Load(t, minimal))
	cloudtest.WantStrs(t, b, map[string]string{
		"iso_url":          ".cache/base/debian-12-base.qcow2",
		"iso_checksum":     "none",
		"format":           "qcow2",
		"disk_size":        "10G",
		"disk_interface":   "virtio",
		"net_device":       "virtio-net",
		"ssh_username":     "sindri",
		"ssh_timeout":      "20m",
		"shutdown_command": "sudo shutdown -P now",
		"cd_label":         "cidata",
		// Per-run variables, evaluated with the test's stand-ins.
		"accelerator":          "test-accel",
		"output_directory":     "/test/out",
		"ssh_private_key_file": "/test/key",
		"vm_name":              "sindri-20240101.qcow2",
	})
	for name, want := range map[string]string{
		"accelerator":          "var.qemu_accelerator",
		"output_directory":     "var.qemu_output_dir",
		"ssh_private_key_file": "var.ssh_private_key_file",
		"vm_name":              "local.image_name",
	} {
		if got := cloudtest.Refs(t, b, name); !slices.Equal(got, []string{want}) {
			t.Errorf("%s references %q, want %s", name, got, want)
		}
	}
	for _, name := range []string{"disk_image", "disk_compression", "headless"} {
		if !cloudtest.Bool(t, b, name) {
			t.Errorf("%s is not true", name)
		}
	}
	cloudtest.WantInt(t, b, "memory", 2048)
	cloudtest.WantInt(t, b, "cpus", 2)
}

func TestSourceFromConfig(t *testing.T) {
	b := cloudtest.Source(t, Cloud{}, cloudtest.Load(t, minimal+`  base_image: https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2
  base_image_checksum: file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS
  disk_size_gb: 20
  memory_mb: 4096
  cpus: 4
  ssh_username: dev
`))
	cloudtest.WantStrs(t, b, map[string]string{
		"iso_url":      "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
		"iso_checksum": "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS",
		"disk_size":    "20G",
		"ssh_username": "dev",
	})
	cloudtest.WantInt(t, b, "memory", 4096)
	cloudtest.WantInt(t, b, "cpus", 4)
}

// TestCloudInitSeed checks the NoCloud seed: user-data is a format() call
// that puts the configured user and the run's public key into the
// cloud-config, so the key is never written into the template.
func TestCloudInitSeed(t *testing.T) {
	b := cloudtest.Source(t, Cloud{}, cloudtest.Load(t, minimal+"  ssh_username: dev\n"))

	obj, ok := b.Attributes["cd_content"].Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("cd_content is %T, want an object", b.Attributes["cd_content"].Expr)
	}
	var userData *hclsyntax.FunctionCallExpr
	for _, item := range obj.Items {
		k, _ := item.KeyExpr.Value(nil)
		if k.AsString() == "user-data" {
			userData, ok = item.ValueExpr.(*hclsyntax.FunctionCallExpr)
			if !ok {
				t.Fatalf("user-data is %T, want a function call", item.ValueExpr)
			}
		}
	}
	if userData == nil {
		t.Fatal("cd_content has no user-data")
	}
	if userData.Name != "format" || len(userData.Args) != 3 {
		t.Fatalf("user-data is %s() with %d args, want format(template, user, key)", userData.Name, len(userData.Args))
	}
	if user, diags := userData.Args[1].Value(nil); diags.HasErrors() || user.AsString() != "dev" {
		t.Errorf("format's user argument = %#v (%s), want the literal \"dev\"", user, diags)
	}
	var keyRefs []string
	for _, tr := range userData.Args[2].Variables() {
		keyRefs = append(keyRefs, string(hclwrite.TokensForTraversal(tr).Bytes()))
	}
	if !slices.Equal(keyRefs, []string{"var.ssh_public_key"}) {
		t.Errorf("format's key argument references %q, want var.ssh_public_key", keyRefs)
	}

	seed := cloudtest.StrMap(t, b, "cd_content")
	if keys := slices.Sorted(maps.Keys(seed)); !slices.Equal(keys, []string{"meta-data", "user-data"}) {
		t.Fatalf("cd_content keys %q", keys)
	}
	cloudtest.WantContains(t, "user-data", seed["user-data"],
		"#cloud-config\n",
		"  - name: dev\n",
		"    sudo: ALL=(ALL) NOPASSWD:ALL\n",
		"      - ssh-ed25519 AAAATEST test@key\n",
	)
	if md := seed["meta-data"]; !strings.Contains(md, "instance-id: sindri-build\n") {
		t.Errorf("meta-data = %q", md)
	}
}

// TestPrepare: a one-off ed25519 key pair, the output folder inside the
// build's work folder, and the configured accelerator.
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	cfg := loadQEMU(t, dir, "  accelerator: tcg\n")
	work := t.TempDir()
	run := &cloud.BuildRun{Config: cfg, RunID: "r", Hash: hash, WorkDir: work}
	if _, _, err := (Cloud{}).Prepare(t.Context(), run); err == nil {
		t.Fatal("a missing base image must fail before packer starts")
	}
	os.WriteFile(filepath.Join(dir, "base.qcow2"), []byte("x"), 0o644)
	vars, cleanup, err := (Cloud{}).Prepare(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if vars["qemu_accelerator"] != "tcg" || vars["qemu_output_dir"] != filepath.Join(work, "output") {
		t.Errorf("vars %v", vars)
	}
	keyFile := vars["ssh_private_key_file"]
	if !strings.HasPrefix(keyFile, work) {
		t.Errorf("the key must live in the work folder (removed after the build): %s", keyFile)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	pemBytes, _ := os.ReadFile(keyFile)
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(vars["ssh_public_key"]))
	if err != nil || pub.Type() != "ssh-ed25519" || string(pub.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Errorf("public key does not match the private key: %v", err)
	}
	// A second run gets a different key.
	work2 := t.TempDir()
	run.WorkDir = work2
	vars2, _, _ := (Cloud{}).Prepare(t.Context(), run)
	if vars2["ssh_public_key"] == vars["ssh_public_key"] {
		t.Error("keys must be one-off")
	}
}
