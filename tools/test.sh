#!/usr/bin/env bash
# tools/test.sh - run every test of sindri-packer: vet, unit and integration
# tests with the race detector and coverage (the real packer and plugins from
# tools/install.sh), the fuzz targets briefly, and the coverage floor.
#
#   tools/install.sh && tools/test.sh
#
# FUZZTIME (default 10s) is how long each fuzz target runs; SINDRI_E2E=0
# skips the end-to-end QEMU builds (e2e/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/env.sh
source tools/env.sh

FUZZTIME=${FUZZTIME:-10s}
MIN_COVERAGE=${MIN_COVERAGE:-80}
export CI=${CI:-true} # tests that need the installed tools must not skip
# The end-to-end tests build and boot real QEMU images (minutes under TCG).
export SINDRI_E2E=${SINDRI_E2E:-1}

echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted=$(gofmt -l cmd internal scripts tools e2e ./*.go)
if [[ -n $unformatted ]]; then
  echo "not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== shellcheck"
shellcheck -x scripts/*.sh tools/*.sh bench/*.sh .ci/run

echo "== go test -race -cover"
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
go test -race -timeout 90m -coverprofile="$profile" ./...
# The wire-level test doubles of the clouds (internal/cloud/<name>/<name>fake)
# and the cloud test helpers are test code that happens to live in packages
# (several test packages import them): they do not count as product code.
grep -Ev '/internal/cloud/[a-z]+/[a-z]+fake/|/internal/cloud/cloudtest/' "$profile" >"$profile.product"
mv "$profile.product" "$profile"
total=$(go tool cover -func="$profile" | awk '/^total:/ {sub("%", "", $3); print $3}')
echo "total coverage: ${total}%"
if ! awk -v t="$total" -v m="$MIN_COVERAGE" 'BEGIN { exit !(t >= m) }'; then
  echo "coverage ${total}% is below ${MIN_COVERAGE}%" >&2
  exit 1
fi

echo "== fuzz (${FUZZTIME} each)"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  while read -r target; do
    [[ -n $target ]] || continue
    echo "-- $pkg $target"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done < <(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u)
done
echo "== all tests passed"
