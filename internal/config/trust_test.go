package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A pull request controls sindri.yaml: it may not pull the runner's token,
// the Action's inputs or the tools' credentials into a value that packer
// echoes into a finding (and so into the PR comment).
func TestParseRefusesRunnerAndCredentialVariables(t *testing.T) {
	const token = "ghs_canary0123456789abcdef"
	env := map[string]string{
		"GITHUB_TOKEN": token, "INPUT_GITHUB-TOKEN": token, "ACTIONS_RUNTIME_TOKEN": token,
		"RUNNER_TEMP": "/runner/tmp", "AWS_SECRET_ACCESS_KEY": token, "PACKER_GITHUB_API_TOKEN": token,
		"OCI_CLI_KEY_CONTENT": token, "GITHUB_SHA": "abc123",
	}
	for _, name := range []string{"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "RUNNER_TEMP", "AWS_SECRET_ACCESS_KEY", "PACKER_GITHUB_API_TOKEN", "OCI_CLI_KEY_CONTENT"} {
		t.Run(name, func(t *testing.T) {
			data := "packer:\n  cloud: qemu\n  base_image_checksum: \"file:./${" + name + ":-x}\"\n"
			_, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(env), Credentials: targetCredentials})
			ds := diagnostics(t, err)
			got := ds.Error()
			want := "sindri.yaml:3:24: packer.base_image_checksum: ${" + name + "}: " + name + " may not be read from sindri.yaml"
			if !strings.HasPrefix(got, want) {
				t.Errorf("got  %s\nwant %s...", got, want)
			}
			if strings.Contains(got, token) || strings.Contains(got, "/runner/tmp") {
				t.Errorf("the diagnostic prints the value: %s", got)
			}
		})
	}
	// What a workflow means to pass stays readable.
	data := "packer:\n  cloud: qemu\n  build: {description: \"commit ${GITHUB_SHA}\"}\n"
	cfg, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(env)})
	if err != nil || cfg.Packer.Build.Description != "commit abc123" {
		t.Errorf("GITHUB_SHA: %v, %+v", err, cfg)
	}
}

// targetCredentials stand for the targets' SecretEnv, which the caller
// passes in (internal/targets lists every target's).
var targetCredentials = []string{"AWS_SECRET_ACCESS_KEY", "OCI_CLI_KEY_CONTENT"}

// A target's credential variable is refused only when the caller names it:
// the list comes from the targets, not from this package.
func TestParseRefusesTheCredentialsItIsGiven(t *testing.T) {
	env := map[string]string{"AWS_SECRET_ACCESS_KEY": "secret", "MY_CLOUD_KEY": "k"}
	data := "packer:\n  cloud: qemu\n  base_image_checksum: \"file:./${MY_CLOUD_KEY}\"\n"
	if _, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(env)}); err != nil {
		t.Fatalf("MY_CLOUD_KEY refused without being named a credential: %v", err)
	}
	_, err := Parse("sindri.yaml", []byte(data), Options{Getenv: lookup(env), Credentials: []string{"MY_CLOUD_KEY"}})
	if got := diagnostics(t, err).Error(); !strings.Contains(got, "MY_CLOUD_KEY may not be read from sindri.yaml: it is a credential") {
		t.Errorf("got %s", got)
	}
}

