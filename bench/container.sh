#!/usr/bin/env bash
# bench/container.sh - the Action's container image: its size, and the wall
# time from `podman run` to the first line of `validate` output and to its
# exit, beside the same for the bare CLI on this machine.
#
#   tools/container-build.sh && bench/container.sh
#
# The configuration is what `init --cloud aws` writes (the README's PR
# check). Rows: the bare CLI (`sindri-packer validate`, the tools of
# tools/install.sh), the CLI in the container (podman run --entrypoint
# sindri-packer IMAGE validate) and the Action as the runner starts it
# (podman run --entrypoint sindri-packer IMAGE action, from action.yml's
# runs, with INPUT_COMMAND=validate). Medians of RUNS runs
# (default 5), each with a cold result cache (a fresh HOME / XDG_CACHE_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
image=${SINDRI_CONTAINER_IMAGE:-localhost/sindri-packer-action:test}
podman=(podman --runtime runc --cgroup-manager cgroupfs)

"${podman[@]}" image exists "$image" || { echo "no image $image: run tools/container-build.sh" >&2; exit 1; }
# shellcheck source=tools/env.sh
source tools/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/sindri-packer" ./cmd/sindri-packer
mkdir -p "$work/ws"
(cd "$work/ws" && "$work/sindri-packer" init --cloud aws >/dev/null)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed CMD...: sets FIRST and TOTAL, the seconds from the start to the
# first line of output (stdout or stderr) and to the exit. A failing
# validate measures nothing: it stops the benchmark.
timed() {
	local fifo=$work/fifo t0 pid rc=0
	rm -f "$fifo" && mkfifo "$fifo"
	t0=$(now)
	"$@" >"$fifo" 2>&1 &
	pid=$!
	exec 3<"$fifo"
	IFS= read -r _ <&3 || true
	FIRST=$(echo "$(now) - $t0" | bc -l)
	cat <&3 >"$work/rest"
	exec 3<&-
	wait "$pid" || rc=$?
	TOTAL=$(echo "$(now) - $t0" | bc -l)
	if ((rc != 0)); then
		echo "failed (exit $rc): $*" >&2
		cat "$work/rest" >&2
		exit 1
	fi
}

bare() {
	rm -rf "${work:?}/home" && mkdir -p "$work/home"
	(cd "$work/ws" && HOME=$work/home XDG_CACHE_HOME=$work/home/.cache "$work/sindri-packer" validate)
}
in_container() {
	"${podman[@]}" run --rm -v "$work/ws:/github/workspace" --workdir /github/workspace \
		-e HOME=/tmp --entrypoint sindri-packer "$image" validate
}
as_action() {
	"${podman[@]}" run --rm -v "$work/ws:/github/workspace" --workdir /github/workspace \
		-e HOME=/tmp -e GITHUB_ACTIONS=true -e CI=true -e GITHUB_WORKSPACE=/github/workspace \
		-e INPUT_COMMAND=validate -e INPUT_CONFIG=sindri.yaml -e INPUT_CLOUDS=all -e INPUT_WORKING-DIRECTORY=. \
		--entrypoint sindri-packer "$image" action
}

row() { # label function
	local i firsts=() totals=()
	for ((i = 0; i < RUNS; i++)); do
		timed "$2"
		firsts+=("$FIRST") totals+=("$TOTAL")
	done
	printf '%-34s first line %6.2f s   exit %6.2f s\n' "$1" \
		"$(printf '%s\n' "${firsts[@]}" | median)" "$(printf '%s\n' "${totals[@]}" | median)"
}

size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
printf 'image %s: %d MB (uncompressed); biggest layers:\n' "$image" $((size / 1000000))
"${podman[@]}" history --format '{{.Size}}\t{{.CreatedBy}}' "$image" | sort -t$'\t' -k1,1 -h -r | head -n 4 | cut -c1-110 | sed 's/^/  /'
printf 'validate of the init --cloud aws config, median of %d runs:\n' "$RUNS"
row "bare CLI" bare
row "podman run, CLI entrypoint" in_container
row "podman run, Action (action)" as_action
