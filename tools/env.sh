# shellcheck shell=bash
# Source this file (do not run it) to use the project-local toolchain that
# tools/install.sh installed:
#
#   source tools/env.sh
#
# Sets PATH (prepends $SINDRI_TOOLS_DIR/bin), PACKER_PLUGIN_PATH and
# CHECKPOINT_DISABLE=1 + PACKER_CHECKPOINT_DISABLE=1. SINDRI_TOOLS_DIR defaults to <repo>/.tools.
# Works in bash and zsh; in other shells source it from the repository root.
# Sourcing it again does not add PATH entries twice.

if [ -n "${BASH_SOURCE:-}" ]; then
	_sindri_env_file=${BASH_SOURCE[0]}
elif [ -n "${ZSH_VERSION:-}" ]; then
	# shellcheck disable=SC2296 # zsh-only expansion, never run by bash
	_sindri_env_file=${(%):-%x}
else
	_sindri_env_file=./tools/env.sh
fi
_sindri_root=$(cd "$(dirname "$_sindri_env_file")/.." && pwd)

SINDRI_TOOLS_DIR=${SINDRI_TOOLS_DIR:-$_sindri_root/.tools}
export SINDRI_TOOLS_DIR
case ":$PATH:" in
*":$SINDRI_TOOLS_DIR/bin:"*) ;;
*) PATH=$SINDRI_TOOLS_DIR/bin:$PATH ;;
esac
export PATH
export PACKER_PLUGIN_PATH="$SINDRI_TOOLS_DIR/packer-plugins"
# Packer 1.9.4 itself reads CHECKPOINT_DISABLE (go-checkpoint); without it
# every packer command tries to reach checkpoint-api.hashicorp.com.
# PACKER_CHECKPOINT_DISABLE is set too, for tools that look for that name.
export CHECKPOINT_DISABLE=1
export PACKER_CHECKPOINT_DISABLE=1

if [ ! -x "$SINDRI_TOOLS_DIR/bin/packer" ]; then
	echo "tools/env.sh: $SINDRI_TOOLS_DIR/bin/packer is missing: run tools/install.sh" >&2
fi
unset _sindri_env_file _sindri_root
