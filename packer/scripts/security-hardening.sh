#!/usr/bin/env bash
# security-hardening.sh - CIS-style baseline hardening of the image.
#
# Runs as root inside the image being built (Ubuntu 24.04 / Debian 12).
#
# Environment contract:
#   CIS_HARDENING     "true" to harden; anything false-like or unset -> log and
#                     exit 0 (accepted: true/false, 1/0, yes/no, on/off)
#   APT_LOCK_TIMEOUT  seconds to wait for apt/dpkg locks (default 600)
#
# What it does (every file is written whole, never appended, so re-running
# converges on the same state):
#   * /etc/issue, /etc/issue.net       authorized-use banner
#   * /etc/ssh/sshd_config.d/50-sindri-hardening.conf (+ Include line in
#     sshd_config only if missing), validated with `sshd -t` before reload;
#     a failed validation restores the previous files
#   * /etc/sysctl.d/60-sindri-hardening.conf, applied with `sysctl --system`
#   * /etc/modprobe.d/60-sindri-cis.conf (cramfs freevxfs jffs2 hfs hfsplus
#     udf; squashfs stays enabled for snaps; udf stays enabled on Azure, whose
#     provisioning media is UDF)
#   * auditd and audispd-plugins installed, auditd enabled, rules in /etc/audit/rules.d/60-sindri.rules
#   * ufw: deny incoming, allow outgoing, allow the sshd port(s), enabled;
#     IPT_SYSCTL emptied in /etc/default/ufw so ufw never overrides sysctl.d
#   * purges telnet/rsh-client/nis/talk if installed (never if apt would also
#     remove anything else)
#   * modes of /etc/passwd, group, shadow, gshadow (and their "-" backups)
#
# The running SSH session survives: sshd reload keeps established
# connections, and ufw allows SSH before it is enabled (established
# connections are accepted by ufw's conntrack rules).
set -euo pipefail

readonly SCRIPT="security-hardening.sh"
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

if ! is_true CIS_HARDENING false; then
  log "CIS_HARDENING is not true; skipping"
  exit 0
fi
[[ ${EUID} -eq 0 ]] || die "must run as root"

APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}
[[ ${APT_LOCK_TIMEOUT} =~ ^[0-9]+$ ]] || die "APT_LOCK_TIMEOUT must be a whole number of seconds"
export DEBIAN_FRONTEND=noninteractive

