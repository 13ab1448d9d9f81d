//! Talking to subgraphs: one pooled keep-alive HTTP client, a per-request
//! timeout, and sharing of identical in-flight queries (same subgraph, same
//! body, same credentials) so a burst of equal requests costs one call.
//! Policies (breakers, retries) wrap `Transport`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};
use http::HeaderMap;

/// What a subgraph answered: the body of a response that may be a GraphQL
/// response (a success status, or a GraphQL media type with any status).
/// Each reader parses it in place; one that finds no GraphQL response in it
/// treats the subgraph as unavailable.
#[derive(Debug, Clone, Default)]
pub struct SubgraphResponse {
    pub body: Bytes,
}

impl SubgraphResponse {
    /// `data` and `errors`, as owned JSON; `None` when the body is no
    /// GraphQL response.
    pub fn parse(&self) -> Option<(Option<serde_json::Value>, Vec<serde_json::Value>)> {
        crate::value::Answer::parse(&self.body).map(|a| (a.data.map(|d| d.to_serde()), a.errors))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("subgraph `{subgraph}` did not answer: {reason}")]
    Unavailable { subgraph: String, reason: String },
}

/// One request to one subgraph.
#[derive(Debug, Clone)]
pub struct SubgraphRequest {
    pub subgraph: String,
    pub url: String,
    /// The serialized `{query, variables}` body.
    pub body: Bytes,
    /// Headers forwarded from the client (`authorization`, `x-request-id`, `traceparent`).
    pub headers: HeaderMap,
}

pub type FetchResult = Result<SubgraphResponse, FetchError>;

/// How a request reaches a subgraph. The HTTP implementation is below; a
/// per-subgraph breaker or retry budget is another implementation wrapping it.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, request: SubgraphRequest) -> BoxFuture<'static, FetchResult>;
}

/// Plain HTTP over a shared keep-alive pool.
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .expect("a client with static settings builds");
        Self { client }
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: SubgraphRequest) -> BoxFuture<'static, FetchResult> {
        let client = self.client.clone();
        async move {
            let unavailable = |reason: String| FetchError::Unavailable {
                subgraph: request.subgraph.clone(),
                reason,
            };
            let response = client
                .post(&request.url)
                .headers(request.headers.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(
                    http::header::ACCEPT,
                    "application/graphql-response+json, application/json",
                )
                .body(request.body.clone())
                .send()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            let status = response.status();
            let not_graphql = || unavailable(format!("HTTP {status} without a GraphQL response"));
            // A GraphQL response with a 4xx/5xx status (graphql-response+json
            // request errors) still carries errors worth showing; any other
            // failed status means the subgraph is not serving.
            let graphql_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("application/graphql-response+json"));
            if !status.is_success() && !graphql_type {
                return Err(not_graphql());
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            // What cannot be a JSON object (an HTML error page, say) counts
            // against the subgraph here, where the breaker sees it; the full
            // parse happens once, in the reader.
            let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if !object {
                return Err(not_graphql());
            }
            Ok(SubgraphResponse { body })
        }
        .boxed()
    }
}

type InFlight = Shared<BoxFuture<'static, FetchResult>>;

/// The executor's way to subgraphs.
pub struct SubgraphClient {
    transport: Arc<dyn Transport>,
    in_flight: Arc<Mutex<HashMap<u64, InFlight>>>,
}

impl SubgraphClient {
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            in_flight: Arc::default(),
        }
    }

    /// Sends `request`; when `share` (queries only: a mutation runs once per
    /// client request) and an identical request is already on its way, waits
    /// for that one instead.
    pub async fn fetch(&self, request: SubgraphRequest, share: bool) -> FetchResult {
        if !share {
            return self.transport.send(request).await;
        }
        let key = dedup_key(&request);
        let (future, leader) = {
            let mut map = self
                .in_flight
                .lock()
                .expect("in-flight map is never poisoned");
            match map.get(&key) {
                Some(f) => (f.clone(), false),
                None => {
                    let f = self.transport.send(request).shared();
                    map.insert(key, f.clone());
                    (f, true)
                }
            }
        };
        // The leader removes the entry once done, even when its own caller is
        // cancelled midway (the guard runs on drop).
        let _guard = leader.then(|| RemoveOnDrop {
            map: self.in_flight.clone(),
            key,
        });
        future.await
    }
}

struct RemoveOnDrop {
    map: Arc<Mutex<HashMap<u64, InFlight>>>,
    key: u64,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&self.key);
        }
    }
}

fn dedup_key(request: &SubgraphRequest) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(request.url.as_bytes());
    hasher.update(&[0]);
    hasher.update(&request.body);
    hasher.update(&[0]);
    // Different credentials may see different data: never share across them.
    if let Some(auth) = request.headers.get(http::header::AUTHORIZATION) {
        hasher.update(auth.as_bytes());
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: Arc<AtomicUsize>,
        gate: Arc<tokio::sync::Notify>,
    }

    impl Transport for Counting {
        fn send(&self, _request: SubgraphRequest) -> BoxFuture<'static, FetchResult> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let gate = self.gate.clone();
            async move {
                gate.notified().await;
                Ok(SubgraphResponse {
                    body: Bytes::from_static(br#"{"data":{"a":1}}"#),
                })
            }
            .boxed()
        }
    }

    fn request(body: &'static str, auth: &'static str) -> SubgraphRequest {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        SubgraphRequest {
            subgraph: "s".into(),
            url: "http://s".into(),
            body: Bytes::from_static(body.as_bytes()),
            headers,
        }
    }

    #[tokio::test]
    async fn identical_in_flight_queries_share_one_call() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let client = SubgraphClient::new(Arc::new(Counting {
            calls: calls.clone(),
            gate: gate.clone(),
        }));
        let a = client.fetch(request("q", "t1"), true);
        let b = client.fetch(request("q", "t1"), true);
        let c = client.fetch(request("q", "t2"), true);
        let d = client.fetch(request("q", "t1"), false);
        let release = async {
            tokio::task::yield_now().await;
            gate.notify_waiters();
        };
        let (a, b, c, d, ()) = tokio::join!(a, b, c, d, release);
        for r in [a, b, c, d] {
            assert_eq!(
                r.unwrap().parse().unwrap().0,
                Some(serde_json::json!({"a": 1}))
            );
        }
        // t1 shared; t2 has other credentials; the unshared (mutation) call runs on its own.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(client.in_flight.lock().unwrap().is_empty());
    }
}
