#!/usr/bin/env bash
# Subscription fan-out: N graphql-transport-ws subscribers on one subject
# (commentAdded of one post), R comments; for Marquee (the whole system, in
# one process) and for async-graphql's own subscription server (the floor),
# each in a fresh process with the subscribers in a child process: prints
# mutation-to-last-delivery p50/p99, every delivery's p50/p99 and the
# server's RSS growth per subscriber.
#
#   bash bench/live.sh                 # 1,000 subscribers, 20 rounds (quick)
#   BENCH_FULL=1 bash bench/live.sh    # 10,000 subscribers
#   BENCH_SUBSCRIBERS=N BENCH_ROUNDS=R BENCH_TARGETS="marquee" bash bench/live.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
subscribers=${BENCH_SUBSCRIBERS:-$([ "${BENCH_FULL:-}" = 1 ] && echo 10000 || echo 1000)}
rounds=${BENCH_ROUNDS:-20}
targets=${BENCH_TARGETS:-floor marquee async-graphql}
# The server and the client process each hold one end of every socket.
ulimit -n "$(( subscribers + 4096 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p bench/results
nice cargo build --release -p e2e --example bench_live
out="bench/results/live-$(date +%Y%m%d-%H%M%S).txt"
for target in $targets; do
  "$CARGO_TARGET_DIR/release/examples/bench_live" "$target" "$subscribers" "$rounds" 2>/dev/null
done | tee "$out"
