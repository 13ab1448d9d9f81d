//! The set of policies every transport applies (HTTP, REST, subscriptions),
//! built once from the configuration, and who a request's caller is under them.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use crate::admission::{Admission, Transport};
use crate::policy::{identify, Caller, RateLimiter};
use crate::response::GraphqlError;

/// The HTTP policies around `/graphql`.
pub struct Policies {
    pub batching: bool,
    pub limits: kit::config::LimitsConfig,
    pub csrf_prevention: bool,
    /// Verifies bearer tokens; `None` treats every caller as anonymous.
    pub verifier: Option<Arc<kit::auth::Verifier>>,
    pub limiter: Option<RateLimiter>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub cors_allow_origins: Vec<String>,
    pub hsts_max_age_secs: u64,
    /// Where the signing keys are published (the users subgraph); the router
    /// serves the same set at `/.well-known/jwks.json`.
    pub jwks_url: Option<url::Url>,
    pub persisted: Option<Arc<crate::persisted::Persisted>>,
    /// Subscriptions over WebSocket and SSE on `/graphql`; `None` serves none.
    pub live: Option<Arc<crate::subscriptions::Live>>,
}

impl Policies {
    /// The policies `config` describes; rate limits and session revocations
    /// live in `cache`.
    pub fn from_config(config: &kit::Config, cache: &kit::cache::Cache) -> anyhow::Result<Self> {
        let r = &config.router;
        let persisted = crate::persisted::Persisted::load(
            &r.persisted,
            std::path::Path::new("."),
            Some(cache),
        )?;
        Ok(Self {
            batching: r.batching,
            limits: r.limits.clone(),
            csrf_prevention: r.csrf_prevention,
            verifier: Some(Arc::new(kit::auth::Verifier::remote(
                &config.auth,
                config.jwks_url(),
                Some(cache.clone()),
            ))),
            limiter: r
                .rate_limit
                .enabled
                .then(|| RateLimiter::new(cache.clone(), r.rate_limit.clone())),
            trusted_proxies: crate::policy::trusted_proxies(&r.trusted_proxies),
            cors_allow_origins: r.cors_allow_origins.clone(),
            hsts_max_age_secs: r.hsts_max_age_secs,
            jwks_url: Some(config.jwks_url()),
            persisted: Some(Arc::new(persisted)),
            live: None,
        })
    }

    /// No authentication, no rate limit: the engine alone (conformance tests, benchmarks' baseline).
    pub fn none(batching: bool) -> Self {
        Self {
            batching,
            limits: kit::config::LimitsConfig::default(),
            csrf_prevention: false,
            verifier: None,
            limiter: None,
            trusted_proxies: Vec::new(),
            cors_allow_origins: Vec::new(),
            hsts_max_age_secs: 0,
            jwks_url: None,
            persisted: None,
            live: None,
        }
    }

    /// The admission stage's view of these policies for one caller.
    pub(crate) fn admission<'a>(
        &'a self,
        transport: Transport,
        caller: &'a crate::policy::Caller,
    ) -> Admission<'a> {
        Admission {
            transport,
            caller: Some(caller),
            limiter: self.limiter.as_ref(),
            persisted: self.persisted.as_deref(),
        }
    }
}

/// Who is calling: the verified token's subject, else the client address.
pub(crate) async fn caller(
    policies: &Policies,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<Caller, GraphqlError> {
    let claims = match &policies.verifier {
        Some(v) => identify(v, headers).await?,
        None => None,
    };
    Ok(Caller {
        claims,
        ip: crate::policy::client_ip(headers, peer, &policies.trusted_proxies),
    })
}
