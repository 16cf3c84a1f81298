#!/usr/bin/env bash
# install-sindri.sh - install the sindri CLI from a verified release archive.
#
# Runs as root inside the image being built (Ubuntu 24.04 / Debian 12).
#
# Environment contract:
#   SINDRI_VERSION           required; concrete release such as 3.0.1 (a leading
#                            "v" is accepted and stripped; "latest" is refused)
#   SINDRI_RELEASE_BASE_URL  default https://github.com/pacphi/sindri/releases/download
#   SINDRI_SHA256            optional expected sha256 of the archive; when unset
#                            the published "<archive>.sha256" is downloaded.
#                            A missing or mismatching checksum is fatal.
#   SINDRI_ARCHIVE           optional path of an archive already on the VM;
#                            when set nothing is downloaded except, if
#                            SINDRI_SHA256 is unset, the .sha256 file
#   SINDRI_USER              login user owning ~/.sindri; default: first of
#                            ubuntu, debian, admin that exists, else root
#   SINDRI_INSTALL_DIR       default /usr/local/bin (override for tests)
#   SINDRI_USER_HOME         default: SINDRI_USER's home from passwd (override for tests)
#
# Archive: sindri-v${VERSION}-linux-${ARCH}.tar.gz, ARCH x86_64|aarch64
# URL:     ${SINDRI_RELEASE_BASE_URL}/v${VERSION}/${archive}
#
# Idempotent: when the installed binary already reports the requested version,
# is byte-identical to what this script installed, and came from an archive
# with the expected checksum, installation is skipped (user dirs are still
# ensured). The record lives in <install dir>/../share/sindri-packer/.
set -euo pipefail

