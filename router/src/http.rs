//! GraphQL over HTTP on `/graphql`: POST with `application/json`, GET for
//! queries only, `application/graphql-response+json` with its status codes
//! when the client accepts it, optional batching, GraphiQL for browsers; plus
//! `/health`, `/health/ready` (every subgraph's readiness) and `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use kit::cache::RateDecision;
use kit::telemetry::{RequestId, TraceContext};
use kit::ErrorCode;
use serde_json::Value;

use crate::admission::{Rejection, Transport};
use crate::engine::{Engine, GraphqlRequest};
use crate::policies::{caller, Policies};
use crate::policy::{forwarded, has_preflight_header};
use crate::response::{GraphqlError, GraphqlResponse};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    policies: Arc<Policies>,
    health: reqwest::Client,
    /// The last JWKS fetched from `policies.jwks_url`, kept a minute.
    jwks: moka::future::Cache<(), Bytes>,
}

/// The router's HTTP surface over `engine`.
pub fn routes(engine: Arc<Engine>, policies: Policies) -> Router {
    let body_limit = policies.limits.max_body_bytes;
    let browser = crate::browser::state(&policies);
    let mut graphql = get(graphql_get).post(graphql_post);
    if let Some(live) = policies.live.clone() {
        graphql = graphql.layer(axum::middleware::from_fn_with_state(
            live,
            crate::subscriptions::intercept,
        ));
    }
    let state = AppState {
        engine,
        policies: Arc::new(policies),
        health: reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("a client with static settings builds"),
        jwks: moka::future::Cache::builder()
            .time_to_live(Duration::from_secs(60))
            .build(),
    };
    let rest = crate::rest::routes(state.engine.clone(), state.policies.clone());
    Router::new()
        .route("/graphql", graphql)
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(health))
        .route("/health/ready", get(ready))
        .with_state(state)
        .merge(rest)
        .merge(crate::graphiql::routes())
        .merge(kit::telemetry::metrics_routes())
        .fallback(kit::telemetry::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            browser,
            crate::browser::apply,
        ))
        .layer(axum::middleware::from_fn_with_state(
            "router",
            kit::telemetry::observe,
        ))
}

/// Runs one request through the admission stage and the engine.
async fn run(
    state: &AppState,
    request: GraphqlRequest,
    forward: &HeaderMap,
    transport: Transport,
    caller: &crate::policy::Caller,
) -> Result<(GraphqlResponse, Option<RateDecision>), Rejection> {
    let admitted = state
        .engine
        .admit(request, &state.policies.admission(transport, caller))
        .await?;
    let decision = admitted.decision;
    Ok((
        state.engine.respond(admitted, forward, true).await,
        decision,
    ))
}

/// A refusal as the answer: 405 for the method rule, else the errors with
/// the rate limit's headers.
fn rejected(rejection: Rejection, new_media_type: bool) -> Response {
    match rejection {
        Rejection::MethodNotAllowed => not_allowed(),
        Rejection::Refused(response, decision) => answer(response, decision, new_media_type),
    }
}

/// A request refused before it ran, with the status its code carries.
fn refused(error: GraphqlError, new_media_type: bool) -> Response {
    let status = error
        .code()
        .and_then(ErrorCode::parse)
        .map_or(StatusCode::BAD_REQUEST, |c| c.http_status());
    let mut r = respond(GraphqlResponse::request_error(error), new_media_type);
    *r.status_mut() = status;
    r
}

/// The answer to one executed request, with its rate-limit headers; a
/// refused one is a 429 whatever the media type.
fn answer(
    response: GraphqlResponse,
    decision: Option<RateDecision>,
    new_media_type: bool,
) -> Response {
    let mut r = respond(response, new_media_type);
    if let Some(d) = decision {
        crate::policy::rate_headers(r.headers_mut(), &d);
        if !d.allowed {
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
    }
    r
}

/// The media type of the answer: the new one when the client accepts it.
fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(GRAPHQL_RESPONSE_JSON))
}

fn respond(response: GraphqlResponse, new_media_type: bool) -> Response {
    // application/json answers 200 to every well-formed request; the new media
    // type says "the operation never ran" with a 4xx.
    let status = if new_media_type && response.is_request_error() {
        response
            .errors
            .first()
            .and_then(|e| e.code())
            .and_then(ErrorCode::parse)
            .map(|c| match c.http_status() {
                s if s.is_client_error() => s,
                _ => StatusCode::BAD_REQUEST,
            })
            .unwrap_or(StatusCode::BAD_REQUEST)
    } else {
        StatusCode::OK
    };
    let content_type = if new_media_type {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        response.into_json(),
    )
        .into_response()
}

fn bad_request(message: &str, new_media_type: bool) -> Response {
    let response =
        GraphqlResponse::request_error(GraphqlError::new(ErrorCode::BadRequest, message));
    let mut r = respond(response, true);
    if !new_media_type {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    r
}

fn not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST")],
        Json(GraphqlResponse::request_error(GraphqlError::new(
            ErrorCode::BadRequest,
            "only queries may be sent with GET; use POST",
        ))),
    )
        .into_response()
}

