required_plugins {
  alicloud = {
    "source"  = "github.com/hashicorp/alicloud"
    "version" = "= 1.1.2"
  }
}

variable "region" {
  type        = string
  description = "region ID (packer.region)"
  default     = "eu-central-1"
}

variable "instance_type" {
  type        = string
  description = "ECS instance type used for the build (packer.instance_type)"
  default     = "ecs.g6.large"
}

source "alicloud-ecs" "sindri" {
  region                      = var.region
  instance_type               = var.instance_type
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
    "sindri-version" = var.sindri_version
  }
  run_tags = {
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "owner"          = "platform"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = var.sindri_version
  }
}

build {
  sources        = ["source.alicloud-ecs.sindri"]
  manifest_cloud = "alibaba"
  sindri_users   = "SINDRI_USER=root SINDRI_USER=root SINDRI_USER=root"
}
