//! The legacy REST API under `/api/v1/*`: each route is a stored GraphQL
//! operation (`router/rest/*.graphql`) run through the same engine, JWT
//! verification and rate limits as `/graphql`, its answer wrapped in the old
//! `{ success, data, pagination }` envelope with the old status codes.

mod input;
mod openapi;
mod swagger;
pub(crate) mod table;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawPathParams, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use http::{header, HeaderMap, Method, StatusCode};
use kit::cache::RateDecision;
use kit::telemetry::{RequestId, TraceContext};
use kit::ErrorCode;
use serde_json::{json, Map, Value};

use crate::engine::{Engine, GraphqlRequest};
use crate::policies::Policies;
use crate::response::{GraphqlError, GraphqlResponse};
use input::{BadInput, Paging};
use table::Route;

/// Every route, read once from the compiled-in documents.
static ROUTES: LazyLock<Vec<Arc<Route>>> = LazyLock::new(|| {
    table::load()
        .expect("the compiled-in REST documents load (a unit test checks)")
        .into_iter()
        .map(Arc::new)
        .collect()
});

/// The largest step of a cursor walk: the subgraphs' page maximum.
const WALK_STEP: u64 = 100;

#[derive(Clone)]
struct RestState {
    engine: Arc<Engine>,
    policies: Arc<Policies>,
    /// The routes sharing this path (one per method, or per `when`).
    routes: Arc<Vec<Arc<Route>>>,
}

/// `/api/v1/*`, `/api-docs` and `/api-docs/openapi.json`.
pub(crate) fn routes(engine: Arc<Engine>, policies: Arc<Policies>) -> Router {
    let mut by_path: BTreeMap<String, Vec<Arc<Route>>> = BTreeMap::new();
    for r in ROUTES.iter() {
        by_path.entry(r.template()).or_default().push(r.clone());
    }
    let mut router = Router::new();
    for (path, routes) in by_path {
        let state = RestState {
            engine: engine.clone(),
            policies: policies.clone(),
            routes: Arc::new(routes),
        };
        router = router.route(&path, any(handle).with_state(state));
    }
    router.merge(swagger::routes(engine, ROUTES.clone()))
}

/// An error answer in the legacy envelope.
#[derive(Debug)]
struct Failure {
    code: ErrorCode,
    message: String,
    details: Value,
}

impl Failure {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    fn from_graphql(e: &GraphqlError) -> Self {
        let code = e
            .code()
            .and_then(ErrorCode::parse)
            .unwrap_or(ErrorCode::Internal);
        let mut details: Map<String, Value> = e
            .extensions
            .iter()
            .filter(|(k, _)| *k != "code")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(path) = &e.path {
            details.insert("path".into(), json!(path));
        }
        // Planner or validation failures of a stored operation are our fault,
        // not the client's.
        let code = match code {
            ErrorCode::GraphqlParseFailed | ErrorCode::GraphqlValidationFailed => {
                tracing::error!(error = %e.message, "a stored REST operation was refused");
                ErrorCode::Internal
            }
            c => c,
        };
        let message = if code == ErrorCode::Internal {
            "internal error".to_string()
        } else {
            e.message.clone()
        };
        Self {
            code,
            message,
            details: if details.is_empty() {
                Value::Null
            } else {
                Value::Object(details)
            },
        }
    }

    fn respond(self, decision: Option<&RateDecision>) -> Response {
        let status = self.code.http_status();
        let body = json!({
            "success": false,
            "error": { "code": self.code.as_str(), "message": self.message, "details": self.details },
        });
        let mut r = (status, axum::Json(body)).into_response();
        if let Some(d) = decision {
            crate::policy::rate_headers(r.headers_mut(), d);
        }
        if status == StatusCode::TOO_MANY_REQUESTS && !r.headers().contains_key("retry-after") {
            let secs = self
                .details
                .get("retryAfter")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            r.headers_mut().insert("retry-after", secs.into());
        }
        r
    }
}

