//! Who is calling and how often: the caller's identity (a verified JWT, else
//! the client IP, believing forwarding headers only from trusted proxies) and
//! the GCRA rate limit per caller and operation class (authentication
//! operations have their own, lower limit). The limit lives in the shared
//! cache, so several router processes on one Redis share it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderMap, HeaderValue};
use kit::auth::{Claims, Verifier};
use kit::cache::{Cache, Quota, RateDecision};
use kit::config::RateLimitConfig;
use kit::telemetry::{RequestId, TraceContext, REQUEST_ID, TRACEPARENT};
use kit::ErrorCode;
use serde_json::json;

use crate::response::GraphqlError;

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Option<Claims>,
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// The rate-limit key: the user when signed in, else the address.
    pub fn key(&self) -> String {
        match (&self.claims, &self.ip) {
            (Some(c), _) => format!("u:{}", c.sub),
            (None, Some(ip)) => format!("ip:{ip}"),
            (None, None) => "ip:unknown".into(),
        }
    }
}

/// Which limit an operation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    Auth,
    Api,
}

impl RateClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Auth => "auth",
            RateClass::Api => "api",
        }
    }
}

pub struct RateLimiter {
    cache: Cache,
    config: RateLimitConfig,
}

impl RateLimiter {
    pub fn new(cache: Cache, config: RateLimitConfig) -> Self {
        Self { cache, config }
    }

    /// Root fields that take a token of the auth class each.
    pub fn auth_operations(&self) -> &[String] {
        &self.config.auth.operations
    }

    /// Charges one operation: a token of the auth class for every instance
    /// of an authentication field (fragments and aliases expanded), and
    /// `api` tokens of the API class (an operation with both kinds pays
    /// both). The answer is the refusal if any, else the tighter bucket.
    pub async fn charge(&self, caller: &Caller, auth: usize, api: usize) -> Option<RateDecision> {
        let mut decision: Option<RateDecision> = None;
        for (class, tokens) in [(RateClass::Auth, auth), (RateClass::Api, api)] {
            if tokens == 0 {
                continue;
            }
            let tokens = u32::try_from(tokens).unwrap_or(u32::MAX);
            let Some(d) = self.check_n(caller, class, tokens).await else {
                continue;
            };
            if !d.allowed {
                return Some(d);
            }
            if decision.is_none_or(|prev| d.remaining < prev.remaining) {
                decision = Some(d);
            }
        }
        decision
    }

    /// One step of `caller`'s bucket for `class`. A cache that does not answer
    /// lets the request through (logged): the limiter protects, it must not
    /// take the API down with it.
    pub async fn check(&self, caller: &Caller, class: RateClass) -> Option<RateDecision> {
        self.check_n(caller, class, 1).await
    }

    async fn check_n(
        &self,
        caller: &Caller,
        class: RateClass,
        tokens: u32,
    ) -> Option<RateDecision> {
        let per_minute = match class {
            RateClass::Auth => self.config.auth.per_minute,
            RateClass::Api => self.config.api.per_minute,
        };
        let key = format!("rl:{}:{}", class.as_str(), caller.key());
        match self
            .cache
            .gcra_n(&key, Quota::per_minute(per_minute), tokens)
            .await
        {
            Ok(d) => {
                if !d.allowed {
                    metrics::counter!("marquee_rate_limited_total", "class" => class.as_str())
                        .increment(1);
                    tracing::warn!(
                        target: "security",
                        event = "rate_limited",
                        class = class.as_str(),
                        caller = %caller.key(),
                        tokens,
                        "rate limit exceeded"
                    );
                }
                Some(d)
            }
            Err(e) => {
                tracing::error!(error = %e, "rate limiter cache unavailable; request let through");
                None
            }
        }
    }
}

/// The error a refused request carries.
pub fn rate_limited(d: &RateDecision) -> GraphqlError {
    let secs = retry_secs(d.retry_after);
    GraphqlError::new(
        ErrorCode::RateLimited,
        format!("too many requests; retry in {secs} s"),
    )
    .extension("retryAfter", json!(secs))
}

