# Three unsupported arguments in two sources.
source "null" "a" {
  communicator = "none"
  bogus_one    = "x"
  bogus_two    = "y"
}

source "null" "b" {
  communicator = "none"
  bogus_three  = "z"
}

build {
  sources = ["source.null.a", "source.null.b"]
}
