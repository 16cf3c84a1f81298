#!/usr/bin/env bash
# tools/local-build.sh - the README's main job: build a Sindri image on this
# machine with the local QEMU target; no cloud account needed.
#
#   tools/local-build.sh [extra sindri-packer build flags]
#
# Steps (each skips work already done):
#   1. tools/install.sh: pinned Packer and plugins, QEMU and helper packages.
#   2. go build -o sindri-packer ./cmd/sindri-packer
#   3. tools/qemu-base-image.sh .cache/base/debian-12-base.qcow2: a Debian 12
#      cloud-init base image from Debian's packages (cached by content).
#   4. sindri-packer init --cloud qemu, when sindri.yaml does not exist yet.
#   5. The Sindri release to install:
#      - SINDRI_ARCHIVE=path/to/sindri-v<version>-linux-x86_64.tar.gz with
#        SINDRI_VERSION=<version>: that archive is uploaded into the image;
#      - otherwise, when GitHub is reachable: the configured release
#        ("latest" is resolved through the GitHub releases API);
#      - otherwise (machines that cannot reach GitHub): a clearly labelled
#        TEST-DOUBLE archive made here, version 0.0.0-test-double, whose
#        `sindri` only prints its version and records installs. The image is
#        then a real, hardened Debian image with a stand-in for Sindri.
#   6. sindri-packer build --clouds qemu: the image lands in .cache/images/
#      under its config hash; a second run reports it as cached.
#
# Under software emulation (TCG, when KVM is missing or does not work) the
# first run takes about 15-20 minutes on 2 cores, most of it the image build.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install.sh -q
# shellcheck source=tools/env.sh
source tools/env.sh
go build -o sindri-packer ./cmd/sindri-packer
mkdir -p .cache/base
tools/qemu-base-image.sh .cache/base/debian-12-base.qcow2
[[ -f sindri.yaml ]] || ./sindri-packer init --cloud qemu

sets=()
if [[ -n ${SINDRI_ARCHIVE:-} ]]; then
  [[ -n ${SINDRI_VERSION:-} ]] || { echo "SINDRI_ARCHIVE needs SINDRI_VERSION" >&2; exit 2; }
  sets+=(--set "packer.build.sindri_archive=$(realpath "$SINDRI_ARCHIVE")"
    --set "packer.build.sindri_version=$SINDRI_VERSION"
    --set "packer.build.sindri_sha256=$(sha256sum "$SINDRI_ARCHIVE" | cut -d' ' -f1)")
elif ! curl -fsS --max-time 5 -o /dev/null https://api.github.com/; then
  echo "[local-build] GitHub is not reachable: installing a TEST-DOUBLE Sindri (see tools/local-build.sh)" >&2
  double=.cache/local/sindri-v0.0.0-test-double-linux-x86_64.tar.gz
  mkdir -p .cache/local/double
  cat >.cache/local/double/sindri <<'SH'
#!/bin/sh
# TEST DOUBLE of the sindri CLI, made by tools/local-build.sh because this
# machine cannot download Sindri releases. It is not Sindri.
case "$1" in
  --version|version) echo "sindri 0.0.0-test-double" ;;
  profile|extension)
    [ "$2" = install ] || { echo "test double: unsupported: $*" >&2; exit 2; }
    mkdir -p "$HOME/.sindri/state"
    echo "$1 $3" >>"$HOME/.sindri/state/installed"
    echo "installed $1 $3 (test double)" ;;
  *) echo "test double: unsupported: $*" >&2; exit 2 ;;
esac
SH
  chmod 755 .cache/local/double/sindri
  # Byte-for-byte reproducible, so the config hash (and the cache) holds.
  touch -d @0 .cache/local/double/sindri
  tar -C .cache/local/double --owner=0 --group=0 --numeric-owner -cf - sindri | gzip -n >"$double"
  sets+=(--set "packer.build.sindri_archive=$double"
    --set packer.build.sindri_version=0.0.0-test-double
    --set "packer.build.sindri_sha256=$(sha256sum "$double" | cut -d' ' -f1)")
fi

exec ./sindri-packer build --clouds qemu "${sets[@]}" "$@"
