# Valid HCL, but the qemu builder's Prepare rejects it: no iso_url and no
# ssh_username.
packer {
  required_plugins {
    qemu = {
      version = "= 1.0.9"
      source  = "github.com/hashicorp/qemu"
    }
  }
}

source "qemu" "sindri" {
  disk_image = true
}

build {
  sources = ["source.qemu.sindri"]
}
