//! The HTTP face of a subgraph's GraphQL schema: POST and GET `/graphql`, the
//! caller's token verified again here (the router's check is not trusted on its
//! own), the viewer and request metadata put in the GraphQL context.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::Executor;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::{HeaderMap, StatusCode};

use crate::auth::{RequestMeta, Verifier, Viewer};
use crate::telemetry::RequestId;

struct GraphqlState<E> {
    executor: E,
    verifier: Arc<Verifier>,
}

/// `/graphql` for `executor` (an async-graphql `Schema`).
pub fn routes<E: Executor + Clone>(executor: E, verifier: Arc<Verifier>) -> Router {
    let state = Arc::new(GraphqlState { executor, verifier });
    Router::new()
        .route("/graphql", get(handle::<E>).post(handle::<E>))
        .with_state(state)
}

async fn handle<E: Executor>(
    State(state): State<Arc<GraphqlState<E>>>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let viewer = match state.verifier.from_headers(&headers).await {
        Ok(v) => v,
        Err(e) => {
            let status = if e.code() == crate::error::ErrorCode::ServiceUnavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNAUTHORIZED
            };
            let body = async_graphql::Response::from_errors(vec![crate::error::Error::from(e)
                .to_graphql()
                .into_server_error(async_graphql::Pos::default())]);
            return (status, GraphQLResponse::from(body)).into_response();
        }
    };
    let meta = RequestMeta {
        request_id: request_id.map(|Extension(RequestId(id))| id),
        client_ip: client_ip(&headers, connect.map(|Extension(ConnectInfo(a))| a)),
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
    };
    let request = request.into_inner().data(Viewer(viewer)).data(meta);
    GraphQLResponse::from(state.executor.execute(request).await).into_response()
}

/// The client address: the first `X-Forwarded-For` hop (set by the router,
/// which subgraphs sit behind), else the peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
        .or_else(|| peer.map(|p| p.ip().to_string()))
}
