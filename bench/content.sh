#!/usr/bin/env bash
# The content subgraph's nested 50-title query beside one hand-written SQL
# statement returning the same rows; prints RPS, p50/p99 and ratios to SQL.
#
#   bash bench/content.sh                      # embedded SQLite catalog
#   DATABASE_URL=postgres://... bash bench/content.sh   # PostgreSQL
#   BENCH_WORKERS=8 BENCH_SECONDS=10 BENCH_WARMUP=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
mkdir -p bench/results
nice cargo build --release -p content --example bench_catalog
"$CARGO_TARGET_DIR/release/examples/bench_catalog" | tee "bench/results/content-$(date +%Y%m%d-%H%M%S).txt"
