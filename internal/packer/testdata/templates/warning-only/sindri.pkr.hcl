# Valid, but undeclared.auto.pkrvars.hcl sets an undeclared variable: packer
# warns and exits 0.
source "null" "sindri" {
  communicator = "none"
}

build {
  sources = ["source.null.sindri"]
}