async fn graphql_get(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request_id: Option<Extension<RequestId>>,
    trace: Option<Extension<TraceContext>>,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if browser && !params.contains_key("query") {
        return crate::graphiql::page();
    }
    let new_media_type = wants_graphql_response(&headers);
    if state.policies.csrf_prevention && !has_preflight_header(&headers) {
        return bad_request(
            "GET requests need a `graphql-preflight: 1` header (CSRF prevention); or use POST with application/json",
            new_media_type,
        );
    }
    let caller = match caller(
        &state.policies,
        &headers,
        peer.map(|Extension(ConnectInfo(a))| a),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return refused(e, new_media_type),
    };
    let json_param = |name: &str| -> Result<Option<serde_json::Map<String, Value>>, Response> {
        match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => serde_json::from_str(text).map(Some).map_err(|_| {
                bad_request(&format!("`{name}` is not a JSON object"), new_media_type)
            }),
        }
    };
    let variables = match json_param("variables") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let extensions = match json_param("extensions") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let request = GraphqlRequest {
        query: params.get("query").cloned(),
        operation_name: params
            .get("operationName")
            .cloned()
            .filter(|n| !n.is_empty()),
        variables,
        extensions,
    };
    let forward = forwarded(
        &headers,
        request_id.as_ref().map(|e| &e.0),
        trace.as_ref().map(|e| &e.0),
        caller.ip,
    );
    match run(&state, request, &forward, Transport::Get, &caller).await {
        Ok((response, decision)) => answer(response, decision, new_media_type),
        Err(r) => rejected(r, new_media_type),
    }
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request_id: Option<Extension<RequestId>>,
    trace: Option<Extension<TraceContext>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let new_media_type = wants_graphql_response(&headers);
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(
                GraphqlError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the body is larger than {} bytes",
                        state.policies.limits.max_body_bytes
                    ),
                ),
                new_media_type,
            )
        }
        Err(_) => return bad_request("the body could not be read", new_media_type),
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        let mut r = bad_request("the body must be `application/json`", new_media_type);
        *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return r;
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return bad_request("the body is not valid JSON", new_media_type),
    };
    let caller = match caller(
        &state.policies,
        &headers,
        peer.map(|Extension(ConnectInfo(a))| a),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return refused(e, new_media_type),
    };
    let forward = forwarded(
        &headers,
        request_id.as_ref().map(|e| &e.0),
        trace.as_ref().map(|e| &e.0),
        caller.ip,
    );
    match parsed {
        Value::Array(items) if state.policies.batching => {
            let max = state.policies.limits.max_batch;
            if items.len() > max {
                return refused(
                    GraphqlError::new(
                        ErrorCode::QueryTooComplex,
                        format!(
                            "the batch has {} operations; at most {max} are allowed",
                            items.len()
                        ),
                    )
                    .extension("limit", serde_json::json!("batch"))
                    .extension("max", serde_json::json!(max)),
                    new_media_type,
                );
            }
            let mut answers = Vec::with_capacity(items.len());
            for item in items {
                let answer = match serde_json::from_value::<GraphqlRequest>(item) {
                    Ok(request) => {
                        match run(&state, request, &forward, Transport::Post, &caller).await {
                            Ok((r, _)) => r,
                            Err(r) => GraphqlResponse {
                                errors: r.into_errors(),
                                ..Default::default()
                            },
                        }
                    }
                    Err(_) => GraphqlResponse::request_error(GraphqlError::new(
                        ErrorCode::BadRequest,
                        "a batch entry is not a GraphQL request",
                    )),
                };
                answers.push(answer);
            }
            let content_type = if new_media_type {
                GRAPHQL_RESPONSE_JSON
            } else {
                "application/json"
            };
            let mut body = vec![b'['];
            for (i, a) in answers.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&a.to_json());
            }
            body.push(b']');
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Value::Array(_) => bad_request("request batching is disabled", new_media_type),
        other => {
            let request: GraphqlRequest = match serde_json::from_value(other) {
                Ok(r) => r,
                Err(_) => return bad_request("the body is not a GraphQL request", new_media_type),
            };
            match run(&state, request, &forward, Transport::Post, &caller).await {
                Ok((response, decision)) => answer(response, decision, new_media_type),
                Err(r) => rejected(r, new_media_type),
            }
        }
    }
}

/// The signing keys, as the users subgraph publishes them.
async fn jwks(State(state): State<AppState>) -> Response {
    let Some(url) = state.policies.jwks_url.clone() else {
        return kit::telemetry::not_found().await.into_response();
    };
    let client = state.health.clone();
    let fetched = state
        .jwks
        .try_get_with((), async move {
            let r = client.get(url).send().await.map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("answered {}", r.status()));
            }
            r.bytes().await.map_err(|e| e.to_string())
        })
        .await;
    match fetched {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "JWKS unavailable");
            let error = GraphqlError::new(
                ErrorCode::ServiceUnavailable,
                "the signing keys are unavailable",
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "errors": [error] })),
            )
                .into_response()
        }
    }
}

async fn health() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok", "service": "router" }))
}

/// Each subgraph's own `/health/ready`, asked concurrently.
async fn ready(State(state): State<AppState>) -> Response {
    let mut readiness = kit::health::Readiness::new("router");
    for (name, url) in state.engine.supergraph().subgraphs() {
        let client = state.health.clone();
        let target = reqwest::Url::parse(&url).map(|mut u| {
            u.set_path("/health/ready");
            u.set_query(None);
            u
        });
        let breaker = state
            .engine
            .breakers()
            .map_or(crate::breaker::State::Closed, |b| b.state(&name));
        readiness = readiness.check(name, move || {
            let client = client.clone();
            let target = target.clone();
            async move {
                if breaker == crate::breaker::State::Open {
                    return Err("circuit breaker is open".to_string());
                }
                let target = target.map_err(|e| format!("bad routing URL: {e}"))?;
                let response = client.get(target).send().await.map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("answered {}", response.status()))
                }
            }
        });
    }
    let report = readiness.report().await;
    let status = if report.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}
