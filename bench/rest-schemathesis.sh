#!/usr/bin/env bash
# Property-based test of the legacy REST API: boots `marquee dev` (embedded
# backends, demo catalog) in a fresh data dir on free ports, signs in as the
# seeded admin, and runs schemathesis (PyPI) against /api-docs/openapi.json:
# every documented route with generated valid and invalid inputs, checking no
# server error and that every answer (status, content type, body) matches the
# document. `positive_data_acceptance` is left out: it expects a 2xx for any
# schema-valid input, but domain rules the schema cannot express (a rating
# from 0 to 10, a password of 8+ characters, no self-follow, ids that exist)
# answer their documented 404/409/422. Rate limits are lifted for the run (their 429s are tested in
# e2e/tests/rest.rs). Needs: pip install schemathesis.
#
#   bash bench/rest-schemathesis.sh            # MAX_EXAMPLES=25
#   MARQUEE_BIN=path/to/marquee bash bench/rest-schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${MARQUEE_BIN:-${CARGO_TARGET_DIR:-target}/debug/marquee}"
max_examples="${MAX_EXAMPLES:-25}"
command -v st >/dev/null || { echo "schemathesis is not installed: pip install schemathesis"; exit 1; }
data=$(mktemp -d)
log="$data/marquee.log"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait "${pid:-0}" 2>/dev/null || true; rm -rf "$data"' EXIT

# Seven consecutive free ports from a random base.
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

# The seeded admin's token, through the REST login route itself.
read -r login _ password _ < <(grep ' ADMIN$' "$data/seed-accounts.txt")
token=$(curl -sf -X POST "$router/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\": \"$login\", \"password\": \"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["accessToken"])')

status=0
st run "$router/api-docs/openapi.json" --url "$router" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$max_examples" \
  --workers 2 \
  --suppress-health-check all \
  "$@" || status=$?
# The router's own count of what it answered, by status class.
echo "router answers by status:"
curl -s "$router/metrics" | grep '^marquee_http_requests_total{' | grep 'service="router"' |
  sed -E 's/.*status="([0-9])[0-9]{2}".* ([0-9.e+]+)$/\1xx \2/' |
  awk '{n[$1]+=$2} END {for (k in n) printf "  %s %d\n", k, n[k]}' | sort
if curl -s "$router/metrics" | grep 'service="router"' | grep -q 'status="5'; then
  echo "the router answered a 5xx"; status=1
fi
exit "$status"
