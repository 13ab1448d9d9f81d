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

/// Adds per-request data (e.g. dataloaders whose cache lives one request).
pub type PerRequest = Arc<dyn Fn(async_graphql::Request) -> async_graphql::Request + Send + Sync>;

struct GraphqlState<E> {
    executor: E,
    verifier: Arc<Verifier>,
    per_request: Option<PerRequest>,
}

/// `/graphql` for `executor` (an async-graphql `Schema`).
pub fn routes<E: Executor + Clone>(executor: E, verifier: Arc<Verifier>) -> Router {
    routes_with(executor, verifier, None)
}

/// `routes`, with `per_request` applied to every request before it runs.
pub fn routes_with<E: Executor + Clone>(
    executor: E,
    verifier: Arc<Verifier>,
    per_request: Option<PerRequest>,
) -> Router {
    let state = Arc::new(GraphqlState {
        executor,
        verifier,
        per_request,
    });
    Router::new()
        .route("/graphql", get(handle::<E>).post(handle::<E>))
        .with_state(state)
}

async fn handle<E: Executor>(
    State(state): State<Arc<GraphqlState<E>>>,
    client: Option<Extension<crate::net::ClientAddr>>,
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
        // Resolved by `net::resolve` (trusted proxies only); a bare router
        // without that layer (tests) knows only its peer.
        client_ip: match client {
            Some(Extension(crate::net::ClientAddr(ip))) => ip,
            None => connect.map(|Extension(ConnectInfo(a))| a.ip()),
        }
        .map(|ip| ip.to_string()),
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
    };
    let mut request = request.into_inner().data(Viewer(viewer)).data(meta);
    if let Some(add) = &state.per_request {
        request = add(request);
    }
    GraphQLResponse::from(state.executor.execute(request).await).into_response()
}

/// Relay's `PageInfo`, one type for every subgraph's connections (shareable,
/// so the supergraph composes it from all of them).
#[derive(async_graphql::SimpleObject, Clone, Debug, Default, PartialEq, Eq)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// The cursor of the first edge of this page.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge of this page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// The page info of a page whose edges carry `cursors`, in order.
    pub fn new<'a>(
        mut cursors: impl DoubleEndedIterator<Item = &'a str>,
        has_previous_page: bool,
        has_next_page: bool,
    ) -> Self {
        let start_cursor = cursors.next().map(str::to_string);
        let end_cursor = cursors
            .next_back()
            .map(str::to_string)
            .or_else(|| start_cursor.clone());
        Self {
            has_next_page,
            has_previous_page,
            start_cursor,
            end_cursor,
        }
    }
}

/// A subgraph schema's SDL as the router composes it (Federation v2 directives).
pub fn federated_sdl<Q, M, S>(schema: &async_graphql::Schema<Q, M, S>) -> String
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
    S: async_graphql::SubscriptionType + 'static,
{
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .federation()
            .compose_directive(),
    )
}

#[cfg(test)]
mod page_info_tests {
    use super::PageInfo;

    #[test]
    fn cursors_of_the_first_and_last_edges() {
        let p = PageInfo::new(["a", "b", "c"].into_iter(), true, false);
        assert_eq!(p.start_cursor.as_deref(), Some("a"));
        assert_eq!(p.end_cursor.as_deref(), Some("c"));
        assert!(p.has_previous_page && !p.has_next_page);
        let one = PageInfo::new(["x"].into_iter(), false, true);
        assert_eq!(
            (one.start_cursor.as_deref(), one.end_cursor.as_deref()),
            (Some("x"), Some("x"))
        );
        assert_eq!(
            PageInfo::new(std::iter::empty(), false, false),
            PageInfo::default()
        );
    }
}
