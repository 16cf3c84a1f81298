# An argument the null builder does not have.
source "null" "sindri" {
  communicator = "none"
  bogus_field  = "nope"
}

build {
  sources = ["source.null.sindri"]
}
