#!/usr/bin/env bash
# cleanup.sh - last provisioning step: strip per-build and per-instance state
# so every VM started from the image gets its own identity.
#
# Runs as root inside the image being built (Ubuntu 24.04 / Debian 12).
#
# Environment contract (all optional):
#   CLEAN_SENSITIVE_DATA  default true: remove shell histories, /tmp and
#                         /var/tmp contents (except this script), uploaded
#                         archives, Packer env/var files, /root/.cache, the
#                         systemd random seed, DHCP leases; empty the logs
#                         under /var/log (rotated logs deleted; the journal is
#                         vacuumed; /var/log/sindri scan reports are kept)
#   REMOVE_SSH_KEYS       default true: remove /etc/ssh/ssh_host_* and the
#                         authorized_keys of root, /home/* and SINDRI_USER, and
#                         install sindri-regenerate-host-keys.service so keys
#                         are recreated at first boot even without cloud-init
#   SINDRI_USER           login user whose home is cleaned too (useful when it
#                         is not under /home); default: none beyond /home/*
#   SINDRI_ARCHIVE        path of the uploaded sindri archive, removed with
#                         CLEAN_SENSITIVE_DATA
#   APT_LOCK_TIMEOUT      seconds to wait for apt/dpkg locks (default 600)
#
# Always: apt-get autoremove + clean, cloud-init clean, empty machine-id,
# sync. Idempotent: every step is a removal or an overwrite.
#
# Safe for the running Packer session: established SSH connections do not
# need host keys or authorized_keys any more.
set -euo pipefail

readonly SCRIPT="cleanup.sh"
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

[[ ${EUID} -eq 0 ]] || die "must run as root"
# Validate both flags up front so a typo fails before anything is removed.
CLEAN=false; if is_true CLEAN_SENSITIVE_DATA true; then CLEAN=true; fi
REMOVE_KEYS=false; if is_true REMOVE_SSH_KEYS true; then REMOVE_KEYS=true; fi
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}
[[ ${APT_LOCK_TIMEOUT} =~ ^[0-9]+$ ]] || die "APT_LOCK_TIMEOUT must be a whole number of seconds"
export DEBIAN_FRONTEND=noninteractive
shopt -s nullglob

SELF=$(readlink -f "${BASH_SOURCE[0]}")

