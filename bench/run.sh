#!/usr/bin/env bash
# Runs the gateways-benchmark-style scenario (four subgraphs, one nested query)
# against each gateway in turn, on the same subgraphs, with load from a
# separate process; prints RPS, p50/p99 latency, peak RSS and ratios to Marquee.
#
#   bash bench/run.sh            # VUS=50 DURATION=15 WARMUP=3 by default
#   GATEWAYS="marquee hive-router" bash bench/run.sh    # only these
#   MARQUEE_BASELINE=/tmp/bench_router.old bash bench/run.sh  # + an older router build
#
# Gateways: Marquee's router (always), @apollo/gateway (npm, installed into
# bench/apollo on first run), Hive Router when a `hive-router` binary is on
# PATH (`cargo install hive-router --features graphiql`, built once).
set -euo pipefail
cd "$(dirname "$0")"
VUS=${VUS:-50}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
PORT=4000
GATEWAYS=${GATEWAYS:-marquee marquee-no-policies marquee-baseline hive-router apollo-gateway}
want() { [[ " $GATEWAYS " == *" $1 "* ]]; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}
bin=$CARGO_TARGET_DIR/release/examples
mkdir -p results

nice cargo build --release --offline -p router \
  --example bench_subgraphs --example bench_router --example bench_load
if want apollo-gateway; then
  [ -d apollo/node_modules ] || (cd apollo && npm ci --no-audit --no-fund)
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_for() { # URL BODY
  for _ in $(seq 1 200); do
    if curl -sf -H 'content-type: application/json' -d "$2" "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}

"$bin/bench_subgraphs" 4001 & pids+=($!)
subgraphs_pid=$!
for p in 4001 4002 4003 4004; do wait_for "http://127.0.0.1:$p/graphql" '{"query":"{ _service { sdl } }"}'; done
"$bin/bench_router" --compose supergraph.yaml > results/supergraph.graphql

# CPU time (user + system, in clock ticks) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run NAME CMD...: starts the gateway, warms it up, measures, records peak RSS
# and the CPU each side spent per request (gateway, subgraphs), since the
# gateway shares the machine's cores with the subgraphs and the load.
run() {
  local name=$1; shift
  "$@" > "results/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "http://127.0.0.1:$PORT/graphql" '{"query":"{ __typename }"}'
  "$bin/bench_load" "http://127.0.0.1:$PORT/graphql" query.graphql "$VUS" "$WARMUP" > /dev/null
  local result g0 s0 g1 s1
  g0=$(ticks "$pid"); s0=$(ticks "$subgraphs_pid")
  result=$("$bin/bench_load" "http://127.0.0.1:$PORT/graphql" query.graphql "$VUS" "$DURATION")
  g1=$(ticks "$pid"); s1=$(ticks "$subgraphs_pid")
  local requests cpu
  requests=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$result")
  cpu=$(python3 -c 'import sys; g,s,n,hz=map(float,sys.argv[1:]); n=max(n,1); print("{\"gateway_us\": %.1f, \"subgraphs_us\": %.1f}" % (g*1e6/hz/n, s*1e6/hz/n))' \
    "$((g1 - g0))" "$((s1 - s0))" "$requests" "$hz")
  local rss_kb
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "{\"gateway\": \"$name\", \"rss_mb\": $((rss_kb / 1024)), \"cpu_per_request\": $cpu, \"load\": $result}" | tee -a results/runs.jsonl
}

: > results/runs.jsonl
run marquee env BENCH_POLICIES=on "$bin/bench_router" supergraph.yaml "127.0.0.1:$PORT"
if want marquee-no-policies; then
  run marquee-no-policies env BENCH_POLICIES=off "$bin/bench_router" supergraph.yaml "127.0.0.1:$PORT"
fi
if want marquee-baseline && [ -n "${MARQUEE_BASELINE:-}" ]; then
  run marquee-baseline env BENCH_POLICIES=on "$MARQUEE_BASELINE" supergraph.yaml "127.0.0.1:$PORT"
fi
# `cargo install hive-router` names the binary hive_router in some releases.
hive=$(command -v hive-router || command -v hive_router || true)
if ! want hive-router; then
  :
elif [ -n "$hive" ]; then
  printf 'supergraph:\n  source: file\n  path: %s\nhttp:\n  host: 127.0.0.1\n  port: %s\n' \
    "$(pwd)/results/supergraph.graphql" "$PORT" > results/hive-router.config.yaml
  run hive-router env ROUTER_CONFIG_FILE_PATH="$(pwd)/results/hive-router.config.yaml" "$hive"
else
  echo "hive-router not on PATH: skipped (cargo install hive-router --features graphiql)" >&2
fi
if want apollo-gateway; then
  run apollo-gateway env PORT=$PORT node apollo/gateway.mjs
fi

python3 - <<'PY'
import json
runs = [json.loads(l) for l in open("results/runs.jsonl")]
base = runs[0]
print(f"\n{'gateway':<20}{'RPS':>9}{'p50 ms':>9}{'p99 ms':>9}{'RSS MB':>8}{'CPU us/req':>12}{'subgraphs':>11}{'RPS vs marquee':>16}")
for r in runs:
    l = r["load"]
    ratio = base["load"]["rps"] / l["rps"] if l["rps"] else float("inf")
    c = r["cpu_per_request"]
    print(f"{r['gateway']:<20}{l['rps']:>9.0f}{l['p50_ms']:>9.2f}{l['p99_ms']:>9.2f}{r['rss_mb']:>8}"
          f"{c['gateway_us']:>12.0f}{c['subgraphs_us']:>11.0f}"
          f"{'' if r is base else f'marquee {ratio:.2f}x':>16}"
          + (f"  ({l['failures']} failed)" if l["failures"] else ""))
PY
