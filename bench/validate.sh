#!/usr/bin/env bash
# bench/validate.sh - wall time of `sindri-packer validate` over all six
# targets versus bare `packer validate` on the same pre-rendered folders with
# the same parallelism (all six at once), in one run on this machine.
#
# Goal (issue 2): validate under 2.5 s wall, at most 1.15x bare Packer.
# Prints the median of RUNS runs (default 5) of each, cold and warm: "cold"
# clears sindri-packer's result cache (packer fmt / shellcheck) first,
# "warm" is a repeated validate of unchanged files, the PR-check case.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

# shellcheck source=tools/env.sh
source tools/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/sindri-packer" ./cmd/sindri-packer
cp internal/validate/testdata/all-clouds.yaml "$work/sindri.yaml"
export XDG_CACHE_HOME="$work/cache"
"$work/sindri-packer" validate -c "$work/sindri.yaml" --out "$work/rendered" >/dev/null

# The same clearly fake credentials validate uses, for bare packer.
mkdir -p "$work/home/.oci"
openssl genrsa -out "$work/home/.oci/key.pem" 2048 2>/dev/null
printf '[DEFAULT]\nuser=ocid1.user.oc1..fake\nfingerprint=00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\ntenancy=ocid1.tenancy.oc1..fake\nregion=us-ashburn-1\nkey_file=%s\n' \
  "$work/home/.oci/key.pem" >"$work/home/.oci/config"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bare() {
  local pids=() c
  for c in aws azure gcp oci alibaba qemu; do
    # Only the oci template declares this variable; packer rejects an
    # undeclared -var, which would make the bare runs fail fast.
    local oci=()
    [[ $c == oci ]] && oci=(-var "oci_access_cfg_file=$work/home/.oci/config")
    (cd "$work" && env -i PATH="$PATH" PACKER_PLUGIN_PATH="$PACKER_PLUGIN_PATH" HOME="$work/home" \
      CHECKPOINT_DISABLE=1 ALICLOUD_ACCESS_KEY=fake ALICLOUD_SECRET_KEY=fake \
      packer validate "${oci[@]}" "rendered/$c" >/dev/null) &
    pids+=($!)
  done
  # A failing run would measure nothing: every validate must pass.
  for p in "${pids[@]}"; do wait "$p" || { echo "bare packer validate failed" >&2; exit 1; }; done
}

ours() { "$work/sindri-packer" validate -c "$work/sindri.yaml" >/dev/null || { echo "sindri-packer validate failed" >&2; exit 1; }; }

time_runs() { # name, function, [pre-step]
  local i t0 t1
  for ((i = 0; i < RUNS; i++)); do
    [[ -n ${3:-} ]] && $3
    t0=$(now); $2; t1=$(now)
    echo "$t1 - $t0" | bc -l
  done | median
}

clear_cache() { rm -rf "$XDG_CACHE_HOME"; }

bare_t=$(time_runs bare bare)
cold_t=$(time_runs cold ours clear_cache)
ours >/dev/null
warm_t=$(time_runs warm ours)

printf 'bare packer validate x6 (parallel):   %.2f s\n' "$bare_t"
printf 'sindri-packer validate, cold cache:   %.2f s  (%.2fx bare)\n' "$cold_t" "$(echo "$cold_t / $bare_t" | bc -l)"
printf 'sindri-packer validate, warm cache:   %.2f s  (%.2fx bare)\n' "$warm_t" "$(echo "$warm_t / $bare_t" | bc -l)"
printf 'goal: under 2.5 s wall and at most 1.15x bare\n'