// A value from a variable named like a secret reaches Options.Secret when it
// is read, before the diagnostic that echoes it exists; others do not.
func TestParseHandsSecretLookingValuesToSecret(t *testing.T) {
	env := map[string]string{"DB_PASSWORD": "hunter2-not-a-number", "REGION": "eu-west-1"}
	var masked []string
	opts := Options{Getenv: lookup(env), Secret: func(v string) { masked = append(masked, v) }}
	data := "packer:\n  cloud: aws\n  region: ${REGION}\n  volume_size: ${DB_PASSWORD}\n"
	_, err := Parse("sindri.yaml", []byte(data), opts)
	diagnostics(t, err)
	if len(masked) != 1 || masked[0] != "hunter2-not-a-number" {
		t.Errorf("Secret got %q, want only the DB_PASSWORD value", masked)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// parseQuick fails the test when Parse/Load does not come back promptly:
// opening a named pipe blocks until a writer comes.
func parseQuick(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("hung: a named pipe was opened")
		return nil
	}
}

// Every path field, and the config file itself, must be a regular file;
// a named pipe, a device or a folder is refused without being opened.
func TestNonRegularFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "fifo"))
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, yaml, want string }{
		{"base_image", "packer:\n  cloud: qemu\n  base_image: fifo\n", "sindri.yaml:3:15: packer.base_image: fifo is a named pipe (FIFO), not a regular file; give a file"},
		{"checksum file", "packer:\n  cloud: qemu\n  base_image_checksum: file:fifo\n", "sindri.yaml:3:24: packer.base_image_checksum: fifo is a named pipe (FIFO), not a regular file; give a file"},
		{"base_image device", "packer:\n  cloud: qemu\n  base_image: /dev/zero\n", "sindri.yaml:3:15: packer.base_image: /dev/zero is a character device, not a regular file; give a file"},
		{"ansible_playbook", "packer:\n  cloud: qemu\n  build:\n    ansible_playbook: fifo\n", "sindri.yaml:4:23: packer.build.ansible_playbook: fifo is a named pipe (FIFO), not a regular file; give a file"},
		{"sindri_archive", "packer:\n  cloud: qemu\n  build:\n    sindri_archive: fifo\n", "sindri.yaml:4:21: packer.build.sindri_archive: fifo is a named pipe (FIFO), not a regular file; give a file"},
		{"file_uploads", "packer:\n  cloud: qemu\n  build:\n    file_uploads: [{source: fifo, destination: /x}]\n", "sindri.yaml:4:29: packer.build.file_uploads[0].source: fifo is a named pipe (FIFO), not a regular file; give a file"},
		{"base_image folder", "packer:\n  cloud: qemu\n  base_image: folder\n", "packer.base_image: folder is a folder; give a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseQuick(t, func() error {
				_, err := Parse(filepath.Join(dir, "sindri.yaml"), []byte(tt.yaml), testOptions())
				return err
			})
			if got := diagnostics(t, err).Error(); !strings.Contains(got, strings.TrimPrefix(tt.want, "sindri.yaml")) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("config file", func(t *testing.T) {
		err := parseQuick(t, func() error {
			_, err := Load(filepath.Join(dir, "fifo"), testOptions())
			return err
		})
		want := filepath.Join(dir, "fifo") + ": this is a named pipe (FIFO), not a regular file"
		if got := diagnostics(t, err).Error(); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}

// With Options.Root (the Action's workspace) every file the config names
// must resolve, symlinks followed, inside it; nothing is read or echoed.
func TestRootConfinesPaths(t *testing.T) {
	outside := t.TempDir()
	secretFile := filepath.Join(outside, "shadow")
	writeFile(t, secretFile, "root:$6$canary-hash:19000\n")
	ws := t.TempDir()
	if err := os.Symlink(secretFile, filepath.Join(ws, "link.yml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "site.yml"), "- hosts: all\n")
	if err := os.MkdirAll(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(ws, "sub", "sindri.yaml")
	tests := []struct{ name, build, qemu, want string }{
		{name: "absolute", build: "ansible_playbook: " + secretFile, want: "packer.build.ansible_playbook: " + secretFile + " is outside the workspace"},
		{name: "dot-dot", build: "ansible_playbook: ../../" + filepath.Base(outside) + "/shadow", want: "packer.build.ansible_playbook: ../../" + filepath.Base(outside) + "/shadow is outside the workspace"},
		{name: "symlink out", build: "file_uploads: [{source: ../link.yml, destination: /etc/x}]", want: "packer.build.file_uploads[0].source: ../link.yml is outside the workspace"},
		{name: "sindri_archive", build: "sindri_archive: " + secretFile, want: "packer.build.sindri_archive: " + secretFile + " is outside the workspace"},
		{name: "base_image file URL", qemu: "base_image: file://" + secretFile, want: "packer.base_image: " + secretFile + " is outside the workspace"},
		{name: "checksum file", qemu: "base_image_checksum: file:" + secretFile, want: "packer.base_image_checksum: " + secretFile + " is outside the workspace"},
		{name: "output_dir", qemu: "output_dir: /tmp/images", want: "packer.output_dir: /tmp/images is outside the workspace"},
		{name: "inside is fine", build: "ansible_playbook: ../site.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "packer:\n  cloud: qemu\n  " + tt.qemu + "\n  build: {" + tt.build + "}\n"
			writeFile(t, cfgPath, data)
			_, err := Load(cfgPath, Options{Getenv: lookup(testEnv), Root: ws})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			got := diagnostics(t, err).Error()
			if !strings.Contains(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Contains(got, "canary-hash") {
				t.Errorf("the refused file's content is echoed: %s", got)
			}
		})
	}
	// Without a root (the CLI on the user's machine) the same symlink is
	// the user's own business.
	writeFile(t, cfgPath, "packer:\n  cloud: qemu\n  build: {ansible_playbook: ../link.yml}\n")
	if _, err := Load(cfgPath, testOptions()); err != nil {
		t.Errorf("without Root: %v", err)
	}
	// The config file itself is confined too.
	_, err := Load(secretFile, Options{Getenv: lookup(testEnv), Root: ws})
	var ds Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(err.Error(), "is outside the workspace") || strings.Contains(err.Error(), "canary") {
		t.Errorf("config outside root: %v", err)
	}
}
