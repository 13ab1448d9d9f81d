//! GraphiQL for a browser's GET of `/graphql`. Its scripts and styles are
//! compiled into the binary (vendored by `assets/fetch.sh`), so the page works
//! with no internet access.

use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};

/// Kept out of the page so the content security policy needs no inline script.
const INIT: &str = "const fetcher = GraphiQL.createFetcher({ url: window.location.origin + '/graphql', headers: { 'graphql-preflight': '1' } });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true })
);
";

const ASSETS: [(&str, &str, &[u8]); 5] = [
    ("init.js", "text/javascript; charset=utf-8", INIT.as_bytes()),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/react-dom.production.min.js"),
    ),
];

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Marquee GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
</head>
<body style="margin: 0">
  <div id="graphiql" style="height: 100vh">Loading…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script src="/graphiql/init.js"></script>
</body>
</html>
"#;

pub(crate) fn page() -> Response {
    Html(PAGE).into_response()
}

/// `/graphiql/<asset>`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/graphiql/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
