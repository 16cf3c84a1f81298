#!/usr/bin/env bash
# tools/container-bases.sh - make the base images the Dockerfile's FROM lines
# name, locally, for a podman build that cannot pull from a registry.
#
#   tools/container-bases.sh [--force] [--print-keys]
#
# This machine (and CI) reach Debian's mirror and the Go module proxy but no
# container registry, so the two bases are made here and tagged with the
# exact names the Dockerfile uses (read from its FROM lines):
#   docker.io/library/debian:bookworm-YYYYMMDD-slim
#       mmdebstrap --variant=minbase of bookworm (+ -updates, -security) from
#       deb.debian.org, merged /usr without the usrmerge package, slimmed like
#       the official image (no docs, man pages or locales), `podman import`ed. It is today's bookworm, not the
#       snapshot of that date.
#   docker.io/library/golang:X.Y.Z-bookworm
#       that Debian base + ca-certificates, git, netbase + the host's Go
#       toolchain (GOROOT, which must be goX.Y.Z) in /usr/local/go, with the
#       official image's environment (GOPATH=/go, PATH, GOTOOLCHAIN=local),
#       trusting the host's CA bundle (HTTPS to the Go proxy may go through
#       a TLS proxy here; SINDRI_HOST_CA_BUNDLE).
#       No gcc: every Go build of the Dockerfile has CGO_ENABLED=0.
# Both carry the label dev.sindri.local-base (what made them) and
# dev.sindri.base-key (a hash of their inputs: this script, the tag, the
# mirrors, the host's apt options, the Go toolchain). A base whose key
# matches is kept; with SINDRI_CONTAINER_CACHE set (CI), each base is also
# saved there as a tar (podman save) and loaded from it when podman's storage
# is empty, so a clean machine skips mmdebstrap.
#
# Podman: Debian's package, as root, run as
#   podman --runtime runc --cgroup-manager cgroupfs
# with `default_ulimits = []` under [containers] in containers.conf (the
# default nofile limit cannot be set in this sandbox). --setup installs
# podman and runc with apt when missing and writes that setting.
#
# Options:
#   --setup        install podman/runc (apt) and configure containers.conf
#   -f, --force    rebuild both bases
#   --print-keys   print the two cache keys and exit
#   -h, --help     this help
#
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (deb.debian.org),
# GOROOT (default: `go env GOROOT`), SINDRI_CONTAINER_CACHE (tar cache).
set -euo pipefail

# Bump when what this script puts into a base changes.
readonly RECIPE=1
readonly LABEL=dev.sindri.local-base
readonly KEY_LABEL=dev.sindri.base-key

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(dirname "$script_dir")
podman=(podman --runtime runc --cgroup-manager cgroupfs)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${SINDRI_CONTAINER_CACHE:-}

log() { printf '[container-bases] %s\n' "$*" >&2; }
die() { printf '[container-bases] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

force=0 print_keys=0 setup=0
while (($#)); do
	case $1 in
	--setup) setup=1; shift ;;
	-f | --force) force=1; shift ;;
	--print-keys) print_keys=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

# ------------------------------------------------------------- podman -----

setup_podman() {
	((EUID == 0)) || die "run as root (podman runs rootful here)"
	local missing=() p
	for p in podman runc; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "apt: installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
			podman runc >/tmp/container-bases-apt.log 2>&1 ||
			{ tail -n 20 /tmp/container-bases-apt.log >&2; die "apt-get install podman runc failed"; }
	fi
	local conf=/etc/containers/containers.conf
	if ! grep -qs '^[[:space:]]*default_ulimits[[:space:]]*=' "$conf"; then
		mkdir -p "$(dirname "$conf")"
		if grep -qs '^\[containers\]' "$conf"; then
			sed -i '0,/^\[containers\]/s//[containers]\ndefault_ulimits = []/' "$conf"
		else
			printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
		fi
		log "set default_ulimits = [] in $conf"
	fi
}

((setup)) && setup_podman
command -v podman >/dev/null || die "podman is not installed (run with --setup, or apt-get install podman runc)"

# -------------------------------------------------------------- names -----

dockerfile=$root_dir/Dockerfile
debian_ref=$(awk 'toupper($1) == "FROM" && $2 ~ /^debian:/ {print $2; exit}' "$dockerfile")
golang_ref=$(awk 'toupper($1) == "FROM" && $2 ~ /^golang:/ {print $2; exit}' "$dockerfile")
[[ $debian_ref =~ ^debian:(bookworm)-[0-9]{8}-slim$ ]] || die "no FROM debian:bookworm-YYYYMMDD-slim in $dockerfile"
suite=${BASH_REMATCH[1]}
[[ $golang_ref =~ ^golang:([0-9]+\.[0-9]+\.[0-9]+)-bookworm$ ]] || die "no FROM golang:X.Y.Z-bookworm in $dockerfile"
go_version=${BASH_REMATCH[1]}
debian_image=docker.io/library/$debian_ref
golang_image=docker.io/library/$golang_ref

goroot=${GOROOT:-$(go env GOROOT 2>/dev/null || true)}
[[ -x $goroot/bin/go ]] || die "no Go toolchain (set GOROOT): the $golang_ref base is made from it"
host_go=$("$goroot/bin/go" version | awk '{print $3}')
[[ $host_go == "go$go_version" ]] ||
	die "the Dockerfile's $golang_ref needs Go $go_version, $goroot has $host_go"

