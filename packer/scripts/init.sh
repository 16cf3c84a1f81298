#!/usr/bin/env bash
# init.sh - first provisioning step: wait for the VM to settle, then install
# the base packages every later step relies on.
#
# Runs as root inside the image being built (Ubuntu 24.04 / Debian 12).
#
# Environment contract (all optional):
#   CLOUD_INIT_TIMEOUT  seconds to wait for `cloud-init status --wait` (default 600)
#   APT_LOCK_TIMEOUT    seconds to wait for apt/dpkg locks            (default 600)
#
# Idempotent: packages already installed are skipped; re-running only
# refreshes the apt lists.
set -euo pipefail

readonly SCRIPT="init.sh"
log()  { printf '[%s] %s\n' "$SCRIPT" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$SCRIPT" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

[[ ${EUID} -eq 0 ]] || die "must run as root"

uint_env() { # uint_env NAME DEFAULT: print $NAME (or DEFAULT) after checking it is a number
  local name=$1 value
  value=${!name:-$2}
  [[ ${value} =~ ^[0-9]+$ ]] || die "${name} must be a whole number of seconds (got '${value}')"
  printf '%s' "${value}"
}
CLOUD_INIT_TIMEOUT=$(uint_env CLOUD_INIT_TIMEOUT 600)
APT_LOCK_TIMEOUT=$(uint_env APT_LOCK_TIMEOUT 600)

export DEBIAN_FRONTEND=noninteractive
readonly BASE_PACKAGES=(ca-certificates curl git tar gzip jq sudo openssh-server)

# --- apt/dpkg lock handling ---------------------------------------------------
# apt takes fcntl() locks, which flock(1) cannot see, so "is somebody holding
# the lock file open" is the reliable test: fuser when psmisc is installed,
# otherwise a scan of /proc/*/fd (always available).
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
    if (( waited >= APT_LOCK_TIMEOUT )); then
      die "apt/dpkg still locked after ${APT_LOCK_TIMEOUT}s"
    fi
    if (( waited == 0 )); then log "waiting for apt/dpkg locks"; fi
    sleep 5
    waited=$((waited + 5))
  done
}
apt_get() { # apt_get ARGS...: apt-get with lock waiting and retries
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

# --- 1. cloud-init ------------------------------------------------------------
if command -v cloud-init >/dev/null 2>&1; then
  log "waiting for cloud-init (up to ${CLOUD_INIT_TIMEOUT}s)"
  rc=0
  timeout "${CLOUD_INIT_TIMEOUT}" cloud-init status --wait >/dev/null 2>&1 || rc=$?
  case ${rc} in
    0)   log "cloud-init finished" ;;
    124) warn "cloud-init still running after ${CLOUD_INIT_TIMEOUT}s; continuing" ;;
    *)   warn "cloud-init reported status ${rc} (error/degraded); continuing" ;;
  esac
else
  log "cloud-init not installed; nothing to wait for"
fi

# --- 2. apt -------------------------------------------------------------------
log "apt-get update"
apt_get update

missing=()
for pkg in "${BASE_PACKAGES[@]}"; do
  is_installed "${pkg}" || missing+=("${pkg}")
done
if (( ${#missing[@]} > 0 )); then
  log "installing: ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}"
else
  log "base packages already installed"
fi

log "done"
