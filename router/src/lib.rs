#![doc = include_str!("../README.md")]
// Errors travel on the cold path (a request that fails); boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod admission;
mod aliases;
mod authz;
pub mod breaker;
mod browser;
mod composition;
mod engine;
mod execute;
mod fetch;
mod graphiql;
mod http;
mod introspection;
mod keys;
pub mod limits;
mod operation;
pub mod persisted;
mod policies;
pub mod policy;
mod project;
mod reload;
mod response;
mod rest;
mod schema;
mod subscriptions;
mod supergraph;
mod value;
mod variables;

use std::sync::Arc;
use std::time::Duration;

pub use composition::{
    add_root_join_types, compose, CompositionError, SchemaSource, SubgraphConfig, SubgraphSdl,
    SupergraphConfig,
};
pub use engine::{Engine, EngineSettings, GraphqlRequest};
pub use fetch::{
    FetchError, HttpTransport, SubgraphClient, SubgraphRequest, SubgraphResponse, Transport,
};
pub use http::routes;
pub use policies::Policies;
pub use response::{GraphqlError, GraphqlResponse, PathElem};
pub use subscriptions::Live;
pub use supergraph::{Supergraph, SupergraphError, SupergraphSource};

/// Loads the supergraph and builds the engine the HTTP layer runs on.
pub async fn engine(
    config: &kit::Config,
    source: &SupergraphSource,
) -> anyhow::Result<Arc<Engine>> {
    let supergraph = Supergraph::load(source).await?;
    let settings = &config.router;
    let http = Arc::new(HttpTransport::new(Duration::from_millis(
        settings.subgraph_timeout_ms,
    )));
    let breakers = Arc::new(breaker::Breakers::new(settings.breaker.clone()));
    let client = SubgraphClient::new(Arc::new(breaker::BreakerTransport::new(
        http,
        breakers.clone(),
    )));
    Ok(Arc::new(Engine::new(
        supergraph,
        client,
        EngineSettings {
            plan_cache_size: settings.plan_cache_size,
            planning_timeout: Duration::from_millis(settings.planning_timeout_ms),
            breakers: Some(breakers),
            limits: settings.limits.clone(),
            introspection: settings.introspection,
            auth_operations: settings.rate_limit.auth.operations.clone(),
        },
    )))
}

/// The router's HTTP app: `/graphql`, GraphiQL, health and metrics, serving
/// `source` and reloading it when its files change; rate limits and session
/// revocations live in `cache` (Redis when configured, so router processes
/// share them).
pub async fn app(
    config: Arc<kit::Config>,
    source: SupergraphSource,
    cache: &kit::cache::Cache,
) -> anyhow::Result<axum::Router> {
    app_with_events(config, source, cache, None).await
}

/// `app`, serving subscriptions from `bus` (WebSocket and SSE on `/graphql`)
/// when one is given.
pub async fn app_with_events(
    config: Arc<kit::Config>,
    source: SupergraphSource,
    cache: &kit::cache::Cache,
    bus: Option<kit::events::SharedBus>,
) -> anyhow::Result<axum::Router> {
    let engine = engine(&config, &source).await?;
    if config.router.reload_interval_secs > 0 {
        reload::watch(
            Arc::downgrade(&engine),
            source,
            Duration::from_secs(config.router.reload_interval_secs),
        );
    }
    let mut policies = Policies::from_config(&config, cache)?;
    policies.live = bus.map(|bus| {
        let r = &config.router;
        Arc::new(
            Live::new(
                engine.clone(),
                bus,
                policies.verifier.clone(),
                r.rate_limit
                    .enabled
                    .then(|| policy::RateLimiter::new(cache.clone(), r.rate_limit.clone())),
                policies.persisted.clone(),
                policies.trusted_proxies.clone(),
                &config.bus.subject_prefix,
                r.live.clone(),
            )
            .with_csrf_prevention(r.csrf_prevention, r.cors_allow_origins.clone()),
        )
    });
    Ok(http::routes(engine, policies))
}
