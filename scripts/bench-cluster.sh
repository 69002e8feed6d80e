#!/usr/bin/env bash
# Measures signaling-only call setups/s against one node or a cluster of three nodes on
# loopback (docs/architecture.md, "cluster"): builds parley and parley-bench into a temporary
# directory, starts redis-server (cluster only) and the nodes on 127.0.0.1:7980-7982, runs
# parley-bench with one --url per node (16 concurrent pairs, 20 s window), stops everything.
#   scripts/bench-cluster.sh single|cluster
set -euo pipefail
mode=${1:?usage: scripts/bench-cluster.sh single|cluster}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
go build -o "$dir/parley" ./cmd/parley
go build -o "$dir/parley-bench" ./cmd/parley-bench
nodes=1
cluster=()
if [ "$mode" = cluster ]; then
  nodes=3
  redis-server --port 16379 --bind 127.0.0.1 --save "" --appendonly no >"$dir/redis.log" 2>&1 &
  pids+=($!)
  cluster=(PARLEY_CLUSTER_REDIS_URL=redis://127.0.0.1:16379/0)
fi
urls=()
for i in $(seq 0 $((nodes - 1))); do
  env PARLEY_HTTP_ADDRESS="127.0.0.1:798$i" PARLEY_RTC_UDP_PORT=0 PARLEY_TURN_ENABLED=false \
    PARLEY_RECORDS_SQLITE_PATH="$dir/n$i.db" PARLEY_LOG_LEVEL=warn \
    PARLEY_LIMITS_INVITATIONS_PER_MINUTE=100000 PARLEY_LIMITS_INVITATIONS_BURST=100000 \
    "${cluster[@]}" PARLEY_CLUSTER_NODE_ID="n$i" "$dir/parley" >"$dir/n$i.log" 2>&1 &
  pids+=($!)
  urls+=(--url "ws://127.0.0.1:798$i/ws")
done
sleep 3
"$dir/parley-bench" "${urls[@]}" --scenario calls --signaling-only --calls 16 --settle 2s --duration 20s --quiet