# The Go stages download modules over HTTPS, which may pass a TLS proxy
# here: the golang base trusts the host's CA bundle (a superset of
# Debian's), as go on the host does.
host_ca=${SINDRI_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[[ -r $host_ca ]] || die "no CA bundle at $host_ca (set SINDRI_HOST_CA_BUNDLE)"

# The host's apt may not check Release dates (a clock the mirror does not
# agree with); the base's apt must do the same to work here.
apt_opts=()
if apt-config dump 2>/dev/null | grep -q '^Acquire::Check-Valid-Until "false"'; then
	apt_opts+=(--aptopt='Acquire::Check-Valid-Until "false"')
fi

# Merged /usr by symlinks, as debuerreotype makes it (the usrmerge package
# would pull in perl: 50 MB), and what the official slim image leaves out
# (debuerreotype --slimify).
slim_opts=(
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/groff/*'
	--dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
	--dpkgopt='path-exclude=/usr/share/linda/*' --dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-include=/usr/share/locale/locale.alias'
	# and the official image's apt settings (debuerreotype's docker-clean,
	# docker-gzip-indexes, docker-no-languages): no 80 MB of package caches
	# left in every layer that runs apt-get.
	--aptopt='Dir::Cache::pkgcache ""' --aptopt='Dir::Cache::srcpkgcache ""'
	--aptopt='Acquire::GzipIndexes "true"' --aptopt='Acquire::Languages "none"'
)
sources=(
	"deb $mirror $suite main"
	"deb $mirror $suite-updates main"
)
[[ $security_mirror == none ]] || sources+=("deb $security_mirror $suite-security main")

debian_key=$( {
	sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
	printf 'recipe=%s ref=%s\n' "$RECIPE" "$debian_ref"
	printf '%s\n' "${sources[@]}" "${apt_opts[@]}" "${slim_opts[@]}"
} | sha256sum | cut -c1-16)
golang_key=$( {
	printf 'debian=%s ref=%s go=%s\n' "$debian_key" "$golang_ref" "$host_go"
	sha256sum "$goroot/VERSION" "$goroot/bin/go" "$host_ca" | cut -d' ' -f1
} | sha256sum | cut -c1-16)

if ((print_keys)); then
	printf '%s %s\n%s %s\n' "$debian_image" "$debian_key" "$golang_image" "$golang_key"
	exit 0
fi

# ------------------------------------------------------------- images -----

image_key() { "${podman[@]}" image inspect --format "{{index .Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null || true; }

# current IMAGE KEY NAME: true when the image carries the key, loading it
# from the tar cache when it is there.
current() {
	local image=$1 key=$2 tar=${cache:+$cache/$3-$2.tar}
	((force)) && return 1
	if [[ $(image_key "$image") == "$key" ]]; then
		[[ -z $tar || -f $tar ]] || save "$image" "$key" "$3"
		return 0
	fi
	if [[ -n $tar && -f $tar ]]; then
		log "loading $image from $tar"
		"${podman[@]}" load -q -i "$tar" >/dev/null && [[ $(image_key "$image") == "$key" ]] && return 0
	fi
	return 1
}

save() { # IMAGE KEY NAME
	[[ -n $cache ]] || return 0
	mkdir -p "$cache"
	rm -f "$cache/$3"-*.tar
	"${podman[@]}" save -q -o "$cache/$3-$2.tar.tmp" "$1" && mv "$cache/$3-$2.tar.tmp" "$cache/$3-$2.tar"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/container-bases.XXXXXX")
trap 'rm -rf "$work"' EXIT

if current "$debian_image" "$debian_key" debian; then
	log "up to date: $debian_image ($debian_key)"
else
	command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
	start=$SECONDS
	log "making $debian_image: mmdebstrap --variant=minbase $suite"
	mmdebstrap --quiet --variant=minbase "${apt_opts[@]}" "${slim_opts[@]}" \
		"$suite" "$work/rootfs.tar" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1 ||
		{ tail -n 20 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
	"${podman[@]}" import -q \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		--change "LABEL $LABEL=\"tools/container-bases.sh: mmdebstrap --variant=minbase $suite (today's packages, not the image of that date)\"" \
		--change "LABEL $KEY_LABEL=$debian_key" \
		"$work/rootfs.tar" "$debian_image" >/dev/null
	rm -f "$work/rootfs.tar"
	save "$debian_image" "$debian_key" debian
	log "made $debian_image in $((SECONDS - start))s"
fi

if current "$golang_image" "$golang_key" golang; then
	log "up to date: $golang_image ($golang_key)"
else
	start=$SECONDS
	log "making $golang_image from $debian_image and $goroot ($host_go)"
	cat >"$work/Containerfile" <<EOF
FROM $debian_image
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates git netbase \\
 && rm -rf /var/lib/apt/lists/*
RUN cp -a /opt/host-go /usr/local/go && mkdir -p /go/src /go/bin && chmod -R 1777 /go \
 && cp /opt/host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV GOLANG_VERSION=$go_version GOTOOLCHAIN=local GOPATH=/go \\
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
LABEL $LABEL="tools/container-bases.sh: $debian_ref + the host's Go toolchain ($host_go), not the Docker Hub image" \\
      $KEY_LABEL=$golang_key
EOF
	"${podman[@]}" build -q --pull=never --network=host --volume "$goroot:/opt/host-go:ro" --volume "$host_ca:/opt/host-ca.crt:ro" \
		-t "$golang_image" -f "$work/Containerfile" "$work" >"$work/build.log" 2>&1 ||
		{ tail -n 20 "$work/build.log" >&2; die "building $golang_image failed"; }
	save "$golang_image" "$golang_key" golang
	log "made $golang_image in $((SECONDS - start))s"
fi
