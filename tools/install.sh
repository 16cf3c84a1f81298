#!/usr/bin/env bash
# Install the pinned sindri-packer toolchain into a project-local folder.
#
#   tools/install.sh [options] [APT_PACKAGE...]
#
# What it installs (versions: tools/versions.env, the single source of truth):
#   $SINDRI_TOOLS_DIR/bin/packer                       (default: <repo>/.tools)
#   $SINDRI_TOOLS_DIR/packer-plugins/github.com/hashicorp/<type>/
#       packer-plugin-<type>_v<X.Y.Z>_<api>_<os>_<arch>          (api: x5.0)
#       packer-plugin-<type>_v<X.Y.Z>_<api>_<os>_<arch>_SHA256SUM
#   Debian packages the tests need when missing: shellcheck, plus any given as
#   arguments, with --apt "a b", or in SINDRI_APT_PACKAGES (space/comma list).
#
# Packer and its plugins are built from source with the Go toolchain (the Go
# module proxy is the only source reachable): each one in a scratch module
# that requires the pinned module version. The normal Go caches are used
# (GOCACHE, GOMODCACHE), so CI can cache them.
#
# Source patches: <NAME>_GO_PATCH in versions.env (PACKER_GO_PATCH or
# PACKER_PLUGIN_<NAME>_GO_PATCH) lists files of tools/patches/ (comma-separated).
# Such a component is built from a `go mod vendor` copy of its dependencies
# with the patches applied there (git apply -p1, paths relative to vendor/,
# e.g. a/github.com/aliyun/alibaba-cloud-sdk-go/sdk/config.go), -mod=vendor.
# A patch that does not apply fails the build.
#
# Idempotent: every component has a stamp keyed by its module, version, build
# recipe, patches (their checksums) and platform; components whose stamp matches are not rebuilt, and a
# run with nothing to do only reads those stamps.
#
# Options:
#   -j, --jobs N    parallel builds (default: SINDRI_TOOLS_JOBS or 2)
#   -f, --force     rebuild every component
#       --apt PKGS  extra Debian packages (space or comma separated)
#       --no-apt    do not check/install Debian packages (or SINDRI_SKIP_APT=1)
#   -q, --quiet     do not print the export hints at the end
#   -h, --help      this help
#
# Afterwards: `source tools/env.sh` (sets PATH, PACKER_PLUGIN_PATH,
# CHECKPOINT_DISABLE=1 and PACKER_CHECKPOINT_DISABLE=1).
set -euo pipefail

# Bump when the way binaries are built changes, to force a rebuild.
readonly RECIPE=1
# Needed by the tests: shellcheck to lint; the rest build and boot the local QEMU target (tests and
# the README main job): tools/qemu-base-image.sh, Packer's qemu builder, SSH;
# ruby checks the InSpec profile's syntax (ruby -c).
readonly BASE_APT_PACKAGES=(shellcheck qemu-system-x86 qemu-utils xorriso mmdebstrap e2fsprogs fdisk openssh-client ruby)

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root_dir=$(dirname "$script_dir")
versions_file=${SINDRI_VERSIONS_FILE:-$script_dir/versions.env}
tools_dir=${SINDRI_TOOLS_DIR:-$root_dir/.tools}
jobs=${SINDRI_TOOLS_JOBS:-2}
force=0
quiet=0
do_apt=1
[[ ${SINDRI_SKIP_APT:-0} == 1 ]] && do_apt=0
apt_extra=()

log() { printf '[tools] %s\n' "$*"; }
die() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

add_apt_list() { # "a b,c" -> apt_extra+=(a b c)
	local item
	for item in ${1//,/ }; do
		[[ -n $item ]] && apt_extra+=("$item")
	done
	return 0
}

while (($#)); do
	case $1 in
	-j | --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
	-f | --force) force=1; shift ;;
	--apt) add_apt_list "${2:?--apt needs a package list}"; shift 2 ;;
	--no-apt) do_apt=0; shift ;;
	-q | --quiet) quiet=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; for p in "$@"; do add_apt_list "$p"; done; break ;;
	-*) die "unknown option: $1 (see --help)" ;;
	*) add_apt_list "$1"; shift ;;
	esac
