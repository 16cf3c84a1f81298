#!/usr/bin/env bash
# openscap-scan.sh - optional OpenSCAP XCCDF compliance scan of the image.
#
# Runs as root inside the image being built (Ubuntu 24.04 / Debian 12).
#
# Environment contract:
#   OPENSCAP_SCAN        "true" to scan; false-like or unset -> log and exit 0
#   OPENSCAP_PROFILE     XCCDF profile id
#                        (default xccdf_org.ssgproject.content_profile_cis_level1_server)
#   OPENSCAP_DATASTREAM  optional path of a datastream already on the VM; default:
#                        ssg-<ubuntu2404|debian12>-ds.xml from scap-security-guide
#   APT_LOCK_TIMEOUT     seconds to wait for apt/dpkg locks (default 600)
#
# Output: /var/log/sindri/openscap-results.xml and openscap-report.html
# (cleanup.sh leaves /var/log/sindri intact).
#
# oscap exits 0 when every rule passes and 2 when some rule fails; both are
# success here, a failing rule is a finding, not a build failure. Any other
# exit status fails the step. No scanner package, no content package, no
# datastream for this release, or the default profile missing from it ->
# logged skip (exit 0). An explicitly requested OPENSCAP_PROFILE that the
# datastream lacks is an error. Idempotent: re-running overwrites the reports.
set -euo pipefail

readonly SCRIPT="openscap-scan.sh"
log()  { printf '[%s] %s\n' "$SCRIPT" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$SCRIPT" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

is_true() { # is_true NAME DEFAULT
  local value=${!1:-$2}
  case "${value,,}" in
    true | 1 | yes | on) return 0 ;;
    false | 0 | no | off) return 1 ;;
    *) die "$1 must be true or false (got '${value}')" ;;
  esac
}

if ! is_true OPENSCAP_SCAN false; then
  log "OPENSCAP_SCAN is not true; skipping"
  exit 0
fi
[[ ${EUID} -eq 0 ]] || die "must run as root"

readonly DEFAULT_PROFILE=xccdf_org.ssgproject.content_profile_cis_level1_server
PROFILE=${OPENSCAP_PROFILE:-${DEFAULT_PROFILE}}
[[ ${PROFILE} =~ ^[A-Za-z0-9_.:-]+$ ]] || die "OPENSCAP_PROFILE '${PROFILE}' is not a valid XCCDF id"
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}
[[ ${APT_LOCK_TIMEOUT} =~ ^[0-9]+$ ]] || die "APT_LOCK_TIMEOUT must be a whole number of seconds"
export DEBIAN_FRONTEND=noninteractive

readonly OUT_DIR=/var/log/sindri
readonly RESULTS="${OUT_DIR}/openscap-results.xml"
readonly REPORT="${OUT_DIR}/openscap-report.html"

# --- apt helpers (see init.sh for why /proc is scanned instead of flock) ------
readonly APT_LOCKS=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock
                    /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
