# Sourced by the REST scripts: boots `marquee dev` (embedded backends, demo
# catalog) in a fresh data dir on free ports with rate limits lifted, and sets
# `router` (its URL), `data` (the data dir) and `pid`; stops it on exit.
bin="${MARQUEE_BIN:-${CARGO_TARGET_DIR:-target}/debug/marquee}"
data=$(mktemp -d)
log="$data/marquee.log"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait "${pid:-0}" 2>/dev/null || true; rm -rf "$data"' EXIT
# Seven consecutive ports from a random base.
base=$(( 20000 + RANDOM % 20000 ))
env -u DATABASE_URL -u REDIS_URL -u NATS_URL -u ELASTICSEARCH_URL \
  MARQUEE__LISTEN__ROUTER=$base MARQUEE__LISTEN__USERS=$((base+1)) MARQUEE__LISTEN__CONTENT=$((base+2)) \
  MARQUEE__LISTEN__SOCIAL=$((base+3)) MARQUEE__LISTEN__MODERATION=$((base+4)) \
  MARQUEE__LISTEN__MEDIA=$((base+5)) MARQUEE__LISTEN__MONITORING=$((base+6)) \
  MARQUEE__ROUTER__RATE_LIMIT__AUTH__PER_MINUTE=1000000 MARQUEE__ROUTER__RATE_LIMIT__API__PER_MINUTE=1000000 \
  "$bin" dev --data-dir "$data" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do
  grep -q "marquee is serving" "$log" && break
  kill -0 "$pid" 2>/dev/null || { echo "marquee dev exited:"; cat "$log"; exit 1; }
  sleep 0.5
done
grep -q "marquee is serving" "$log" || { echo "marquee dev did not come up:"; cat "$log"; exit 1; }
router="http://127.0.0.1:$base"
