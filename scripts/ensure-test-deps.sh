#!/usr/bin/env bash
# Installs the system packages Parley's tests use when they are missing, so `make test`
# works on a fresh Debian machine: Chromium (browser tests) and coturn (turnutils_uclient,
# the TURN client nobody here wrote), unshare and ip (the browser tests' network namespace),
# redis-server and PostgreSQL (internal/testservers starts them for the cluster and records
# tests; it looks for initdb/postgres in /usr/lib/postgresql/<version>/bin, where Debian puts
# them, not on PATH).
# Needs root or passwordless sudo; prints what it does.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v turnutils_uclient >/dev/null 2>&1 || need+=(coturn)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)  # browser tests run in a network namespace
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo -n"
echo "ensure-test-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
