#!/bin/sh
# Vendors Swagger UI's browser bundle so the router serves /api-docs with no
# internet: the minified files are compiled into the binary (router/src/rest/swagger.rs).
# Run from anywhere: sh router/assets/fetch-swagger-ui.sh
set -eu
SWAGGER_UI=5.35.0
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI" >/dev/null
mkdir pkg && tar xzf "swagger-ui-dist-$SWAGGER_UI.tgz" -C pkg
cp pkg/package/swagger-ui-bundle.js "$here/swagger-ui-bundle.js"
cp pkg/package/swagger-ui.css "$here/swagger-ui.css"
cp pkg/package/LICENSE "$here/LICENSE.swagger-ui"
cp pkg/package/NOTICE "$here/NOTICE.swagger-ui"
echo "vendored swagger-ui-dist $SWAGGER_UI into $here"