impl From<BadInput> for Failure {
    fn from(b: BadInput) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: b.message,
            details: json!({ "parameter": b.parameter }),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    State(state): State<RestState>,
    method: Method,
    path: RawPathParams,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request_id: Option<Extension<RequestId>>,
    trace: Option<Extension<TraceContext>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let query: Vec<(String, String)> = match query.as_deref() {
        None | Some("") => Vec::new(),
        Some(q) => url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    };
    let candidates: Vec<&Arc<Route>> = state.routes.iter().filter(|r| r.method == method).collect();
    if candidates.is_empty() {
        let allow: Vec<String> = state.routes.iter().map(|r| r.method.to_string()).collect();
        let mut r = Failure::new(
            ErrorCode::BadRequest,
            format!("{method} is not served here; use {}", allow.join(", ")),
        )
        .respond(None);
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        if let Ok(v) = allow.join(", ").parse() {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return r;
    }
    let route = candidates
        .iter()
        .find(|r| {
            r.when
                .as_ref()
                .is_some_and(|w| query.iter().any(|(k, _)| k == w))
        })
        .or_else(|| candidates.iter().find(|r| r.when.is_none()))
        .or(candidates.first())
        .map(|r| (*r).clone())
        .expect("candidates is not empty");
    let path: Vec<(String, String)> = path
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = match read_body(&route, &headers, body, state.policies.limits.max_body_bytes) {
        Ok(b) => b,
        Err(f) => return f.respond(None),
    };
    let caller = match crate::policies::caller(
        &state.policies,
        &headers,
        peer.map(|Extension(ConnectInfo(a))| a),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return Failure::from_graphql(&e).respond(None),
    };
    if route.auth && caller.claims.is_none() && state.policies.verifier.is_some() {
        return Failure::new(ErrorCode::Unauthenticated, "sign in to do this").respond(None);
    }
    let forward = crate::policy::forwarded(
        &headers,
        request_id.as_ref().map(|e| &e.0),
        trace.as_ref().map(|e| &e.0),
        caller.ip,
    );
    let supergraph = state.engine.supergraph();
    let (variables, paging) = match input::bind(&route, &supergraph.schema, &path, &query, body) {
        Ok(v) => v,
        Err(b) => return Failure::from(b).respond(None),
    };
    let run = Run {
        engine: &state.engine,
        policies: &state.policies,
        route: &route,
        forward: &forward,
        caller: &caller,
    };
    match paging {
        None => run.single(variables).await,
        Some(p) => run.page(variables, p).await,
    }
}

/// The JSON body, for methods that carry one.
fn read_body(
    route: &Route,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    max: usize,
) -> Result<Option<Map<String, Value>>, Failure> {
    let bytes = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Failure::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {max} bytes"),
            ))
        }
        Err(_) => {
            return Err(Failure::new(
                ErrorCode::BadRequest,
                "the body could not be read",
            ))
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if matches!(route.method, Method::GET | Method::DELETE) {
        return Err(Failure::new(
            ErrorCode::BadRequest,
            format!("{} requests take no body", route.method),
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        });
    if !is_json {
        return Err(Failure::new(
            ErrorCode::BadRequest,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(Failure::new(
            ErrorCode::BadRequest,
            "the body must be a JSON object",
        )),
        Err(e) => Err(Failure::new(
            ErrorCode::BadRequest,
            format!("the body is not valid JSON ({e})"),
        )),
    }
}

/// One route's execution through the engine.
struct Run<'a> {
    engine: &'a Engine,
    policies: &'a Policies,
    route: &'a Route,
    forward: &'a HeaderMap,
    caller: &'a crate::policy::Caller,
}

impl Run<'_> {
    async fn execute(
        &self,
        variables: Map<String, Value>,
        counted: bool,
    ) -> (GraphqlResponse, Option<RateDecision>) {
        let request = GraphqlRequest {
            query: Some(self.route.document.to_string()),
            operation_name: Some(self.route.operation.clone()),
            variables: Some(variables),
            extensions: None,
        };
        // The steps of a cursor walk are one client request: only the first counts.
        let gate = crate::admission::Admission {
            transport: crate::admission::Transport::Rest,
            caller: Some(self.caller),
            limiter: if counted {
                self.policies.limiter.as_ref()
            } else {
                None
            },
            persisted: None,
        };
        match self.engine.admit(request, &gate).await {
            Ok(admitted) => {
                let decision = admitted.decision;
                (
                    self.engine.respond(admitted, self.forward, false).await,
                    decision,
                )
            }
            Err(crate::admission::Rejection::Refused(response, decision)) => (response, decision),
            Err(rejection) => (
                GraphqlResponse {
                    errors: rejection.into_errors(),
                    ..Default::default()
                },
                None,
            ),
        }
    }

    /// The route's value in `response`, or the failure it carries.
    fn value(&self, response: &GraphqlResponse) -> Result<Value, Failure> {
        let root = response
            .data
            .as_ref()
            .and_then(|d| d.get(&self.route.root))
            .cloned()
            .unwrap_or(Value::Null);
        let mut value = root;
        for key in &self.route.data {
            value = value.get(key).cloned().unwrap_or(Value::Null);
        }
        if !value.is_null() {
            for e in &response.errors {
                tracing::debug!(error = %e.message, "REST answer with a partial error");
            }
            return Ok(value);
        }
        // Prefer the error at the route's own field over one deeper down.
        let at_root = response.errors.iter().find(|e| {
            e.path.as_ref().is_some_and(|p| {
                matches!(p.first(), Some(crate::response::PathElem::Key(k)) if *k == self.route.root)
                    && p.len() <= 1 + self.route.data.len()
            })
        });
        match at_root.or(response.errors.first()) {
            Some(e) => Err(Failure::from_graphql(e)),
            None => Err(Failure::new(
                ErrorCode::NotFound,
                format!("{} not found", self.route.group.trim_end_matches('s')),
            )),
        }
    }

    async fn single(&self, variables: Map<String, Value>) -> Response {
        let (response, decision) = self.execute(variables, true).await;
        if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
            return Failure::from_graphql(&crate::policy::rate_limited(d)).respond(Some(d));
        }
        match self.value(&response) {
            Ok(data) => self.success(json!({ "success": true, "data": data }), decision.as_ref()),
            Err(f) => self.in_rest_terms(f).respond(decision.as_ref()),
        }
    }

    /// A refused input names the field as the client sent it: `releaseDate`
    /// of the body, not `input.releaseDate` of the operation.
    fn in_rest_terms(&self, mut f: Failure) -> Failure {
        if let (Some(body), Some(field)) = (
            &self.route.body,
            f.details.get("field").and_then(Value::as_str),
        ) {
            if let Some(rest) = field.strip_prefix(&format!("{body}.")) {
                f.details["field"] = Value::String(rest.to_string());
            }
        }
        f
    }

    fn success(&self, body: Value, decision: Option<&RateDecision>) -> Response {
        let status = StatusCode::from_u16(self.route.status).unwrap_or(StatusCode::OK);
        let mut r = (status, axum::Json(body)).into_response();
        if let Some(d) = decision {
            crate::policy::rate_headers(r.headers_mut(), d);
        }
        r
    }

    /// Page `page` of the list: walk the cursors to where it starts (only
    /// cursors are fetched on the way), then read `limit` items.
    async fn page(&self, mut variables: Map<String, Value>, p: Paging) -> Response {
        if let Some(sort) = &p.sort {
            variables.insert("sort".into(), Value::String(sort.clone()));
        }
        let (size, cursor, cursor_field, more) = if p.reversed {
            ("last", "before", "startCursor", "hasPreviousPage")
        } else {
            ("first", "after", "endCursor", "hasNextPage")
        };
        let walking = self.route.variable("walk").is_some();
        let mut skip = (p.page - 1) * p.limit;
        let mut position: Option<String> = None;
        let mut decision: Option<RateDecision> = None;
        let mut first_call = true;
        let mut exhausted = false;
        let mut total: Option<u64> = None;
        while skip > 0 {
            let step = skip.min(WALK_STEP);
            let mut vars = variables.clone();
            vars.insert(size.into(), json!(step));
            if let Some(c) = &position {
                vars.insert(cursor.into(), json!(c));
            }
            if walking {
                vars.insert("walk".into(), json!(true));
            }
            let (response, d) = self.execute(vars, first_call).await;
            if first_call {
                decision = d;
                first_call = false;
                if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
                    return Failure::from_graphql(&crate::policy::rate_limited(d)).respond(Some(d));
                }
            }
            let connection = match self.value(&response) {
                Ok(c) => c,
                Err(f) => return f.respond(decision.as_ref()),
            };
            total = connection.get("totalCount").and_then(Value::as_u64);
            let info = &connection["pageInfo"];
            position = info[cursor_field].as_str().map(str::to_string);
            skip -= step;
            if position.is_none() || (skip > 0 && info[more] != json!(true)) {
                exhausted = true;
                break;
            }
            if skip == 0 && info[more] != json!(true) {
                exhausted = true;
            }
        }
        let items = if exhausted {
            Vec::new()
        } else {
            let mut vars = variables.clone();
            vars.insert(size.into(), json!(p.limit));
            if let Some(c) = &position {
                vars.insert(cursor.into(), json!(c));
            }
            let (response, d) = self.execute(vars, first_call).await;
            if first_call {
                decision = d;
                if let Some(d) = decision.as_ref().filter(|d| !d.allowed) {
                    return Failure::from_graphql(&crate::policy::rate_limited(d)).respond(Some(d));
                }
            }
            let connection = match self.value(&response) {
                Ok(c) => c,
                Err(f) => return f.respond(decision.as_ref()),
            };
            total = connection
                .get("totalCount")
                .and_then(Value::as_u64)
                .or(total);
            let mut items: Vec<Value> = connection["edges"]
                .as_array()
                .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
                .unwrap_or_default();
            if p.reversed {
                items.reverse();
            }
            items
        };
        let pages = total.map(|t| t.div_ceil(p.limit));
        self.success(
            json!({
                "success": true,
                "data": items,
                "pagination": { "page": p.page, "limit": p.limit, "total": total, "pages": pages },
            }),
            decision.as_ref(),
        )
    }
}
