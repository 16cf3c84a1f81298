required_plugins {
  amazon = {
    "source"  = "github.com/hashicorp/amazon"
    "version" = "= 1.2.1"
  }
}

variable "region" {
  type        = string
  description = "region to build in (packer.region)"
  default     = "eu-west-1"
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type used for the build (packer.instance_type)"
  default     = "m6i.xlarge"
}

source "amazon-ebs" "sindri" {
  region          = var.region
  instance_type   = var.instance_type
  ami_name        = local.image_name
  ami_description = "Sindri dev image with \"quotes\" and $${braces}"
  source_ami_filter {
    filters = {
      "name"                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
      "root-device-type"    = "ebs"
      "virtualization-type" = "hvm"
    }
    owners      = ["099720109477"]
    most_recent = true
  }
  ssh_username            = "ubuntu"
  ssh_timeout             = "20m"
  temporary_key_pair_type = "ed25519"
  vpc_id                  = "vpc-0123abcd"
  subnet_id               = "subnet-0123abcd"
  encrypt_boot            = true
  kms_key_id              = "arn:aws:kms:eu-west-1:111122223333:key/abcd"
  ami_regions             = ["us-east-1", "us-west-2"]
  ami_users               = ["111122223333"]
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = 120
    volume_type           = "io2"
    delete_on_termination = true
  }
  tags = {
    "Team"           = "platform \"core\""
    "Template"       = "$${not_a_var} %%{if true}x%%{endif}"
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "sindri-version" = var.sindri_version
  }
  snapshot_tags = {
    "Team"           = "platform \"core\""
    "Template"       = "$${not_a_var} %%{if true}x%%{endif}"
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "sindri-version" = var.sindri_version
  }
  run_tags = {
    "Team"           = "platform \"core\""
    "Template"       = "$${not_a_var} %%{if true}x%%{endif}"
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = var.sindri_version
  }
  run_volume_tags = {
    "Team"           = "platform \"core\""
    "Template"       = "$${not_a_var} %%{if true}x%%{endif}"
    "config-hash"    = var.config_hash
    "managed-by"     = "sindri-packer"
    "sindri-packer"  = "temporary"
    "sindri-run-id"  = var.run_id
    "sindri-version" = var.sindri_version
  }
}

build {
  sources        = ["source.amazon-ebs.sindri"]
  manifest_cloud = "aws"
  sindri_users   = "SINDRI_USER=ubuntu SINDRI_USER=ubuntu SINDRI_USER=ubuntu"
}
