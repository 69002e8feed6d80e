#!/usr/bin/env bash
# Measures call setups against one node or a three-node cluster on loopback
# (docs/architecture.md, "cluster"): builds parley and parley-bench into a temporary
# directory and runs parley-bench --start-server, which starts the nodes (and, for the
# cluster, a redis-server they join: --cluster; the parties of every call are then on
# different nodes) and stops them at the end. Without more arguments: signaling-only calls
# (16 concurrent pairs, 20 s window); further arguments go to parley-bench.
#   scripts/bench-cluster.sh single|cluster [parley-bench flags…]
set -euo pipefail
mode=${1:?usage: scripts/bench-cluster.sh single|cluster [parley-bench flags]}
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/parley" ./cmd/parley
go build -o "$dir/parley-bench" ./cmd/parley-bench
nodes=(--nodes 1)
if [ "$mode" = cluster ]; then
  nodes=(--nodes 3 --cluster)
fi
load=(--scenario calls --signaling-only --calls 16 --settle 2s --duration 20s)
if [ $# -gt 0 ]; then
  load=("$@")
fi
"$dir/parley-bench" --start-server --server-bin "$dir/parley" "${nodes[@]}" "${load[@]}" --quiet
