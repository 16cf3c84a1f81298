package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/sindri-dev/sindri-packer/internal/cloud"
	"github.com/sindri-dev/sindri-packer/internal/config"
	"github.com/sindri-dev/sindri-packer/internal/hclgen"
	"github.com/sindri-dev/sindri-packer/internal/sshkey"
)

func (Cloud) SourceType() string              { return "qemu" }
func (Cloud) Plugin() cloud.Plugin            { return cloud.HashiCorpPlugin("qemu") }
func (Cloud) SSHUser(c *config.Config) string { return c.Packer.Clouds.QEMU.SSHUsername }

// Variables are decided per run: the accelerator after probing KVM, the
// output folder in the local image store, and the one-off SSH key pair the
// cloud-init seed installs.
func (Cloud) Variables(c *config.Config) []cloud.Variable {
	accel := c.Packer.Clouds.QEMU.Accelerator
	if accel == "auto" {
		accel = "tcg" // the build probes KVM and passes kvm when it works
	}
	return []cloud.Variable{
		{Name: "qemu_accelerator", Description: "kvm or tcg", Default: accel},
		{Name: "qemu_output_dir", Description: "folder that receives the built qcow2; must not exist", Default: "output-qemu"},
		{Name: "ssh_public_key", Description: "one-off public key the cloud-init seed authorizes", Default: ""},
		{Name: "ssh_private_key_file", Description: "private half of ssh_public_key", Default: ""},
	}
}

func (Cloud) Source(body *hclwrite.Body, c *config.Config, m cloud.Meta) {
	q := c.Packer.Clouds.QEMU
	b := hclgen.Body{Body: body}
	b.Str("iso_url", q.BaseImage)
	b.Str("iso_checksum", q.BaseImageChecksum)
	b.Bool("disk_image", true)
	b.Str("format", "qcow2")
	b.Str("disk_size", fmt.Sprintf("%dG", q.DiskSizeGB))
	b.Bool("disk_compression", true)
	b.Str("disk_interface", "virtio")
	b.Str("net_device", "virtio-net")
	b.Int("memory", q.MemoryMB)
	b.Int("cpus", q.CPUs)
	b.Set("accelerator", hclgen.Expr("var.qemu_accelerator"))
	b.Bool("headless", true)
	b.Set("output_directory", hclgen.Expr("var.qemu_output_dir"))
	b.Set("vm_name", hclgen.Expr(`format("%s.qcow2", local.image_name)`))
	b.Str("ssh_username", q.SSHUsername)
	b.Set("ssh_private_key_file", hclgen.Expr("var.ssh_private_key_file"))
	b.Str("ssh_timeout", c.Packer.Build.SSHTimeout)
	b.Str("shutdown_command", "sudo shutdown -P now")
	// A NoCloud seed: cloud-init creates the login user with the one-off key.
	b.Str("cd_label", "cidata")
	b.Set("cd_content", hclgen.Map(map[string]hclwrite.Tokens{
		"meta-data": hclgen.Str("instance-id: sindri-build\nlocal-hostname: sindri-build\n"),
		"user-data": hclwrite.TokensForFunctionCall("format",
			hclgen.Str("#cloud-config\nusers:\n  - name: %s\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    shell: /bin/bash\n    ssh_authorized_keys:\n      - %s\n"),
			hclgen.Str(q.SSHUsername),
			hclgen.Expr("var.ssh_public_key")),
	}))
}

// Prepare checks the base image, picks the accelerator, makes a one-off SSH
// key pair and a fresh output folder inside the build's work folder.
func (c Cloud) Prepare(ctx context.Context, run *cloud.BuildRun) (map[string]string, func(), error) {
	q := run.Config.Packer.Clouds.QEMU
	base := baseImagePath(run.Config)
	if !strings.Contains(base, "://") {
		if _, err := os.Stat(base); err != nil {
			return nil, nil, fmt.Errorf("base image %s: %w (build one with tools/qemu-base-image.sh %s)", q.BaseImage, err, q.BaseImage)
		}
	}
	accel := q.Accelerator
	if accel == "auto" {
		accel = c.Probe(ctx, base)
	}
	key, err := sshkey.Generate(run.WorkDir, "sindri-packer-build")
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{
		"qemu_accelerator":     accel,
		"qemu_output_dir":      filepath.Join(run.WorkDir, "output"),
		"ssh_public_key":       key.Authorized,
		"ssh_private_key_file": key.PrivateFile,
	}
	// Everything lives in run.WorkDir, which the pipeline removes.
	return vars, func() {}, nil
}
