#!/usr/bin/env bash
# tools/container-build.sh - build the Action's container image from the
# Dockerfile with podman, for the container journey tests (e2e/container).
#
#   tools/container-build.sh [options]
#
# 1. tools/container-bases.sh --setup: podman and runc (apt), containers.conf,
#    and the Dockerfile's base images made locally (no registry here).
# 2. The TEST Dockerfile (written to $SINDRI_CONTAINER_CACHE/Dockerfile.test)
#    is the Dockerfile with ONE change: its `cinc` stage, which downloads
#    cinc-auditor from omnitruck.cinc.sh (not reachable here), is replaced by a
#    stage that packs a STAND-IN cinc-auditor .deb: `cinc-auditor version`
#    says it is a stand-in, every other command (exec) says so on stderr and
#    exits 70. The image carries the label dev.sindri.cinc-auditor=stand-in.
#    Everything else - Go build, Packer and the plugins by tools/install.sh,
#    the runtime's apt packages - is the released Dockerfile's.
# 3. The Dockerfile's Go cache mounts (ids sindri-go-mod, sindri-go-build)
#    are the host's GOMODCACHE and GOCACHE (symlinks in buildah's cache
#    folder under TMPDIR=$SINDRI_CONTAINER_CACHE/tmp), so Packer and the six
#    plugins that tools/install.sh built on the host are not compiled again.
# 4. podman --runtime runc --cgroup-manager cgroupfs build --pull=never
#    --network=host -t $SINDRI_CONTAINER_IMAGE; podman's layer cache makes an
#    unchanged rebuild take seconds. Then it prints the image's size and its
#    biggest layers.
#
# Options:
#   --no-cache          rebuild every layer (the Go caches still apply)
#   --print-dockerfile  print the test Dockerfile and exit (no podman needed)
#   -h, --help          this help
#
# Environment:
#   SINDRI_CONTAINER_IMAGE  image name (default localhost/sindri-packer-action:test)
#   SINDRI_CONTAINER_CACHE  scratch and cache folder (default <repo>/.cache/container)
#   GOCACHE, GOMODCACHE     the host's Go caches (default: go env)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(dirname "$script_dir")
podman=(podman --runtime runc --cgroup-manager cgroupfs)
image=${SINDRI_CONTAINER_IMAGE:-localhost/sindri-packer-action:test}
cache=${SINDRI_CONTAINER_CACHE:-$root_dir/.cache/container}

log() { printf '[container-build] %s\n' "$*" >&2; }
die() { printf '[container-build] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

no_cache=() print=0
while (($#)); do
	case $1 in
	--no-cache) no_cache=(--no-cache); shift ;;
	--print-dockerfile) print=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

# The stand-in cinc stage. Its FROM is the Dockerfile's own (kept by the
# awk below); it needs nothing from the network.
read -r -d '' standin <<'EOF' || true
# TEST BUILD ONLY (tools/container-build.sh): omnitruck.cinc.sh cannot be
# reached here, so this stage packs a STAND-IN for the cinc-auditor .deb.
# The released image is built from the Dockerfile's real cinc stage.
COPY tools/versions.env /tmp/versions.env
RUN . /tmp/versions.env \
 && mkdir -p /pkg/DEBIAN /pkg/usr/bin /out \
 && printf '%s\n' 'Package: cinc-auditor' "Version: ${CINC_AUDITOR_VERSION}+standin" \
      "Architecture: $(dpkg --print-architecture)" 'Maintainer: sindri-packer tests <noreply@sindri.dev>' \
      'Description: STAND-IN for cinc-auditor in the sindri-packer test container build' \
      >/pkg/DEBIAN/control \
 && printf '%s\n' '#!/bin/sh' \
      '# STAND-IN for cinc-auditor (sindri-packer test container build, tools/container-build.sh).' \
      'case "$1" in' \
      "version|--version) echo \"${CINC_AUDITOR_VERSION} (STAND-IN, not cinc-auditor: sindri-packer test build)\" ;;" \
      '*) echo "cinc-auditor STAND-IN (sindri-packer test container build): cannot run: $*" >&2; exit 70 ;;' \
      'esac' >/pkg/usr/bin/cinc-auditor \
 && chmod 0755 /pkg/usr/bin/cinc-auditor \
 && dpkg-deb --root-owner-group --build /pkg /out/cinc-auditor.deb
EOF

# test_dockerfile: the Dockerfile with the body of the cinc stage replaced,
# and the stand-in labels on the final (runtime) stage.
test_dockerfile() {
	STANDIN=$standin awk '
		/^FROM / { incinc = 0 }
		/^FROM [^ ]+ AS cinc$/ { print; print ENVIRON["STANDIN"]; print ""; incinc = 1; found++; next }
		!incinc { print }
		END { if (found != 1) { print "cinc stage found " found " times" > "/dev/stderr"; exit 1 } }
	' "$root_dir/Dockerfile"
	cat <<'EOF'
LABEL dev.sindri.test-build="tools/container-build.sh: the Dockerfile with a stand-in cinc stage; not a release" \
      dev.sindri.cinc-auditor="stand-in: prints its version, exits 70 for exec (no image tests with InSpec)"
EOF
}

if ((print)); then
	test_dockerfile
	exit 0
fi

total=$SECONDS
"$script_dir/container-bases.sh" --setup

mkdir -p "$cache/tmp/buildah-cache"
test_dockerfile >"$cache/Dockerfile.test.new"
mv "$cache/Dockerfile.test.new" "$cache/Dockerfile.test"

# The Dockerfile's cache mounts are folders named by id under
# $TMPDIR/buildah-cache; make them the host's Go caches.
link_cache() { # ID HOST_DIR
	mkdir -p "$2"
	local link=$cache/tmp/buildah-cache/$1
	if [[ -d $link && ! -L $link ]]; then rm -rf "$link"; fi
	ln -sfn "$2" "$link"
}
gocache=${GOCACHE:-$(go env GOCACHE)}
gomodcache=${GOMODCACHE:-$(go env GOMODCACHE)}
link_cache sindri-go-build "$gocache"
link_cache sindri-go-mod "$gomodcache"
log "Go caches: $gocache, $gomodcache"

commit=$(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
start=$SECONDS
log "building $image (test Dockerfile: $cache/Dockerfile.test)"
TMPDIR=$cache/tmp "${podman[@]}" build --pull=never --network=host "${no_cache[@]}" \
	--build-arg "SINDRI_PACKER_VERSION=0.0.0-test+$commit" \
	--label "dev.sindri.source-commit=$commit" \
	-f "$cache/Dockerfile.test" -t "$image" "$root_dir" >"$cache/build.log" 2>&1 ||
	{ tail -n 40 "$cache/build.log" >&2; die "podman build failed (log: $cache/build.log)"; }
log "built $image in $((SECONDS - start))s (total $((SECONDS - total))s; log: $cache/build.log)"

size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
log "image size: $((size / 1000000)) MB; biggest layers:"
"${podman[@]}" history --format '{{.Size}}\t{{.CreatedBy}}' "$image" |
	sort -t$'\t' -k1,1 -h -r | head -n 5 | cut -c1-150 | sed 's/^/    /' >&2
