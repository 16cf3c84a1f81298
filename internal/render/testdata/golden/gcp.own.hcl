required_plugins {
  googlecompute = {
    "source"  = "github.com/hashicorp/googlecompute"
    "version" = "= 1.1.0"
  }
}

variable "project_id" {
  type        = string
  description = "GCP project ID (packer.project_id)"
  default     = "my-project-123"
}

variable "zone" {
  type        = string
  description = "zone to build in (packer.zone)"
  default     = "europe-west4-b"
}

variable "machine_type" {
  type        = string
  description = "machine type used for the build (packer.machine_type)"
  default     = "n2-standard-8"
}

source "googlecompute" "sindri" {
  project_id              = var.project_id
  zone                    = var.zone
  machine_type            = var.machine_type
  source_image_family     = "ubuntu-2404-lts-amd64"
  source_image_project_id = ["ubuntu-os-cloud"]
  disk_size               = 100
  disk_type               = "pd-balanced"
  image_name              = local.image_name
  image_family            = "sindri-dev"
  enable_secure_boot      = false
  network                 = "projects/my-project-123/global/networks/build"
  subnetwork              = "projects/my-project-123/regions/europe-west4/subnetworks/build"
  ssh_username            = "packer"
  ssh_timeout             = "20m"
  image_labels = {
    "config-hash"    = substr(lower(var.config_hash), 0, 63)
    "managed-by"     = "sindri-packer"
    "sindri-version" = substr(regex_replace(lower(var.sindri_version), "[^a-z0-9_-]", "-"), 0, 63)
    "team"           = "platform"
  }
  labels = {
    "config-hash"    = substr(lower(var.config_hash), 0, 63)
    "managed-by"     = "sindri-packer"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = substr(regex_replace(lower(var.sindri_version), "[^a-z0-9_-]", "-"), 0, 63)
    "team"           = "platform"
  }
}

build {
  sources        = ["source.googlecompute.sindri"]
  manifest_cloud = "gcp"
  sindri_users   = "SINDRI_USER=packer SINDRI_USER=packer SINDRI_USER=packer"
}
