# Broken on purpose (dockerfile_test.go): the right stages, but the
# runtime has no plugins, runs as a user, installs qemu and uses an
# undated Debian tag; cinc-auditor is downloaded without a checksum.
FROM golang:1.26.8-bookworm AS build
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w " -o /out/sindri-packer ./cmd/sindri-packer
FROM golang:1.26.8-bookworm AS tools
COPY tools/install.sh tools/versions.env /opt/
RUN /opt/install.sh --no-apt
FROM debian:bookworm-slim AS cinc
RUN curl -o /out/cinc-auditor.deb "https://example.invalid/${CINC_VERSION}"
FROM debian:bookworm-20251229-slim AS runtime
RUN apt-get install -y ca-certificates qemu-system-x86
COPY --from=build /out/sindri-packer /usr/local/bin/sindri-packer
USER runner
ENTRYPOINT ["sindri-packer"]
