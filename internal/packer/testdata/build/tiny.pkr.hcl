# A build that needs no cloud and no plugin: packer's built-in null builder
# (communicator "none") and file builder, a shell-local provisioner that
# echoes the variables, and the manifest post-processor. Runner.Build tests
# copy it into a temporary folder, since packer writes beside it.

variable "greeting" {
  type    = string
  default = "unset"
}

variable "from_file" {
  type    = string
  default = "unset"
}

# fail makes the provisioner exit 1.
variable "fail" {
  type    = bool
  default = false
}

# block makes the provisioner wait until it is interrupted.
variable "block" {
  type    = bool
  default = false
}

source "null" "tiny" {
  communicator = "none"
}

source "file" "out" {
  content = "made by packer"
  target  = "${path.root}/out, one.txt"
}

build {
  sources = ["source.null.tiny", "source.file.out"]

  provisioner "shell-local" {
    inline = [
      "echo greeting=${var.greeting}",
      "echo from_file=${var.from_file}",
      "if ${var.block}; then echo blocking; tail -f ${path.root}/tiny.pkr.hcl >/dev/null; fi",
      "if ${var.fail}; then echo about to fail; exit 1; fi",
    ]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo error cleanup ran"]
  }

  post-processor "manifest" {
    output = "${path.root}/manifest.json"
    custom_data = {
      greeting = var.greeting
    }
  }
}
