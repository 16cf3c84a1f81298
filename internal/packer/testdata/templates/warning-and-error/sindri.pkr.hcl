# undeclared.auto.pkrvars.hcl sets a variable nobody declared (a warning),
# and the source has an unsupported argument (an error).
source "null" "sindri" {
  communicator = "none"
  bogus_field  = "nope"
}

build {
  sources = ["source.null.sindri"]
}