done
add_apt_list "${SINDRI_APT_PACKAGES:-}"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$jobs'"

# ---------------------------------------------------------------- apt ------

ensure_apt_packages() {
	local pkgs=("${BASE_APT_PACKAGES[@]}" "${apt_extra[@]}") missing=() p status
	for p in "${pkgs[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[[ $status == ii* ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "missing Debian packages (${missing[*]}) and not root"
		sudo=(sudo)
	fi
	log "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Wait for a dpkg lock held by another apt run instead of failing.
	local lock=(-o DPkg::Lock::Timeout=300)
	local apt_log
	apt_log=$(mktemp)
	if ! { "${sudo[@]}" apt-get "${lock[@]}" update -qq &&
		"${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
		tail -n 20 "$apt_log" >&2
		rm -f "$apt_log"
		die "apt-get failed for: ${missing[*]}"
	fi
	rm -f "$apt_log"
	log "apt: installed ${missing[*]}"
}

if ((do_apt)); then
	command -v dpkg-query >/dev/null || die "dpkg-query not found: use --no-apt on non-Debian systems"
	ensure_apt_packages
fi

# ----------------------------------------------------------- versions ------

declare -A V=()
plugins=()
[[ -r $versions_file ]] || die "cannot read $versions_file"
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
	lineno=$((lineno + 1))
	[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
	[[ $line =~ ^([A-Z][A-Z0-9_]*)=([^[:space:]\"\'\$\`]*)$ ]] ||
		die "$versions_file:$lineno: expected KEY=value, got: $line"
	V[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	if [[ ${BASH_REMATCH[1]} =~ ^PACKER_PLUGIN_([A-Z0-9]+)_VERSION$ ]]; then
		plugins+=("${BASH_REMATCH[1],,}")
	fi
done <"$versions_file"
[[ -n ${V[PACKER_VERSION]:-} ]] || die "PACKER_VERSION missing in $versions_file"

case $(uname -s) in
Linux) goos=linux ;;
Darwin) goos=darwin ;;
*) die "unsupported OS $(uname -s)" ;;
esac
case $(uname -m) in
x86_64 | amd64) goarch=amd64 ;;
aarch64 | arm64) goarch=arm64 ;;
*) die "unsupported architecture $(uname -m)" ;;
esac

bin_dir=$tools_dir/bin
plugin_root=$tools_dir/packer-plugins
stamp_dir=$tools_dir/stamps
build_dir=$tools_dir/build

# Component table: name -> module, version, go replaces, install check file.
declare -A C_MOD=() C_VER=() C_REPL=() C_PATCH=() C_PATCHSUM=()
patches_dir=$script_dir/patches
components=(packer)
C_MOD[packer]=${V[PACKER_MODULE]:-github.com/hashicorp/packer}
C_VER[packer]=${V[PACKER_VERSION]}
C_REPL[packer]=${V[PACKER_GO_REPLACE]:-}
C_PATCH[packer]=${V[PACKER_GO_PATCH]:-}
for p in "${plugins[@]}"; do
	u=${p^^}
	components+=("$p")
	C_MOD[$p]=${V[PACKER_PLUGIN_${u}_MODULE]:-github.com/hashicorp/packer-plugin-$p}
	C_VER[$p]=${V[PACKER_PLUGIN_${u}_VERSION]}
	C_REPL[$p]=${V[PACKER_PLUGIN_${u}_GO_REPLACE]:-}
	C_PATCH[$p]=${V[PACKER_PLUGIN_${u}_GO_PATCH]:-}
	[[ ${C_VER[$p]} =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "PACKER_PLUGIN_${u}_VERSION must be X.Y.Z"
done

# Patches: each named file must exist; its checksum goes into the stamp, so
# editing a patch rebuilds that component (and only it).
for c in "${components[@]}"; do
	sums=""
	for f in ${C_PATCH[$c]//,/ }; do
		[[ $f =~ ^[A-Za-z0-9][A-Za-z0-9._-]*\.patch$ ]] ||
			die "$c: GO_PATCH entry '$f' in $versions_file must be a file name *.patch in tools/patches/"
		[[ -r $patches_dir/$f ]] || die "$c: GO_PATCH file $patches_dir/$f not found"
		sums+="${sums:+,}$f@$(sha256sum "$patches_dir/$f" | cut -d' ' -f1)"
	done
	C_PATCHSUM[$c]=$sums
done

stamp_key() { # what a component's installed binary depends on
	# (patch= only when patched: unpatched components keep their old stamps)
	printf 'recipe=%s module=%s version=%s replace=%s%s platform=%s_%s\n' \
		"$RECIPE" "${C_MOD[$1]}" "${C_VER[$1]}" "${C_REPL[$1]}" \
		"${C_PATCHSUM[$1]:+ patch=${C_PATCHSUM[$1]}}" "$goos" "$goarch"
}

is_current() {
	local name=$1 stamp=$stamp_dir/$1 key="" installed=""
	[[ -f $stamp ]] || return 1
	# Line 1: the key; line 2: the installed binary, which must still exist
	# (with its checksum file, for plugins).
	{ IFS= read -r key && IFS= read -r installed; } <"$stamp" || return 1
	[[ $key == "$(stamp_key "$name")" ]] || return 1
	[[ -n $installed && -x $installed ]] || return 1
	[[ $name == packer || -f ${installed}_SHA256SUM ]]
}

print_hints() {
	((quiet)) && return 0
	cat <<EOF
[tools] to use them in this shell:
export PATH="$bin_dir:\$PATH"
export PACKER_PLUGIN_PATH="$plugin_root"
export CHECKPOINT_DISABLE=1 PACKER_CHECKPOINT_DISABLE=1
[tools] (or: source ${script_dir#"$PWD"/}/env.sh)
EOF
}

todo() {
	local c
	pending=()
	for c in "${components[@]}"; do
		if ((force)) || ! is_current "$c"; then pending+=("$c"); fi
	done
}

todo
if ((${#pending[@]} == 0)); then
	log "up to date: packer ${C_VER[packer]} + ${#plugins[@]} plugins in $tools_dir"
	print_hints
	exit 0
fi

# ------------------------------------------------------------- build -------

mkdir -p "$bin_dir" "$plugin_root" "$stamp_dir" "$build_dir/logs"
# Serialise concurrent installs into the same folder, then look again: the
# other run may have done the work.
exec 9>"$tools_dir/.lock"
if command -v flock >/dev/null; then
	flock -n 9 || { log "waiting for another install into $tools_dir"; flock 9; }
	if ((!force)); then todo; fi
	if ((${#pending[@]} == 0)); then
		log "up to date (installed by a concurrent run)"
		print_hints
		exit 0
	fi
fi

if [[ -n ${GO:-} ]]; then
	go_bin=$GO
elif command -v go >/dev/null; then
	go_bin=$(command -v go)
elif [[ -x /usr/local/go/bin/go ]]; then
	go_bin=/usr/local/go/bin/go
else
	die "Go toolchain not found (set GO=/path/to/go)"
fi
log "Go: $("$go_bin" version | cut -d' ' -f3-)  cache: $("$go_bin" env GOCACHE)  modules: $("$go_bin" env GOMODCACHE)"

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

# build_component NAME: build in a scratch module, install, write the stamp.
# Runs in a background subshell; all tool output goes to the log file.
build_component() {
	local name=$1 mod=${C_MOD[$1]} ver=${C_VER[$1]} start=$SECONDS
	local work=$build_dir/$name logf=$build_dir/logs/$name.log r
	local ldflags="-s -w" out modflag=() f
	log "$name v$ver: building ($mod)"
	rm -rf "$work" && mkdir -p "$work"
	: >"$logf"
	if [[ $name != packer ]]; then
		# What the plugins' own release builds (goreleaser) set.
		ldflags+=" -X $mod/version.Version=$ver -X $mod/version.VersionPrerelease="
	fi
	# (errexit does not apply inside a `||` list: every step checks itself.)
	(
		cd "$work" || exit 1
		"$go_bin" mod init "sindri-tools-build/$name" || exit 1
		for r in ${C_REPL[$name]//,/ }; do
			"$go_bin" mod edit -replace="$r" || exit 1
		done
		"$go_bin" get "$mod@v$ver" || exit 1
		if [[ -n ${C_PATCH[$name]} ]]; then
			# Vendor what the command imports (a tools.go pins it), patch the copy.
			printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$mod" >tools.go
			"$go_bin" mod vendor || exit 1
			for f in ${C_PATCH[$name]//,/ }; do
				echo "applying $patches_dir/$f"
				# (the ceiling keeps git from treating an enclosing repository as the root)
				(cd vendor && GIT_CEILING_DIRECTORIES=$work git apply -p1 --verbose "$patches_dir/$f") || exit 1
			done
			modflag=(-mod=vendor)
		fi
		"$go_bin" build "${modflag[@]}" -trimpath -ldflags="$ldflags" -o "$work/out" "$mod"
	) >>"$logf" 2>&1 || {
		log "$name v$ver: BUILD FAILED, last lines of $logf:"
		tail -n 25 "$logf" | sed 's/^/    /'
		echo
		return 1
	}

	if [[ $name == packer ]]; then
		"$work/out" version >>"$logf" 2>&1 || { log "packer: built binary does not run"; return 1; }
		grep -q "Packer v$ver" "$logf" || { log "packer: built binary is not v$ver"; return 1; }
		out=$bin_dir/packer
		mv -f "$work/out" "$out"
	else
		local desc api dir base
		desc=$("$work/out" describe 2>>"$logf") || { log "$name: 'describe' failed"; return 1; }
		echo "describe: $desc" >>"$logf"
		api=$(sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p' <<<"$desc")
		[[ $api =~ ^x[0-9]+\.[0-9]+$ ]] || { log "$name: no api_version in: $desc"; return 1; }
		grep -q "\"version\":\"$ver\"" <<<"$desc" ||
			log "$name: warning: plugin reports another version: $desc"
		dir=$plugin_root/github.com/hashicorp/$name
		base=packer-plugin-${name}_v${ver}_${api}_${goos}_${goarch}
		mkdir -p "$dir"
		rm -f "$dir"/packer-plugin-"${name}"_v*   # older versions of this plugin
		out=$dir/$base
		# Checksum first, then the binary under its final name.
		sha256sum "$work/out" | cut -d' ' -f1 >"${out}_SHA256SUM"
		mv -f "$work/out" "$out"
	fi
	chmod 0755 "$out"
	{ stamp_key "$name"; echo "$out"; } >"$stamp_dir/$name"
	rm -rf "$work"
	log "$name v$ver: installed in $((SECONDS - start))s"
}

# Drop plugins that versions.env no longer lists.
for d in "$plugin_root"/github.com/hashicorp/*/; do
	[[ -d $d ]] || continue
	n=$(basename "$d")
	if [[ -z ${C_VER[$n]:-} ]]; then
		log "removing plugin $n (no longer pinned)"
		rm -rf "${d:?}" "${stamp_dir:?}/${n:?}"
	fi
done

total_start=$SECONDS
log "building ${#pending[@]} component(s) with $jobs parallel job(s): ${pending[*]}"
# Packer is by far the longest build: it is first in the list so it starts
# at once while the plugins share the other slot(s).
for c in "${pending[@]}"; do
	while (($(jobs -rp | wc -l) >= jobs)); do
		wait -n || true
	done
	build_component "$c" &
done
wait || true

failed=()
for c in "${pending[@]}"; do
	is_current "$c" || failed+=("$c")
done
((${#failed[@]} == 0)) || die "failed: ${failed[*]} (logs in $build_dir/logs)"
log "done in $((SECONDS - total_start))s"
print_hints