TMPFILES=()
cleanup() { if (( ${#TMPFILES[@]} > 0 )); then rm -rf "${TMPFILES[@]}"; fi; }
trap cleanup EXIT

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
is_installed() {
  # shellcheck disable=SC2016 # ${...} is a dpkg-query format, not shell
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}
APT_UPDATED=false
ensure_packages() {
  local pkg missing=()
  for pkg in "$@"; do is_installed "${pkg}" || missing+=("${pkg}"); done
  (( ${#missing[@]} > 0 )) || return 0
  if [[ ${APT_UPDATED} == false ]]; then apt_get update; APT_UPDATED=true; fi
  log "installing: ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}"
}

# write_file PATH MODE < content: replace PATH only when the content differs.
# Sets CHANGED=true|false. Ownership root:root.
CHANGED=false
write_file() {
  local path=$1 mode=$2 tmp
  mkdir -p "$(dirname "${path}")"
  tmp=$(mktemp "$(dirname "${path}")/.$(basename "${path}").XXXXXX")
  TMPFILES+=("${tmp}")
  cat >"${tmp}"
  if [[ -f ${path} && ! -L ${path} ]] && cmp -s "${tmp}" "${path}"; then
    rm -f "${tmp}"
    CHANGED=false
  else
    mv -f "${tmp}" "${path}"
    CHANGED=true
  fi
  chown root:root "${path}"
  chmod "${mode}" "${path}"
}

# --- 1. login banners ---------------------------------------------------------
readonly BANNER='Authorized use only. All activity on this system may be monitored and recorded.
Disconnect now if you are not an authorized user.'
for f in /etc/issue /etc/issue.net; do
  write_file "${f}" 0644 < <(printf '%s\n' "${BANNER}")
done
log "login banners written"

# --- 2. sshd ------------------------------------------------------------------
readonly SSHD_CONFIG=/etc/ssh/sshd_config
readonly SSHD_DROPIN=/etc/ssh/sshd_config.d/50-sindri-hardening.conf
SSH_PORTS=()
if command -v sshd >/dev/null 2>&1 || [[ -x /usr/sbin/sshd ]]; then
  SSHD=$(command -v sshd || echo /usr/sbin/sshd)
  backup_dir=$(mktemp -d)
  TMPFILES+=("${backup_dir}")
  cp -p "${SSHD_CONFIG}" "${backup_dir}/config"
  had_dropin=false
  if [[ -f ${SSHD_DROPIN} ]]; then cp -p "${SSHD_DROPIN}" "${backup_dir}/dropin"; had_dropin=true; fi
  ssh_changed=false

  if ! grep -Eiq '^[[:space:]]*Include[[:space:]]+("?/etc/ssh/)?sshd_config\.d/' "${SSHD_CONFIG}"; then
    log "adding Include for sshd_config.d to ${SSHD_CONFIG}"
    write_file "${SSHD_CONFIG}" 0644 < <(printf 'Include /etc/ssh/sshd_config.d/*.conf\n\n'; cat "${SSHD_CONFIG}")
    ssh_changed=true
  fi

  write_file "${SSHD_DROPIN}" 0644 <<'EOF'
# Managed by sindri-packer security-hardening.sh - do not edit.
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
X11Forwarding no
MaxAuthTries 4
ClientAliveInterval 300
ClientAliveCountMax 3
LoginGraceTime 60
Banner /etc/issue.net
EOF
  if [[ ${CHANGED} == true ]]; then ssh_changed=true; fi

  # Ubuntu 24.04 socket-activates sshd, so /run/sshd may not exist yet.
  install -d -m 0755 /run/sshd
  if ! out=$("${SSHD}" -t 2>&1); then
    cp -p "${backup_dir}/config" "${SSHD_CONFIG}"
    if [[ ${had_dropin} == true ]]; then cp -p "${backup_dir}/dropin" "${SSHD_DROPIN}"; else rm -f "${SSHD_DROPIN}"; fi
    die "sshd -t rejected the hardened config (previous files restored): ${out}"
  fi
  log "sshd config validated"

  if [[ ${ssh_changed} == true ]] && systemd_running; then
    for unit in ssh.service sshd.service; do
      if systemctl cat "${unit}" >/dev/null 2>&1; then
        systemctl try-reload-or-restart "${unit}" || warn "could not reload ${unit}"
        log "reloaded ${unit}"
        break
      fi
    done
  fi

  # Another drop-in sorting before ours (e.g. 50-cloud-init.conf) wins for the
  # same keyword; report rather than silently ship a weaker setting.
  if effective=$("${SSHD}" -T 2>/dev/null); then
    for want in "permitrootlogin no" "passwordauthentication no" "kbdinteractiveauthentication no" \
                "permitemptypasswords no" "x11forwarding no" "maxauthtries 4" "banner /etc/issue.net"; do
      grep -qixF "${want}" <<<"${effective}" ||
        warn "effective sshd setting differs from '${want}' (check other files in /etc/ssh/sshd_config.d)"
    done
    mapfile -t SSH_PORTS < <(awk '$1 == "port" { print $2 }' <<<"${effective}" | sort -un)
  else
    warn "sshd -T failed; effective settings not verified"
  fi
else
  warn "sshd not installed; skipping SSH hardening"
fi

# --- 3. sysctl ----------------------------------------------------------------
# A leading "-" tells systemd-sysctl (and newer procps) to ignore keys the
# kernel lacks, e.g. IPv6 keys when IPv6 is disabled.
write_file /etc/sysctl.d/60-sindri-hardening.conf 0644 <<'EOF'
# Managed by sindri-packer security-hardening.sh - do not edit.
-net.ipv4.ip_forward = 0
-net.ipv6.conf.all.forwarding = 0
-net.ipv4.conf.all.send_redirects = 0
-net.ipv4.conf.default.send_redirects = 0
-net.ipv4.conf.all.accept_redirects = 0
-net.ipv4.conf.default.accept_redirects = 0
-net.ipv4.conf.all.secure_redirects = 0
-net.ipv4.conf.default.secure_redirects = 0
-net.ipv4.conf.all.accept_source_route = 0
-net.ipv4.conf.default.accept_source_route = 0
-net.ipv4.conf.all.log_martians = 1
-net.ipv4.conf.default.log_martians = 1
-net.ipv4.tcp_syncookies = 1
-net.ipv4.icmp_echo_ignore_broadcasts = 1
-net.ipv6.conf.all.accept_ra = 0
-net.ipv6.conf.default.accept_ra = 0
-net.ipv6.conf.all.accept_redirects = 0
-net.ipv6.conf.default.accept_redirects = 0
-net.ipv6.conf.all.accept_source_route = 0
-net.ipv6.conf.default.accept_source_route = 0
EOF
if sysctl_err=$(sysctl --system 2>&1 >/dev/null); then
  log "sysctl settings applied"
else
  warn "sysctl --system reported problems (unsupported keys are skipped): $(tail -n 3 <<<"${sysctl_err}" | tr '\n' ' ')"
fi

# --- 4. unused filesystem modules ---------------------------------------------
fs_modules=(cramfs freevxfs jffs2 hfs hfsplus udf)
if [[ $(cat /sys/class/dmi/id/chassis_asset_tag 2>/dev/null || true) == 7783-7084-3265-9085-8269-3286-77 ]]; then
  log "Azure detected: leaving udf enabled (Azure provisioning media is UDF)"
  fs_modules=(cramfs freevxfs jffs2 hfs hfsplus)
fi
modprobe_conf() {
  echo "# Managed by sindri-packer security-hardening.sh - do not edit."
  local m
  for m in "${fs_modules[@]}"; do
    printf 'install %s /bin/false\nblacklist %s\n' "${m}" "${m}"
  done
}
write_file /etc/modprobe.d/60-sindri-cis.conf 0644 < <(modprobe_conf)
log "disabled filesystem modules: ${fs_modules[*]}"

# --- 5. auditd ----------------------------------------------------------------
# audispd-plugins: the dispatcher plugins (e.g. remote logging) the design's
# hardening list installs beside auditd.
ensure_packages auditd audispd-plugins
audit_rules() {
  echo "## Managed by sindri-packer security-hardening.sh - do not edit."
  local w
  for w in /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/security/opasswd; do
    if [[ -e ${w} ]]; then echo "-w ${w} -p wa -k identity"; fi
  done
  for w in /etc/sudoers /etc/sudoers.d; do
    if [[ -e ${w} ]]; then echo "-w ${w} -p wa -k scope"; fi
  done
  for w in /etc/ssh/sshd_config /etc/ssh/sshd_config.d; do
    if [[ -e ${w} ]]; then echo "-w ${w} -p wa -k sshd_config"; fi
  done
}
write_file /etc/audit/rules.d/60-sindri.rules 0640 < <(audit_rules)
systemctl enable auditd.service >/dev/null 2>&1 || warn "could not enable auditd.service"
if systemd_running; then
  systemctl start auditd.service || warn "could not start auditd.service"
  augenrules --load >/dev/null 2>&1 || warn "augenrules --load failed; rules apply at next boot"
fi
log "auditd enabled with /etc/audit/rules.d/60-sindri.rules"

# --- 6. ufw -------------------------------------------------------------------
ensure_packages ufw
(( ${#SSH_PORTS[@]} > 0 )) || SSH_PORTS=(22)
ufw default deny incoming >/dev/null
ufw default allow outgoing >/dev/null
for port in "${SSH_PORTS[@]}"; do
  if [[ ${port} == 22 ]] && ufw app info OpenSSH >/dev/null 2>&1; then
    ufw allow OpenSSH >/dev/null
    log "ufw: allowed OpenSSH"
  else
    ufw allow "${port}/tcp" >/dev/null
    log "ufw: allowed ${port}/tcp"
  fi
done
# ufw applies the sysctl file named by IPT_SYSCTL in /etc/default/ufw every
# time it starts: at boot (ufw.service is not ordered after systemd-sysctl),
# on `ufw enable` and on `ufw reload`. Its default, /etc/ufw/sysctl.conf, sets
# net.ipv4.conf.{all,default}.log_martians=0 and so undid
# 60-sindri-hardening.conf on every boot. An empty IPT_SYSCTL (the switch
# ufw's own sysctl.conf points to) makes ufw leave kernel parameters alone,
# so /etc/sysctl.d is their only source, whatever the boot order. Pointing
# IPT_SYSCTL at our file instead would make every `ufw reload` set
# net.ipv4.ip_forward back to 0 under a running Docker. ufw's sysctl.conf
# sets nothing else that differs from the kernel's defaults or our file.
readonly UFW_DEFAULTS=/etc/default/ufw
readonly UFW_SYSCTL_MARK='# sindri-packer security-hardening.sh: ufw sets no kernel parameters, /etc/sysctl.d does'
# ufw_defaults FILE: FILE with IPT_SYSCTL emptied (once, after our comment).
ufw_defaults() {
  awk -v mark="${UFW_SYSCTL_MARK}" '
    $0 == mark { next }
    /^[[:space:]]*IPT_SYSCTL[[:space:]]*=/ { if (!done) { print mark; print "IPT_SYSCTL="; done = 1 }; next }
    { print }
    END { if (!done) { print mark; print "IPT_SYSCTL=" } }' "$1"
}
if [[ -f ${UFW_DEFAULTS} ]]; then
  write_file "${UFW_DEFAULTS}" 0644 < <(ufw_defaults "${UFW_DEFAULTS}")
  log "ufw: IPT_SYSCTL emptied in ${UFW_DEFAULTS} (changed: ${CHANGED})"
else
  warn "${UFW_DEFAULTS} missing: ufw may apply its own sysctl file at boot"
fi
ufw --force enable >/dev/null
log "ufw enabled (deny incoming, allow outgoing)"

# What the kernel runs with now must be what the sysctl file says (a
# difference also fails the image test, which checks after a fresh boot).
sysctl_drift=()
while read -r key value; do
  if live=$(sysctl -n "${key}" 2>/dev/null) && [[ $(tr -s ' \t' ' ' <<<"${live}") != "${value}" ]]; then
    sysctl_drift+=("${key}=${live} (want ${value})")
  fi
done < <(sed -nE 's/^-?([a-z0-9_.]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\1 \2/p' /etc/sysctl.d/60-sindri-hardening.conf)
if (( ${#sysctl_drift[@]} > 0 )); then
  warn "kernel parameters differ from /etc/sysctl.d/60-sindri-hardening.conf: ${sysctl_drift[*]}"
fi

# --- 7. legacy clients --------------------------------------------------------
purge=()
for pkg in telnet inetutils-telnet rsh-client nis talk inetutils-talk; do
  if is_installed "${pkg}"; then purge+=("${pkg}"); fi
done
if (( ${#purge[@]} > 0 )); then
  # Refuse if purging would drag other packages (e.g. a metapackage) along.
  extra=$(apt-get -s purge "${purge[@]}" 2>/dev/null | awk '$1 == "Purg" || $1 == "Remv" { print $2 }' |
          grep -vxF -f <(printf '%s\n' "${purge[@]}") || true)
  if [[ -n ${extra} ]]; then
    warn "not purging ${purge[*]}: apt would also remove $(tr '\n' ' ' <<<"${extra}")"
  else
    log "purging: ${purge[*]}"
    apt_get purge "${purge[@]}"
  fi
else
  log "no legacy clients installed"
fi

# --- 8. account file permissions ----------------------------------------------
if getent group shadow >/dev/null 2>&1; then
  shadow_owner=root:shadow shadow_mode=0640
else
  shadow_owner=root:root shadow_mode=0600
fi
set_perm() { # set_perm PATH MODE OWNER
  [[ -e $1 ]] || return 0
  chown "$3" "$1"
  chmod "$2" "$1"
}
for f in /etc/passwd /etc/passwd- /etc/group /etc/group-; do set_perm "${f}" 0644 root:root; done
for f in /etc/shadow /etc/shadow- /etc/gshadow /etc/gshadow-; do set_perm "${f}" "${shadow_mode}" "${shadow_owner}"; done
log "account file permissions set (shadow: ${shadow_mode} ${shadow_owner})"

log "done"
