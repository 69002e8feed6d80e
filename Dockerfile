# Parley media server — multi-stage, static, non-root.
#
#   docker build -t parley .
#   docker run --rm --network host -v parley-data:/data \
#     -e PARLEY_ADMIN_API_KEY=... -e PARLEY_WEBHOOKS_SECRET=... parley
#
# The exposed ports are the configuration defaults (configs/parley.yaml); a test
# (cmd/parley/dockerfile_test.go) keeps them equal. The TURN relay range is 16,384 ports
# (49152-65535, D245): use host networking, or in bridge mode publish a smaller range and
# set it with PARLEY_TURN_RELAY_PORT_MIN/MAX as configs/docker-compose.yaml does (Docker
# maps a published range port by port).

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
EXPOSE 49152-65535/udp

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/parley", "healthcheck", "--url", "http://127.0.0.1:7880/healthz"]

ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve", "--config", "/etc/parley/parley.yaml"]
