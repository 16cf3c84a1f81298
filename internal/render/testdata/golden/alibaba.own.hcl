required_plugins {
  alicloud = {
    "source"  = "github.com/hashicorp/alicloud"
    "version" = "= 1.1.2"
  }
}

source "alicloud-ecs" "sindri" {
  region                      = "eu-central-1"
  instance_type               = "ecs.g6.large"
  image_family                = "acs:ubuntu_24_04_x64"
  image_name                  = local.image_name
  vswitch_id                  = "vsw-0123abcd"
  associate_public_ip_address = true
  internet_max_bandwidth_out  = 10
  ssh_username                = "root"
  ssh_timeout                 = "20m"
  system_disk_mapping {
    disk_size     = 60
    disk_category = "cloud_ssd"
  }
  tags = {
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "owner"          = "platform"
    "sindri-version" = "3.1.0"
  }
  run_tags = {
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "owner"          = "platform"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = "3.1.0"
  }
}

build {
  sources        = ["source.alicloud-ecs.sindri"]
  manifest_cloud = "alibaba"
  sindri_users   = "SINDRI_USER=root SINDRI_USER=root SINDRI_USER=root"
}