fn retry_secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// `RateLimit-*` (and, when refused, `Retry-After`) headers for `d`.
pub fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let mut put = |name: &'static str, v: u64| {
        headers.insert(name, HeaderValue::from(v));
    };
    put("ratelimit-limit", d.limit as u64);
    put("ratelimit-remaining", d.remaining as u64);
    put("ratelimit-reset", d.reset_after.as_secs_f64().ceil() as u64);
    if !d.allowed {
        put("retry-after", retry_secs(d.retry_after));
    }
}

pub use kit::net::{client_ip, trusted_proxies};

/// GET is a simple request a cross-site page can make; without one of these
/// headers (which force a CORS preflight) it is refused.
pub(crate) fn has_preflight_header(headers: &HeaderMap) -> bool {
    [
        "graphql-preflight",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    ]
    .iter()
    .any(|h| headers.contains_key(*h))
}

/// Headers subgraphs get from the client's request.
pub(crate) fn forwarded(
    headers: &HeaderMap,
    request_id: Option<&RequestId>,
    trace: Option<&TraceContext>,
    client: Option<std::net::IpAddr>,
) -> HeaderMap {
    let mut out = HeaderMap::new();
    // The client address as this router resolved it; subgraphs believe it
    // from their trusted proxies only (`subgraph.trusted_proxies`).
    if let Some(ip) = client.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        out.insert("x-forwarded-for", ip);
    }
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        out.insert(header::AUTHORIZATION, auth.clone());
    }
    if let Some(id) = request_id.and_then(|r| HeaderValue::from_str(&r.0).ok()) {
        out.insert(REQUEST_ID, id);
    }
    if let Some(tp) = trace.and_then(|t| HeaderValue::from_str(&t.header()).ok()) {
        out.insert(TRACEPARENT, tp);
    }
    out
}

/// Verifies the bearer token, if any: no token is an anonymous caller; a bad
/// one is refused with the verifier's code.
pub async fn identify(
    verifier: &Arc<Verifier>,
    headers: &HeaderMap,
) -> Result<Option<Claims>, GraphqlError> {
    verifier.from_headers(headers).await.map_err(|e| {
        metrics::counter!("marquee_auth_failures_total", "reason" => e.reason()).increment(1);
        tracing::warn!(target: "security", event = "auth_failed", reason = e.reason(), "token refused");
        GraphqlError::new(e.code(), e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_operation_with_both_kinds_of_field_pays_both_classes() {
        let limiter = RateLimiter::new(Cache::in_process(100, "t"), RateLimitConfig::default());
        let caller = Caller {
            claims: None,
            ip: "198.51.100.8".parse().ok(),
        };
        let d = limiter.charge(&caller, 2, 1).await.unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, 3, "the auth bucket is the tighter one");
        let api = limiter.check(&caller, RateClass::Api).await.unwrap();
        assert_eq!(api.remaining, 98, "the API bucket paid one too");
        // Four sign-in fields in one request do not fit in the three left.
        assert!(!limiter.charge(&caller, 4, 0).await.unwrap().allowed);
        assert!(limiter.charge(&caller, 3, 0).await.unwrap().allowed);
        assert!(!limiter.charge(&caller, 1, 0).await.unwrap().allowed);
    }

    #[tokio::test]
    async fn the_sixth_auth_request_in_a_minute_is_refused_with_retry_after() {
        let limiter = RateLimiter::new(Cache::in_process(100, "t"), RateLimitConfig::default());
        let caller = Caller {
            claims: None,
            ip: "198.51.100.7".parse().ok(),
        };
        for _ in 0..5 {
            assert!(
                limiter
                    .check(&caller, RateClass::Auth)
                    .await
                    .unwrap()
                    .allowed
            );
        }
        let refused = limiter.check(&caller, RateClass::Auth).await.unwrap();
        assert!(!refused.allowed);
        let mut h = HeaderMap::new();
        rate_headers(&mut h, &refused);
        assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(h["ratelimit-remaining"], "0");
        // The API class has its own bucket.
        assert!(
            limiter
                .check(&caller, RateClass::Api)
                .await
                .unwrap()
                .allowed
        );
    }
}