apt_locked() {
  if command -v fuser >/dev/null 2>&1; then
    fuser "${APT_LOCKS[@]}" >/dev/null 2>&1
    return
  fi
  local fd target lock
  for fd in /proc/[0-9]*/fd/*; do
    target=$(readlink "${fd}" 2>/dev/null) || continue
    for lock in "${APT_LOCKS[@]}"; do
      [[ ${target} == "${lock}" ]] && return 0
    done
  done
  return 1
}
wait_for_apt() {
  local waited=0
  while apt_locked; do
    if (( waited >= APT_LOCK_TIMEOUT )); then die "apt/dpkg still locked after ${APT_LOCK_TIMEOUT}s"; fi
    if (( waited == 0 )); then log "waiting for apt/dpkg locks"; fi
    sleep 5
    waited=$((waited + 5))
  done
}
apt_get() {
  local attempt
  for attempt in 1 2 3; do
    wait_for_apt
    if apt-get -y -q -o DPkg::Lock::Timeout="${APT_LOCK_TIMEOUT}" \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"; then
      return 0
    fi
    warn "apt-get $1 failed (attempt ${attempt}/3)"
    sleep 10
  done
  die "apt-get $* failed"
}
is_installed() {
  # shellcheck disable=SC2016 # ${...} is a dpkg-query format, not shell
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}
has_candidate() {
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
  [[ -n ${candidate} && ${candidate} != "(none)" ]]
}
install_if_available() { # install every listed package apt knows; prints nothing
  local pkg wanted=()
  for pkg in "$@"; do
    if is_installed "${pkg}"; then continue; fi
    if has_candidate "${pkg}"; then wanted+=("${pkg}"); fi
  done
  if (( ${#wanted[@]} > 0 )); then
    log "installing: ${wanted[*]}"
    apt_get install --no-install-recommends "${wanted[@]}"
  fi
}

# --- release ------------------------------------------------------------------
# Read in a subshell so os-release cannot clobber this script's variables.
# shellcheck disable=SC1091 # os-release exists on every target
read -r OS_ID PRODUCT < <(. /etc/os-release; v=${VERSION_ID:-}; printf '%s %s\n' "${ID:-unknown}" "${ID:-unknown}${v//./}")
log "scanning ${PRODUCT} with profile ${PROFILE}" # PRODUCT: ubuntu2404, debian12

# --- scanner and content ------------------------------------------------------
apt_get update >/dev/null
if ! command -v oscap >/dev/null 2>&1; then
  # The oscap binary lives in openscap-scanner on current releases and in
  # libopenscap8 on older ones; openscap-utils pulls in the scanner.
  for pkg in openscap-scanner libopenscap8 openscap-utils; do
    if has_candidate "${pkg}"; then install_if_available "${pkg}"; break; fi
  done
fi
command -v oscap >/dev/null 2>&1 || { log "no OpenSCAP scanner package available in apt; skipping scan"; exit 0; }

if [[ -n ${OPENSCAP_DATASTREAM:-} ]]; then
  [[ -f ${OPENSCAP_DATASTREAM} ]] || die "OPENSCAP_DATASTREAM=${OPENSCAP_DATASTREAM} does not exist"
  DS=${OPENSCAP_DATASTREAM}
else
  case ${OS_ID} in
    ubuntu) content=(ssg-debderived ssg-base scap-security-guide) ;;
    debian) content=(ssg-debian ssg-base scap-security-guide) ;;
    *)      content=(scap-security-guide) ;;
  esac
  install_if_available "${content[@]}"
  DS=""
  for dir in /usr/share/xml/scap/ssg/content /usr/share/scap-security-guide /usr/share/xml/scap/ssg; do
    for name in "ssg-${PRODUCT}-ds.xml" "ssg-${PRODUCT}-ds-1.2.xml"; do
      if [[ -f ${dir}/${name} ]]; then DS="${dir}/${name}"; break 2; fi
    done
  done
  if [[ -z ${DS} ]]; then
    log "no SCAP content for ${PRODUCT} (ssg-${PRODUCT}-ds.xml) in the installed packages; skipping scan"
    exit 0
  fi
fi
log "datastream: ${DS}"

if ! grep -qF "id=\"${PROFILE}\"" "${DS}"; then
  if [[ -z ${OPENSCAP_PROFILE:-} ]]; then
    log "default profile ${PROFILE} not in ${DS}; skipping scan"
    exit 0
  fi
  die "profile ${PROFILE} not found in ${DS}"
fi

# --- scan ---------------------------------------------------------------------
install -d -m 0750 "${OUT_DIR}"
rc=0
oscap xccdf eval --profile "${PROFILE}" --results "${RESULTS}" --report "${REPORT}" "${DS}" \
  >"${OUT_DIR}/openscap-eval.log" 2>&1 || rc=$?
chmod 0640 "${RESULTS}" "${REPORT}" "${OUT_DIR}/openscap-eval.log" 2>/dev/null || true

summary=$(grep -oE '<([A-Za-z0-9-]+:)?result>[a-z]+<' "${RESULTS}" 2>/dev/null |
          sed -E 's/.*>([a-z]+)</\1/' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }' || true)
case ${rc} in
  0) log "scan complete, all rules passed: ${summary}" ;;
  2) log "scan complete, some rules failed (findings, not a build failure): ${summary}" ;;
  *) tail -n 20 "${OUT_DIR}/openscap-eval.log" >&2 || true
     die "oscap exited ${rc}" ;;
esac
log "results: ${RESULTS}"
log "report:  ${REPORT}"
log "done"
