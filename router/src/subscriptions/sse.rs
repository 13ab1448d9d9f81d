//! GraphQL over Server-Sent Events in distinct-connections mode (graphql-sse's
//! PROTOCOL.md): a POST (JSON body) or GET (query parameters) on `/graphql`
//! accepting `text/event-stream` gets one stream per operation, `next` events
//! with a GraphQL response each, then `complete`. A request refused before
//! it starts (bad token, invalid operation, not a room member) is answered
//! with a plain JSON error response and the status of its code. The stream
//! completes when the access token expires or its session is revoked (the
//! client signs in again and resumes with `after`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::Stream;
use http::{header, HeaderMap, Method, StatusCode};
use kit::ErrorCode;
use serde_json::{json, Value};

use super::{Live, Started};
use crate::admission::Transport;
use crate::engine::GraphqlRequest;
use crate::policy::Caller;
use crate::response::GraphqlError;

/// Serves one SSE request (already known to accept `text/event-stream`).
pub(crate) async fn serve(
    live: Arc<Live>,
    request: axum::extract::Request,
    forward: HeaderMap,
    max_body: usize,
    slot: super::caps::Slot,
) -> Response {
    let (parts, body) = request.into_parts();
    let graphql = if parts.method == Method::GET {
        let Ok(Query(params)) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri) else {
            return refused(bad("the query string is malformed"));
        };
        let object = |name: &str| match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(t) => serde_json::from_str(t)
                .map(Some)
                .map_err(|_| bad(&format!("`{name}` is not a JSON object"))),
        };
        let (variables, extensions) = match (object("variables"), object("extensions")) {
            (Ok(v), Ok(e)) => (v, e),
            (Err(e), _) | (_, Err(e)) => return refused(e),
        };
        GraphqlRequest {
            query: params.get("query").cloned(),
            operation_name: params
                .get("operationName")
                .cloned()
                .filter(|n| !n.is_empty()),
            variables,
            extensions,
        }
    } else {
        let Ok(bytes) = axum::body::to_bytes(Body::new(body), max_body).await else {
            return refused(GraphqlError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {max_body} bytes"),
            ));
        };
        match serde_json::from_slice::<GraphqlRequest>(&bytes) {
            Ok(r) => r,
            Err(_) => return refused(bad("the body is not a GraphQL request")),
        }
    };
    let claims = match live.verifier() {
        Some(v) => match crate::policy::identify(v, &parts.headers).await {
            Ok(c) => c,
            Err(e) => return refused(e),
        },
        None => None,
    };
    let mut subgraph_headers = forward;
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        // Copied: held by the subscription, a slice would pin the read buffer.
        subgraph_headers.insert(header::AUTHORIZATION, super::detached(auth));
    }
    let expires_in = claims.as_ref().map(|c| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Duration::from_secs((c.exp - now).max(0) as u64)
    });
    let caller = Caller {
        claims,
        ip: live.client_ip(
            &parts.headers,
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| *a),
        ),
    };
    let transport = if parts.method == Method::GET {
        Transport::SseGet
    } else {
        Transport::SsePost
    };
    match Box::pin(live.start(graphql, &caller, subgraph_headers, transport)).await {
        Err(rejection) => {
            let status = rejection.status();
            let mut r = refused_all(rejection.into_errors());
            *r.status_mut() = status;
            if status == StatusCode::METHOD_NOT_ALLOWED {
                r.headers_mut()
                    .insert(header::ALLOW, http::HeaderValue::from_static("POST"));
            }
            r
        }
        Ok(Started::Single(response)) => {
            let one = futures::stream::iter([
                Ok::<_, Infallible>(next(&serde_json::to_value(&response).unwrap_or_default())),
                Ok(complete()),
            ]);
            Sse::new(one).into_response()
        }
        Ok(Started::Stream(subscription)) => {
            // A signed-in stream's token is verified again now and then, so
            // a logout or suspension ends it like a socket.
            let recheck = caller.claims.clone().map(|claims| (live.clone(), claims));
            Sse::new(events(subscription, expires_in, recheck, slot))
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
                .into_response()
        }
    }
}

fn events(
    mut subscription: Box<super::Subscription>,
    expires_in: Option<Duration>,
    recheck: Option<(Arc<Live>, kit::auth::Claims)>,
    slot: super::caps::Slot,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    async_stream(move |tx| async move {
        // The connection's place is held for as long as the stream runs.
        let _slot = slot;
        let expiry = tokio::time::sleep(expires_in.unwrap_or(Duration::from_secs(365 * 24 * 3600)));
        tokio::pin!(expiry);
        let every = super::ws::RECHECK;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = &mut expiry => break,
                _ = tick.tick(), if recheck.is_some() => {
                    if let Some((live, claims)) = &recheck {
                        if let Some(v) = live.verifier() {
                            if v.still_valid(claims).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                // The client went away: leave the topic now, not at the next event.
                _ = tx.closed() => return,
                d = subscription.next() => {
                    let Some(d) = d else { break };
                    if tx.send(SseEvent::default().event("next").data(&*d.payload)).await.is_err() {
                        return;
                    }
                    if d.ends {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(complete()).await;
    })
}

/// A stream fed by `body` through a small channel (ends when `body` returns).
fn async_stream<F, Fut>(body: F) -> impl Stream<Item = Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    // The task ends when the client goes (the receiver is dropped, sends fail).
    tokio::spawn(body(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}

fn next(payload: &Value) -> SseEvent {
    SseEvent::default().event("next").data(payload.to_string())
}

fn complete() -> SseEvent {
    SseEvent::default().event("complete").data("")
}

fn bad(message: &str) -> GraphqlError {
    GraphqlError::new(ErrorCode::BadRequest, message)
}

fn refused(error: GraphqlError) -> Response {
    refused_all(vec![error])
}

fn refused_all(errors: Vec<GraphqlError>) -> Response {
    let status = errors
        .first()
        .and_then(|e| e.code())
        .and_then(ErrorCode::parse)
        .map(|c| c.http_status())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({ "errors": errors }))).into_response()
}