# Homes to clean: root, everything under /home, and SINDRI_USER's home.
HOMES=(/root /home/*/)
HOMES=("${HOMES[@]%/}")
if [[ -n ${SINDRI_USER:-} ]]; then
  [[ ${SINDRI_USER} =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "SINDRI_USER '${SINDRI_USER}' is not a valid user name"
  user_home=$(getent passwd "${SINDRI_USER}" | cut -d: -f6 || true)
  if [[ -n ${user_home} && -d ${user_home} && ${user_home} != / ]]; then HOMES+=("${user_home%/}"); fi
fi
mapfile -t HOMES < <(printf '%s\n' "${HOMES[@]}" | awk '!seen[$0]++')

systemd_running() { [[ -d /run/systemd/system ]]; }

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

# --- 1. apt -------------------------------------------------------------------
log "apt-get autoremove + clean"
apt_get autoremove >/dev/null
apt_get clean

# --- 2. cloud-init ------------------------------------------------------------
if command -v cloud-init >/dev/null 2>&1; then
  log "cloud-init clean --logs --seed"
  cloud-init clean --logs --seed || warn "cloud-init clean failed"
else
  rm -rf /var/lib/cloud/instances /var/lib/cloud/instance
fi

# --- 3. machine identity ------------------------------------------------------
# An empty (not missing) /etc/machine-id makes systemd generate a new one at
# first boot; dbus reads it through the symlink.
truncate -s 0 /etc/machine-id
chmod 0444 /etc/machine-id
if [[ -d /var/lib/dbus ]]; then
  rm -f /var/lib/dbus/machine-id
  ln -s /etc/machine-id /var/lib/dbus/machine-id
fi
log "machine-id emptied"

# --- 4. SSH keys --------------------------------------------------------------
if [[ ${REMOVE_KEYS} == true ]]; then
  rm -f /etc/ssh/ssh_host_*
  for home in "${HOMES[@]}"; do
    rm -f "${home}/.ssh/authorized_keys" "${home}/.ssh/authorized_keys2"
  done
  log "removed SSH host keys and authorized_keys (${HOMES[*]})"

  # cloud-init regenerates host keys on first boot; this unit covers images
  # without it (or with it disabled). It runs after cloud-init and is a no-op
  # when keys already exist.
  if [[ -d /etc/systemd/system ]]; then
    unit=/etc/systemd/system/sindri-regenerate-host-keys.service
    cat >"${unit}.tmp" <<'EOF'
# Managed by sindri-packer cleanup.sh
[Unit]
Description=Regenerate SSH host keys on first boot (sindri image)
DefaultDependencies=no
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
After=local-fs.target cloud-init.service
Before=ssh.socket ssh.service sshd.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
EOF
    chmod 0644 "${unit}.tmp"
    mv -f "${unit}.tmp" "${unit}"
    if ! systemctl enable "$(basename "${unit}")" >/dev/null 2>&1; then
      mkdir -p /etc/systemd/system/multi-user.target.wants
      ln -sfn "${unit}" /etc/systemd/system/multi-user.target.wants/
    fi
    if systemd_running; then systemctl daemon-reload || true; fi
    log "enabled sindri-regenerate-host-keys.service"
  else
    warn "no systemd: host keys will not be regenerated automatically"
  fi
else
  log "REMOVE_SSH_KEYS is false; keeping SSH keys"
fi

# --- 5. sensitive data --------------------------------------------------------
if [[ ${CLEAN} == true ]]; then
  for home in "${HOMES[@]}"; do
    rm -f "${home}"/.{bash,zsh,python,sqlite,mysql,psql}_history \
          "${home}/.lesshst" "${home}/.viminfo" "${home}/.wget-hsts"
  done
  rm -rf /root/.cache
  log "removed shell histories and /root/.cache"

  if [[ -n ${SINDRI_ARCHIVE:-} && -f ${SINDRI_ARCHIVE} ]]; then
    rm -f "${SINDRI_ARCHIVE}" "${SINDRI_ARCHIVE}.sha256"
    log "removed ${SINDRI_ARCHIVE}"
  fi
  for home in "${HOMES[@]}"; do
    rm -f "${home}"/sindri-v*-linux-*.tar.gz "${home}"/sindri-v*-linux-*.tar.gz.sha256
  done

  # /tmp and /var/tmp, keeping the entry that holds this script (Packer runs it
  # from there and removes it itself) and live services' PrivateTmp dirs.
  # This also takes Packer's uploaded scripts, var/env files (varfile_*,
  # packer-*) and any archives uploaded there.
  for dir in /tmp /var/tmp; do
    while IFS= read -r -d '' entry; do
      [[ ${SELF} == "${entry}" || ${SELF} == "${entry}/"* ]] && continue
      rm -rf -- "${entry}"
    done < <(find "${dir}" -mindepth 1 -maxdepth 1 ! -name 'systemd-private-*' -print0)
  done
  log "emptied /tmp and /var/tmp"

  rm -f /var/lib/systemd/random-seed /var/lib/dhcp/*.leases /var/lib/dhclient/*.leases

  # Logs: vacuum the journal through journald (truncating its mmapped files
  # under it would crash it), delete rotated logs, empty the rest.
  if systemd_running && command -v journalctl >/dev/null 2>&1; then
    journalctl --rotate >/dev/null 2>&1 || true
    journalctl --vacuum-time=1s >/dev/null 2>&1 || true
  else
    find /var/log/journal -type f -name '*.journal*' -delete 2>/dev/null || true
  fi
  find /var/log -type f ! -path '/var/log/journal/*' ! -path '/var/log/sindri/*' \
    \( -name '*.gz' -o -name '*.xz' -o -name '*.zst' -o -name '*.old' -o -name '*.[0-9]' \) -delete
  find /var/log -type f ! -path '/var/log/journal/*' ! -path '/var/log/sindri/*' -exec truncate -s 0 {} +
  log "emptied /var/log (kept /var/log/sindri)"
else
  log "CLEAN_SENSITIVE_DATA is false; keeping histories, temp files and logs"
fi

sync
log "done"
