#!/usr/bin/env bash
# bench/build.sh - prints, in one run:
#   1. the wall time of 5 parallel real packer builds of ~3 s each versus one
#      such build (test-only null-builder targets; goal: ratio <= 1.2);
#   2. the wall time of a fully cached `sindri-packer build` of the qemu
#      target, through the real binary (goal: under 0.5 s). The image store
#      entry it finds is a fixture placed under the config hash that
#      `build --dry-run` reports; the lookup does not read the image.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
# shellcheck source=tools/env.sh
source tools/env.sh

echo "== 5 parallel builds vs 1 (real packer, null builder, ~3 s each)"
go test -run '^$' -bench ParallelBuilds -benchtime 1x ./internal/pipeline | grep Benchmark

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/sindri-packer" ./cmd/sindri-packer
export XDG_CACHE_HOME="$work/cache"
cd "$work"
head -c 1048576 /dev/urandom >base.qcow2
sha256sum base.qcow2 >base.qcow2.sha256
cat >sindri.yaml <<'YAML'
provider: packer
packer:
  cloud: qemu
  base_image: base.qcow2
  accelerator: tcg
  build:
    sindri_version: 3.0.1
YAML
./sindri-packer build --dry-run --manifest plan.json >/dev/null
hash=$(sed -n 's/.*"config_hash": "\([0-9a-f]\{64\}\)".*/\1/p' plan.json | tail -1)
mkdir -p ".cache/images/$hash"
: >".cache/images/$hash/image.qcow2"
printf '{"config_hash":"%s","name":"fixture","run_id":"bench","created":"2026-01-01T00:00:00Z"}\n' "$hash" >".cache/images/$hash/image.json"

now() { date +%s.%N; }
times=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(now)
  ./sindri-packer build >/dev/null 2>&1
  t1=$(now)
  times+=("$(echo "$t1 - $t0" | bc -l)")
done
grep -q '"status": "cached"' sindri-manifest.json || { echo "the build was not cached" >&2; exit 1; }
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "== fully cached build (median of $RUNS)"
printf 'sindri-packer build, cached: %.3f s (goal: under 0.5 s)\n' "$median"
