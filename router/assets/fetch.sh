#!/bin/sh
# Vendors GraphiQL's browser bundle so the router serves it with no internet:
# the minified files are compiled into the binary (router/src/graphiql.rs).
# Run from anywhere: sh router/assets/fetch.sh
set -eu
GRAPHIQL=3.8.3
REACT=18.3.1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for pkg in graphiql-$GRAPHIQL react-$REACT react-dom-$REACT; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done
cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "$here/graphiql.min.js"
cp "graphiql-$GRAPHIQL/package/graphiql.min.css" "$here/graphiql.min.css"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$here/LICENSE.graphiql"
cp "react-$REACT/package/umd/react.production.min.js" "$here/react.production.min.js"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$here/react-dom.production.min.js"
cp "react-$REACT/package/LICENSE" "$here/LICENSE.react"
echo "vendored graphiql $GRAPHIQL and react $REACT into $here"
