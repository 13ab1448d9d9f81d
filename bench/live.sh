#!/usr/bin/env bash
# Subscription fan-out: N graphql-transport-ws subscribers on one subject
# (commentAdded of one post), R comments; prints mutation-to-last-delivery
# p50/p99, every delivery's p50/p99 and RSS growth per subscriber.
#
#   bash bench/live.sh            # 1,000 subscribers, 20 rounds (quick)
#   BENCH_FULL=1 bash bench/live.sh   # 10,000 subscribers
#   BENCH_SUBSCRIBERS=N BENCH_ROUNDS=R bash bench/live.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
subscribers=${BENCH_SUBSCRIBERS:-$([ "${BENCH_FULL:-}" = 1 ] && echo 10000 || echo 1000)}
rounds=${BENCH_ROUNDS:-20}
# Each subscriber holds two sockets in this process (client and router side).
ulimit -n "$(( subscribers * 2 + 1024 ))" 2>/dev/null || true
mkdir -p bench/results
nice cargo build --release -p e2e --example bench_live
"$CARGO_TARGET_DIR/release/examples/bench_live" "$subscribers" "$rounds" 2>/dev/null \
  | tee "bench/results/live-$(date +%Y%m%d-%H%M%S).txt"
