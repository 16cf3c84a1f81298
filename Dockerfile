# The sindri-packer GitHub Action's container (action.yml: runs.image).
#
# Every tool version comes from tools/versions.env, the one file that
# tools/install.sh and the Go code read too; only the base images are
# pinned here. Stages:
#   build   the sindri-packer binary, static and stripped
#   tools   Packer and every plugin, built by tools/install.sh itself, in
#           Packer's plugin layout with the _SHA256SUM files (no `packer
#           init` download at run time, so no GitHub API rate limit)
#   cinc    cinc-auditor (InSpec) for the image tests, checksum-verified
#   runtime small Debian with ssh, the binaries and the plugins
# A test (dockerfile_test.go) parses this file and checks all of that.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
COPY go.mod go.sum ./
COPY cmd/ cmd/
COPY internal/ internal/
COPY inspec/ inspec/
COPY scripts/ scripts/
COPY tools/versions.env tools/versions.go tools/
ARG SINDRI_PACKER_VERSION=dev
# The Go module and build caches are cache mounts, shared with the tools
# stage (same ids): nothing of them lands in a layer, a rebuild compiles only
# what changed, and tools/container-build.sh points them at the host's caches.
RUN --mount=type=cache,id=sindri-go-mod,target=/go/pkg/mod \
    --mount=type=cache,id=sindri-go-build,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w -X github.com/sindri-dev/sindri-packer/internal/cli.version=${SINDRI_PACKER_VERSION}" \
      -o /out/sindri-packer ./cmd/sindri-packer \
 && /out/sindri-packer --version

FROM golang:1.26.8-bookworm AS tools
COPY tools/install.sh tools/versions.env /opt/sindri-src/tools/
COPY tools/patches/ /opt/sindri-src/tools/patches/
# The same script, versions and build recipe as a developer's machine.
RUN --mount=type=cache,id=sindri-go-mod,target=/go/pkg/mod \
    --mount=type=cache,id=sindri-go-build,target=/root/.cache/go-build \
    SINDRI_TOOLS_DIR=/opt/sindri-tools /opt/sindri-src/tools/install.sh --no-apt --quiet \
 && rm -rf /opt/sindri-tools/build /opt/sindri-tools/stamps /opt/sindri-tools/.lock

FROM debian:bookworm-20251229-slim AS cinc
COPY tools/versions.env /tmp/versions.env
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates curl \
 && . /tmp/versions.env \
 && meta=$(curl -fsSL "https://omnitruck.cinc.sh/stable/cinc-auditor/metadata?p=debian&pv=12&m=x86_64&v=${CINC_AUDITOR_VERSION}") \
 && url=$(printf '%s\n' "$meta" | awk '$1 == "url" {print $2}') \
 && sum=$(printf '%s\n' "$meta" | awk '$1 == "sha256" {print $2}') \
 && printf '%s\n' "$meta" | grep -qx "version[[:space:]]*${CINC_AUDITOR_VERSION}" \
 && curl -fsSL -o /tmp/cinc-auditor.deb "$url" \
 && echo "$sum  /tmp/cinc-auditor.deb" | sha256sum -c - \
 && mkdir -p /out && mv /tmp/cinc-auditor.deb /out/

FROM debian:bookworm-20251229-slim AS runtime
# ca-certificates: TLS to the cloud APIs; openssh-client: the image tests'
# SSH; shellcheck: validate lints the provisioning scripts. No qemu: the
# local target needs KVM/TCG on the host, run the CLI there instead.
RUN --mount=type=bind,from=cinc,source=/out,target=/tmp/cinc \
    apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates openssh-client shellcheck \
 && apt-get install -y -qq --no-install-recommends /tmp/cinc/cinc-auditor.deb \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && cinc-auditor version
COPY --from=tools /opt/sindri-tools/bin/packer /usr/local/bin/packer
COPY --from=tools /opt/sindri-tools/packer-plugins /usr/local/share/packer-plugins
COPY --from=build /out/sindri-packer /usr/local/bin/sindri-packer
ENV PACKER_PLUGIN_PATH=/usr/local/share/packer-plugins \
    CHECKPOINT_DISABLE=1 \
    PACKER_CHECKPOINT_DISABLE=1
RUN packer version && sindri-packer --version
ENTRYPOINT ["sindri-packer", "action"]
