# The source block is never closed.
source "null" "sindri" {
  communicator = "none"

build {
  sources = ["source.null.sindri"]
}
