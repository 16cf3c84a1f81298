#!/usr/bin/env bash
# run-ansible.sh - run the configured Ansible playbook against the image
# itself (connection local), after Sindri is installed.
#
# Runs as root inside the image being built.
#
# Environment contract:
#   SINDRI_PLAYBOOK   path of the playbook uploaded to the VM (required)
#   APT_LOCK_TIMEOUT  seconds to wait for apt/dpkg locks (default 600)
#
# ansible-core comes from the distribution's packages; when this script had
# to install it, it removes it again afterwards so the image stays lean.
set -euo pipefail

readonly SCRIPT="run-ansible.sh"
log() { printf '[%s] %s\n' "$SCRIPT" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

PLAYBOOK=${SINDRI_PLAYBOOK:-}
[[ -n ${PLAYBOOK} ]] || die "SINDRI_PLAYBOOK is not set"
[[ -f ${PLAYBOOK} ]] || die "playbook ${PLAYBOOK} does not exist on the VM"

export DEBIAN_FRONTEND=noninteractive

wait_for_apt() {
  local deadline=$((SECONDS + ${APT_LOCK_TIMEOUT:-600}))
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "apt/dpkg is still locked after ${APT_LOCK_TIMEOUT:-600}s"
    log "waiting for apt/dpkg locks"
    sleep 3
  done
}

installed_here=false
if ! command -v ansible-playbook >/dev/null 2>&1; then
  log "installing ansible-core"
  wait_for_apt
  apt-get update -q
  wait_for_apt
  apt-get install -y -q --no-install-recommends ansible-core
  installed_here=true
fi

log "running ${PLAYBOOK}"
ansible-playbook --inventory localhost, --connection local "${PLAYBOOK}"
rm -f -- "${PLAYBOOK}"

if [[ ${installed_here} == true ]]; then
  log "removing ansible-core again"
  wait_for_apt
  apt-get purge -y -q --auto-remove ansible-core
fi
log "done"