readonly SCRIPT="install-sindri.sh"
log()  { printf '[%s] %s\n' "$SCRIPT" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$SCRIPT" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

# --- inputs -------------------------------------------------------------------
VERSION=${SINDRI_VERSION:-}
VERSION=${VERSION#v}
[[ -n ${VERSION} ]] || die "SINDRI_VERSION is required (e.g. 3.0.1)"
[[ ${VERSION} =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
  die "SINDRI_VERSION must be a concrete version like 3.0.1 (got '${SINDRI_VERSION}')"

BASE_URL=${SINDRI_RELEASE_BASE_URL:-https://github.com/pacphi/sindri/releases/download}
BASE_URL=${BASE_URL%/}
[[ ${BASE_URL} =~ ^https?://[^[:space:]]+$ ]] ||
  die "SINDRI_RELEASE_BASE_URL must be an http(s) URL (got '${BASE_URL}')"

EXPECTED_SHA=${SINDRI_SHA256:-}
if [[ -n ${EXPECTED_SHA} ]]; then
  EXPECTED_SHA=${EXPECTED_SHA,,}
  [[ ${EXPECTED_SHA} =~ ^[0-9a-f]{64}$ ]] || die "SINDRI_SHA256 is not a sha256 hex digest"
fi

LOCAL_ARCHIVE=${SINDRI_ARCHIVE:-}
if [[ -n ${LOCAL_ARCHIVE} && ! -f ${LOCAL_ARCHIVE} ]]; then
  die "SINDRI_ARCHIVE=${LOCAL_ARCHIVE} does not exist"
fi

INSTALL_DIR=${SINDRI_INSTALL_DIR:-/usr/local/bin}
INSTALL_DIR=${INSTALL_DIR%/}
TARGET="${INSTALL_DIR}/sindri"
STAMP_DIR="$(dirname "${INSTALL_DIR}")/share/sindri-packer"
STAMP="${STAMP_DIR}/sindri.install"

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
USER_GROUP=$(id -gn "${USER_NAME}")
USER_HOME=${SINDRI_USER_HOME:-$(getent passwd "${USER_NAME}" | cut -d: -f6)}
[[ -n ${USER_HOME} && ${USER_HOME} == /* ]] || die "cannot determine home directory of ${USER_NAME}"

# The one place uname -m is mapped to release asset architecture names.
release_arch() {
  case "$1" in
    x86_64 | amd64)  printf 'x86_64' ;;
    aarch64 | arm64) printf 'aarch64' ;;
    *) return 1 ;;
  esac
}
ARCH=$(release_arch "$(uname -m)") || die "unsupported architecture: $(uname -m)"
ARCHIVE_NAME="sindri-v${VERSION}-linux-${ARCH}.tar.gz"
URL="${BASE_URL}/v${VERSION}/${ARCHIVE_NAME}"

WORK=$(mktemp -d)
STAGED=""
cleanup() {
  rm -rf "${WORK}"
  if [[ -n ${STAGED} ]]; then rm -f "${STAGED}"; fi
}
trap cleanup EXIT

fetch() { # fetch URL DEST
  curl --fail --silent --show-error --location \
    --retry 5 --retry-all-errors --connect-timeout 10 \
    --proto '=https,http' --proto-redir '=https,http' \
    --output "$2" "$1"
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# True when the binary's `--version` output names VERSION (e.g. "sindri 3.0.1").
reports_version() {
  local out word words
  out=$("$1" --version 2>/dev/null | head -n1) || return 1
  read -r -a words <<<"${out}"
  for word in "${words[@]}"; do
    word=${word#v}
    word=${word%%[,;:)]}
    [[ ${word} == "${VERSION}" ]] && return 0
  done
  return 1
}

ensure_user_dirs() {
  local dir
  for dir in "${USER_HOME}/.sindri" "${USER_HOME}/.sindri/state" \
             "${USER_HOME}/.sindri/extensions" "${USER_HOME}/.sindri/cache"; do
    [[ -L ${dir} ]] && die "${dir} is a symlink; refusing to touch it"
    mkdir -p "${dir}"
  done
  chmod 0700 "${USER_HOME}/.sindri/state"
  if [[ ${EUID} -eq 0 ]]; then
    chown -R "${USER_NAME}:${USER_GROUP}" "${USER_HOME}/.sindri"
  elif [[ $(id -un) != "${USER_NAME}" ]]; then
    die "not root: cannot give ${USER_HOME}/.sindri to ${USER_NAME}"
  fi
  log "${USER_HOME}/.sindri ready for ${USER_NAME}"
}

log "sindri ${VERSION} (${ARCH}) into ${TARGET}"

# --- expected checksum --------------------------------------------------------
if [[ -z ${EXPECTED_SHA} ]]; then
  log "fetching ${URL}.sha256"
  fetch "${URL}.sha256" "${WORK}/archive.sha256" ||
    die "could not download ${URL}.sha256 and SINDRI_SHA256 is unset; refusing to install an unverified binary"
  EXPECTED_SHA=$(head -n1 "${WORK}/archive.sha256" | awk '{print tolower($1)}')
  [[ ${EXPECTED_SHA} =~ ^[0-9a-f]{64}$ ]] ||
    die "${URL}.sha256 does not contain a sha256 digest; refusing to install an unverified binary"
fi

# --- already installed? -------------------------------------------------------
if [[ -x ${TARGET} && -f ${STAMP} ]] && reports_version "${TARGET}"; then
  read -r stamp_version stamp_archive_sha stamp_binary_sha _ <"${STAMP}" || true
  if [[ ${stamp_version:-} == "${VERSION}" && ${stamp_archive_sha:-} == "${EXPECTED_SHA}" &&
        ${stamp_binary_sha:-} == "$(sha256_of "${TARGET}")" ]]; then
    log "sindri ${VERSION} already installed and verified; skipping install"
    ensure_user_dirs
    log "done"
    exit 0
  fi
fi

# --- obtain and verify the archive --------------------------------------------
if [[ -n ${LOCAL_ARCHIVE} ]]; then
  log "using uploaded archive ${LOCAL_ARCHIVE}"
  ARCHIVE=${LOCAL_ARCHIVE}
else
  log "downloading ${URL}"
  ARCHIVE="${WORK}/${ARCHIVE_NAME}"
  fetch "${URL}" "${ARCHIVE}" || die "download failed: ${URL}"
fi

ACTUAL_SHA=$(sha256_of "${ARCHIVE}")
if [[ ${ACTUAL_SHA} != "${EXPECTED_SHA}" ]]; then
  die "checksum mismatch for ${ARCHIVE_NAME}: expected ${EXPECTED_SHA}, got ${ACTUAL_SHA}; nothing installed"
fi
log "checksum verified (${ACTUAL_SHA})"

# --- extract and locate the binary --------------------------------------------
mkdir "${WORK}/extract"
tar -xzf "${ARCHIVE}" -C "${WORK}/extract" --no-same-owner --no-same-permissions ||
  die "cannot extract ${ARCHIVE_NAME}"
BIN=""
for candidate in "${WORK}/extract/sindri" "${WORK}"/extract/*/sindri; do
  if [[ -f ${candidate} && ! -L ${candidate} ]]; then BIN=${candidate}; break; fi
done
[[ -n ${BIN} ]] || die "no 'sindri' binary at the top level or one directory down in ${ARCHIVE_NAME}"
chmod 0755 "${BIN}"
reports_version "${BIN}" ||
  die "archive binary does not report version ${VERSION} (sindri --version: $("${BIN}" --version 2>&1 | head -n1 || true))"

# --- install (atomic rename) --------------------------------------------------
mkdir -p "${INSTALL_DIR}"
STAGED="${INSTALL_DIR}/.sindri.new.$$"
install -m 0755 "${BIN}" "${STAGED}"
if [[ ${EUID} -eq 0 ]]; then chown 0:0 "${STAGED}"; fi
mv -f "${STAGED}" "${TARGET}"
STAGED=""

reports_version "${TARGET}" || die "${TARGET} --version does not report ${VERSION}"
log "installed: $("${TARGET}" --version 2>&1 | head -n1)"

mkdir -p "${STAMP_DIR}"
printf '%s %s %s\n' "${VERSION}" "${EXPECTED_SHA}" "$(sha256_of "${TARGET}")" >"${STAMP}.tmp"
mv -f "${STAMP}.tmp" "${STAMP}"

ensure_user_dirs
log "done"
