# Static binary on an empty base image; captures are mounted read-only at /data.
#   docker build -t porthunter .
#   docker run -i --rm -v "$PWD/fixtures:/data:ro" -e PORT_HUNTER_TOKEN=change-me porthunter
FROM golang:1.24 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=docker" -o /porthunter .

FROM scratch
COPY --from=build /porthunter /porthunter
ENV PORT_HUNTER_ALLOWED_DIR=/data
USER 65534:65534
ENTRYPOINT ["/porthunter", "serve"]
