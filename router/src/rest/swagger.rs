//! Swagger UI at `/api-docs` over the generated document at
//! `/api-docs/openapi.json`. Its scripts and styles are compiled into the
//! binary (vendored by `assets/fetch-swagger-ui.sh`): no CDN, no download.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};

use super::table::Route;
use crate::engine::Engine;

/// Kept out of the page so the content security policy needs no inline script.
const INIT: &str = "window.ui = SwaggerUIBundle({ url: window.location.origin + '/api-docs/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });\n";

const ASSETS: [(&str, &str, &[u8]); 3] = [
    ("init.js", "text/javascript; charset=utf-8", INIT.as_bytes()),
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui.css"),
    ),
];

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Marquee legacy REST API</title>
  <link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body style="margin: 0">
  <div id="swagger-ui">Loading…</div>
  <script src="/api-docs/swagger-ui-bundle.js"></script>
  <script src="/api-docs/init.js"></script>
</body>
</html>
"#;

#[derive(Clone)]
struct Docs {
    engine: Arc<Engine>,
    routes: Arc<Vec<Arc<Route>>>,
}

pub(crate) fn routes(engine: Arc<Engine>, routes: Vec<Arc<Route>>) -> Router {
    Router::new()
        .route("/api-docs", get(page))
        .route("/api-docs/", get(page))
        .route("/api-docs/openapi.json", get(openapi))
        .route("/api-docs/{file}", get(asset))
        .with_state(Docs {
            engine,
            routes: Arc::new(routes),
        })
}

async fn page() -> Response {
    Html(PAGE).into_response()
}

/// Generated from the supergraph being served, so a reload shows at once.
async fn openapi(State(docs): State<Docs>) -> Response {
    let supergraph = docs.engine.supergraph();
    let document = super::openapi::document(&docs.routes, &supergraph.schema);
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::Json(document),
    )
        .into_response()
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
