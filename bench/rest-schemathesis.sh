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
# schemathesis keeps its example database in the working directory: the temp dir.
cd "$(dirname "$0")/.."
max_examples="${MAX_EXAMPLES:-25}"
command -v st >/dev/null || { echo "schemathesis is not installed: pip install schemathesis"; exit 1; }
. bench/rest-dev.sh

# The seeded admin's token, through the REST login route itself.
read -r login _ password _ < <(grep ' ADMIN$' "$data/seed-accounts.txt")
token=$(curl -sf -X POST "$router/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\": \"$login\", \"password\": \"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["accessToken"])')

status=0
(cd "$data" && st run "$router/api-docs/openapi.json" --url "$router" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$max_examples" \
  --workers 2 \
  --suppress-health-check all \
  "$@") || status=$?
# The router's own count of what it answered, by status class.
echo "router answers by status:"
curl -s "$router/metrics" | grep '^marquee_http_requests_total{' | grep 'service="router"' |
  sed -E 's/.*status="([0-9])[0-9]{2}".* ([0-9.e+]+)$/\1xx \2/' |
  awk '{n[$1]+=$2} END {for (k in n) printf "  %s %d\n", k, n[k]}' | sort
if curl -s "$router/metrics" | grep 'service="router"' | grep -q 'status="5'; then
  echo "the router answered a 5xx"; status=1
fi
exit "$status"
