#!/usr/bin/env bash
# Installs the system packages Parley's tests use when they are missing, so `make test`
# works on a fresh Debian machine: Chromium (browser tests) and coturn (turnutils_uclient,
# the TURN client nobody here wrote), unshare and ip (the browser tests' network namespace),
# Node.js with npm, and from the npm registry (pinned, into .cache, which git ignores)
# TypeScript for the tsc check of the SDK's declarations (web/tsc_test.go) and MediaPipe's
# selfie segmentation for the background blur test (web/effects_test.go);
# redis-server and PostgreSQL (internal/testservers starts them for the cluster and records
# tests; it looks for initdb/postgres in /usr/lib/postgresql/<version>/bin, where Debian puts
# them, not on PATH); HAProxy (cmd/parley's TestClusterBehindHAProxy runs
# configs/haproxy.cluster.cfg in front of three nodes; Debian puts it in /usr/sbin); ffmpeg (ffprobe and decoding of recorded files).
# Needs root or passwordless sudo; prints what it does.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v turnutils_uclient >/dev/null 2>&1 || need+=(coturn)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)  # browser tests run in a network namespace
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)  # recording test: encodes its media, probes and decodes the files (~55 MB)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)  # the load balancer of the cluster test (configs/haproxy.cluster.cfg)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)  # tsc runs on Node.js
if [ ${#need[@]} -ne 0 ]; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo -n"
	echo "ensure-test-deps: installing ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# TypeScript: the version web/tsc_test.go expects (its typescriptVersion) in .cache/typescript.
ts_version=5.9.3
ts_dir="$(cd "$(dirname "$0")/.." && pwd)/.cache/typescript"
if [ "$("$ts_dir/node_modules/.bin/tsc" --version 2>/dev/null)" != "Version $ts_version" ]; then
	echo "ensure-test-deps: installing typescript@$ts_version into $ts_dir"
	mkdir -p "$ts_dir"
	npm install --prefix "$ts_dir" --no-audit --no-fund --silent "typescript@$ts_version" >/dev/null
fi

# MediaPipe's selfie segmentation (model and WebAssembly runtime, no download at run time) for
# the background blur test (web/effects_test.go) into .cache/mediapipe.
mp_version=0.1.1675465747
mp_dir="$(cd "$(dirname "$0")/.." && pwd)/.cache/mediapipe"
if ! grep -qs "\"version\": \"$mp_version\"" "$mp_dir/node_modules/@mediapipe/selfie_segmentation/package.json"; then
	echo "ensure-test-deps: installing @mediapipe/selfie_segmentation@$mp_version into $mp_dir"
	mkdir -p "$mp_dir"
	npm install --prefix "$mp_dir" --no-audit --no-fund --silent "@mediapipe/selfie_segmentation@$mp_version" >/dev/null
fi
