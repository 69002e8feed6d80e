# Parley media server — multi-stage, static, non-root.
#
#   docker build -t parley .
#   docker run --rm -p 7880:7880 -p 7882:7882/udp -p 7882:7882 -p 3478:3478/udp -p 3478:3478 \
#     -p 5349:5349 -p 49160-49200:49160-49200/udp -v parley-data:/data \
#     -e PARLEY_ADMIN_API_KEY=... -e PARLEY_WEBHOOKS_SECRET=... parley
#
# The exposed ports are the configuration defaults (configs/parley.yaml); a test
# (cmd/parley/dockerfile_test.go) keeps them equal.

# Build stage: pinned Go toolchain, CGO disabled (the SQLite driver is pure Go).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/parley ./cmd/parley \
 && mkdir -p /out/data

# Runtime stage: distroless static (no shell, no libc), uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/parley /usr/local/bin/parley
COPY --from=build --chown=65532:65532 /out/data /data
COPY configs/parley.production.yaml /etc/parley/parley.yaml
WORKDIR /data
VOLUME ["/data"]
USER 65532:65532

# HTTP + WebSocket signaling, /healthz, /readyz, /metrics, /api/v1/calls
EXPOSE 7880/tcp
# WebRTC media: ICE over UDP and ICE over TCP on one port
EXPOSE 7882/udp 7882/tcp
# TURN over UDP and TCP, TURN over TLS
EXPOSE 3478/udp 3478/tcp 5349/tcp
# TURN relay range
EXPOSE 49160-49200/udp

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/parley", "healthcheck", "--url", "http://127.0.0.1:7880/healthz"]

ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve", "--config", "/etc/parley/parley.yaml"]
