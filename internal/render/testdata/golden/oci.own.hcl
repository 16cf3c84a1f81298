required_plugins {
  oracle = {
    "source"  = "github.com/hashicorp/oracle"
    "version" = "= 1.0.4"
  }
}

variable "compartment_ocid" {
  type        = string
  description = "compartment that receives the image (packer.compartment_ocid)"
  default     = "ocid1.compartment.oc1..aaaaexample"
}

variable "region" {
  type        = string
  description = "region (default: from the OCI config file) (packer.region)"
  default     = "eu-frankfurt-1"
}

variable "shape" {
  type        = string
  description = "compute shape (packer.shape)"
  default     = "VM.Standard.A1.Flex"
}

variable "oci_access_cfg_file" {
  type        = string
  description = "OCI SDK config file (empty: ~/.oci/config)"
  default     = ""
}

source "oracle-oci" "sindri" {
  access_cfg_file     = var.oci_access_cfg_file
  region              = var.region
  compartment_ocid    = var.compartment_ocid
  availability_domain = "Uocm:EU-FRANKFURT-1-AD-1"
  shape               = var.shape
  shape_config {
    ocpus         = 2
    memory_in_gbs = 12
  }
  subnet_ocid = "ocid1.subnet.oc1.eu-frankfurt-1.aaaaexample"
  disk_size   = 100
  base_image_filter {
    operating_system         = "Canonical Ubuntu"
    operating_system_version = "24.04"
  }
  image_name   = local.image_name
  ssh_username = "ubuntu"
  ssh_timeout  = "20m"
  tags = {
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "owner"          = "platform"
    "sindri-version" = var.sindri_version
  }
  instance_tags = {
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "owner"          = "platform"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = var.sindri_version
  }
}

build {
  sources        = ["source.oracle-oci.sindri"]
  manifest_cloud = "oci"
  sindri_users   = "SINDRI_USER=ubuntu SINDRI_USER=ubuntu SINDRI_USER=ubuntu"
}
