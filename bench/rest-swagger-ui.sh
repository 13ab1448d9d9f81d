#!/usr/bin/env bash
# Swagger UI in headless Chromium (Debian's `chromium`) with every host but
# the local router unreachable: boots `marquee dev`, checks the rendered page
# lists the REST routes (so its scripts came from the router, not a CDN) and
# saves a screenshot.
#
#   bash bench/rest-swagger-ui.sh [out.png]     # default: swagger-ui.png
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-swagger-ui.png}")
browser=$(command -v chromium || command -v chromium-browser) || { echo "no chromium: apt-get install chromium"; exit 1; }
. bench/rest-dev.sh
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --user-data-dir="$data/chromium"
  # No name resolves and no proxy answers: only the loopback router is reachable.
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
  --virtual-time-budget=15000 --window-size=1280,2400)
dom=$("$browser" "${flags[@]}" --dump-dom "$router/api-docs" 2>/dev/null)
for route in "/api/v1/auth/login" "/api/v1/movies" "/api/v1/series/{id}/seasons" "/api/v1/posts/{id}/comments"; do
  grep -qF "$route" <<<"$dom" || { echo "Swagger UI does not list $route"; exit 1; }
done
echo "Swagger UI renders and lists the REST routes, with no host but the router reachable"
"$browser" "${flags[@]}" --screenshot="$out" "$router/api-docs" 2>/dev/null
echo "screenshot: $out"
