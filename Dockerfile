# Static binary on an empty base image; captures are mounted read-only at /data.
#   docker build -t porthunter .
#   docker run -i --rm -v "$PWD/fixtures:/data:ro" -e PORT_HUNTER_TOKEN=change-me porthunter
#   docker run --rm -v "$PWD/fixtures:/data:ro" --entrypoint /porthunter porthunter analyze /data/demo.pcapng
#
# The builder is pinned to an exact, supported Go release: the binary is
# static, so the standard library it links (net/http, crypto/tls,
# compress/gzip, archive readers) is whatever this image holds, and Go
# fixes that library's security issues only in its two latest major
# releases (1.24 reached end of life when 1.26 came out). An exact patch
# version also makes the image's build reproducible; raise it with each Go
# security release (TestDockerfileGo checks it is no older than the
# toolchain's previous major release).
FROM golang:1.26.8 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=docker" -o /porthunter .

# make demo, in the build stage, which has Go, make and the fixtures (the
# image below has nothing but the binary):
#   docker build --target demo -t porthunter-demo .
#   docker run --rm porthunter-demo
# Its build compiles the server and the demo client once, so running it
# starts at once.
FROM build AS demo
RUN make build VERSION=docker && go build -o /dev/null ./fixtures/demo
CMD ["make", "demo", "VERSION=docker"]

FROM scratch
COPY --from=build /porthunter /porthunter
ENV PORT_HUNTER_ALLOWED_DIR=/data
USER 65534:65534
ENTRYPOINT ["/porthunter", "serve"]
