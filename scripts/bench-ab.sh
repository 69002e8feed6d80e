#!/usr/bin/env bash
# Compares two commits' servers on the reference loads in one run on this machine
# (docs/performance.md, "Reference loads, before and after"): builds bin/parley of BEFORE
# and AFTER (each in a temporary git worktree) and one parley-bench from the working tree,
# so both servers meet the same clients; then, ROUNDS times, runs every scenario against
# BEFORE and then AFTER (alternating, so a change of the machine's speed during the run
# touches both) with --start-server and a CPU profile of each window (of a server that
# has --cpuprofile). Prints per scenario
# the median server CPU-seconds per 1000 forwarded packets, forwarded packets per second,
# loss and RSS of each side, and keeps the JSON reports and profiles in OUT.
#   scripts/bench-ab.sh BEFORE AFTER [ROUNDS] [SCENARIO…]   (defaults: 3 rounds, b c)
# Environment: DURATION (measurement window, default 45s), OUT (default bin/bench-ab).
set -euo pipefail
before=${1:?usage: scripts/bench-ab.sh BEFORE AFTER [ROUNDS] [SCENARIO...]}
after=${2:?usage: scripts/bench-ab.sh BEFORE AFTER [ROUNDS] [SCENARIO...]}
rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then scenarios=(b c); fi
duration=${DURATION:-45s}
out=${OUT:-bin/bench-ab}
root=$(git rev-parse --show-toplevel)
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
cleanup() {
  for v in before after; do git -C "$root" worktree remove --force "$tmp/src-$v" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
for v in before after; do
  rev=$before
  if [ $v = after ]; then rev=$after; fi
  git -C "$root" worktree add --quiet --detach "$tmp/src-$v" "$rev"
  (cd "$tmp/src-$v" && CGO_ENABLED=0 go build -o "$out/parley-$v" ./cmd/parley)
  git -C "$root" rev-parse --short "$rev" >"$out/rev-$v"
done
(cd "$root" && go build -o "$out/parley-bench" ./cmd/parley-bench)
for r in $(seq 1 "$rounds"); do
  for s in "${scenarios[@]}"; do
    for v in before after; do
      echo "round $r/$rounds: $s on $v ($(cat "$out/rev-$v"))" >&2
      profile=()
      if "$out/parley-$v" -h 2>&1 | grep -q -- --cpuprofile; then profile=(--cpuprofile "$out/$s-$v-$r.pprof"); fi
      "$out/parley-bench" --start-server --server-bin "$out/parley-$v" --scenario "$s" \
        --duration "$duration" --quiet --out "$out/$s-$v-$r.json" "${profile[@]}" >/dev/null
    done
  done
done
python3 - "$out" "$rounds" "${scenarios[@]}" <<'EOF'
import json, statistics, sys
out, rounds, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rev = {v: open(f"{out}/rev-{v}").read().strip() for v in ("before", "after")}
print(f"before = {rev['before']}, after = {rev['after']}, {rounds} rounds, medians")
print("| load | CPU-s/1000 fwd before | after | ratio | fwd pkts/s before | after | loss % before | after | RSS max MB before | after |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in scenarios:
    m = {}
    for v in ("before", "after"):
        reps = [json.load(open(f"{out}/{s}-{v}-{r}.json")) for r in range(1, rounds + 1)]
        med = lambda f: statistics.median(f(x) for x in reps)
        m[v] = (med(lambda x: x["server"]["cpu_seconds_per_1000_forwarded"]),
                med(lambda x: x["server"]["forwarded_packets_per_sec"]),
                med(lambda x: x["loss_percent"]),
                med(lambda x: x["server"]["rss_max_mb"]))
    b, a = m["before"], m["after"]
    ratio = a[0] / b[0] if b[0] else float("nan")
    print(f"| {s} | {b[0]:.4f} | {a[0]:.4f} | {ratio:.2f}× | {b[1]:.0f} | {a[1]:.0f} | {b[2]:.2f} | {a[2]:.2f} | {b[3]:.0f} | {a[3]:.0f} |")
EOF
