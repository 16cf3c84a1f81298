#!/usr/bin/env bash
# install-extensions.sh - install a sindri profile and/or extensions for the
# image's login user.
#
# Runs as root inside the image being built; sindri itself runs as
# SINDRI_USER with that user's HOME, so everything lands in ~/.sindri.
#
# Environment contract (all optional):
#   SINDRI_PROFILE     profile name, e.g. "minimal"  -> sindri profile install NAME -y
#   SINDRI_EXTENSIONS  extension names separated by commas and/or whitespace
#                      -> sindri extension install NAME -y, in order, de-duplicated
#   SINDRI_USER        user to run sindri as; default: first of ubuntu, debian,
#                      admin that exists, else root
#   SINDRI_USER_HOME   default: SINDRI_USER's home from passwd (override for tests)
#   SINDRI_BIN         default /usr/local/bin/sindri
#
# After the installs, `sindri doctor` runs as SINDRI_USER when the release
# has that command; problems it reports are a warning (the image test decides).
#
# Every name must match ^[a-z0-9][a-z0-9._-]*$; any other name fails the step
# before anything is installed. Neither variable set -> nothing to do, exit 0.
# Idempotent as far as sindri is: installs run without --force, so sindri
# skips what is already installed.
set -euo pipefail

readonly SCRIPT="install-extensions.sh"
log()  { printf '[%s] %s\n' "$SCRIPT" "$*"; }
die()  { printf '[%s] ERROR: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

readonly NAME_RE='^[a-z0-9][a-z0-9._-]*$'

PROFILE=${SINDRI_PROFILE:-}
PROFILE=${PROFILE//[[:space:]]/}

# Split on commas and whitespace, drop empties and duplicates, validate all
# names before running anything.
names=()
IFS=$', \t\n' read -r -d '' -a raw <<<"${SINDRI_EXTENSIONS:-}" || true
for name in "${raw[@]}"; do
  [[ -n ${name} ]] || continue
  [[ ${name} =~ ${NAME_RE} ]] || die "invalid extension name '${name}' (must match ${NAME_RE})"
  for seen in "${names[@]}"; do
    [[ ${seen} == "${name}" ]] && continue 2
  done
  names+=("${name}")
done
if [[ -n ${PROFILE} && ! ${PROFILE} =~ ${NAME_RE} ]]; then
  die "invalid profile name '${PROFILE}' (must match ${NAME_RE})"
fi

if [[ -z ${PROFILE} && ${#names[@]} -eq 0 ]]; then
  log "no SINDRI_PROFILE or SINDRI_EXTENSIONS set; nothing to do"
  exit 0
fi

if [[ -n ${SINDRI_USER:-} ]]; then
  USER_NAME=${SINDRI_USER}
else
  USER_NAME=root
  for candidate in ubuntu debian admin; do
    if id -u "${candidate}" >/dev/null 2>&1; then USER_NAME=${candidate}; break; fi
  done
fi
[[ ${USER_NAME} =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "SINDRI_USER '${USER_NAME}' is not a valid user name"
id -u "${USER_NAME}" >/dev/null 2>&1 || die "SINDRI_USER '${USER_NAME}' does not exist"
USER_HOME=${SINDRI_USER_HOME:-$(getent passwd "${USER_NAME}" | cut -d: -f6)}
[[ -n ${USER_HOME} && -d ${USER_HOME} ]] || die "home directory of ${USER_NAME} ('${USER_HOME}') does not exist"

SINDRI=${SINDRI_BIN:-/usr/local/bin/sindri}
[[ -x ${SINDRI} ]] || die "${SINDRI} not found or not executable (run install-sindri.sh first)"

# Run a command as USER_NAME with its own HOME, from its home directory.
as_user() {
  local path="${USER_HOME}/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  if [[ $(id -u) -eq $(id -u "${USER_NAME}") ]]; then
    (cd "${USER_HOME}" && env HOME="${USER_HOME}" USER="${USER_NAME}" LOGNAME="${USER_NAME}" PATH="${path}" "$@")
  else
    [[ ${EUID} -eq 0 ]] || die "must run as root to act as ${USER_NAME}"
    (cd "${USER_HOME}" && runuser -u "${USER_NAME}" -- \
      env HOME="${USER_HOME}" USER="${USER_NAME}" LOGNAME="${USER_NAME}" PATH="${path}" "$@")
  fi
}

if [[ -n ${PROFILE} ]]; then
  log "installing profile '${PROFILE}' as ${USER_NAME}"
  as_user "${SINDRI}" profile install "${PROFILE}" -y || die "profile '${PROFILE}' failed to install"
fi

for name in "${names[@]}"; do
  log "installing extension '${name}' as ${USER_NAME}"
  as_user "${SINDRI}" extension install "${name}" -y || die "extension '${name}' failed to install"
done

# `sindri doctor` checks what was installed, as the design's install step
# ends. Releases without the command are skipped; a doctor that finds
# problems is a warning here, because the image test that follows the build
# is what decides (it checks the same tools on a booted instance, where
# services run), and its output stays in the build log.
if as_user "${SINDRI}" doctor --help >/dev/null 2>&1; then
  log "running sindri doctor as ${USER_NAME}"
  if as_user "${SINDRI}" doctor; then
    log "sindri doctor passed"
  else
    printf '[%s] WARNING: %s\n' "$SCRIPT" "sindri doctor reported problems (exit $?); the image test decides" >&2
  fi
else
  log "this sindri release has no doctor command; skipping it"
fi

log "done"
