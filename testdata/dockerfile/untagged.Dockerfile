# Broken on purpose (dockerfile_test.go): untagged and latest base images,
# lower-case "as", a version literal, a shell-form ENTRYPOINT.
FROM golang as build
RUN go build -ldflags="-s -w -X main.v=1.2.3" -o /out/app ./cmd/sindri-packer
FROM debian:latest AS runtime
COPY --from=build /out/app /app
ENTRYPOINT /app action
