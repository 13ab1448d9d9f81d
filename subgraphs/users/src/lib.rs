#![doc = include_str!("../README.md")]

pub mod events;
pub mod graphql;
pub mod input;
pub mod mail;
pub mod secrets;
pub mod seed;
pub mod store;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};

use crate::mail::Mailer;
pub use store::keys;
use store::keys::KeyRing;
use store::Accounts;

pub fn spec() -> SubgraphSpec {
    SubgraphSpec {
        name: "users",
        migrate: migrate_with::<migrations::users::Migrator>,
        start,
        sdl: graphql::sdl,
        seed: Some(seed::seed),
    }
}

/// The subgraph's state over `services`.
pub async fn accounts(services: &Services) -> anyhow::Result<Arc<Accounts>> {
    let keys = KeyRing::open(services).await?;
    Ok(Arc::new(Accounts {
        mailer: Mailer::new(&services.config.data_dir),
        throttle: store::throttle::Throttle::new(
            services.cache.clone(),
            services.config.auth.sign_in.clone(),
        ),
        services: services.clone(),
        keys,
    }))
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let accounts = accounts(&services).await?;
        services.spawn_relay();
        events::spawn_consumers(&accounts);
        let schema = graphql::build(accounts.clone());
        let app = kit::graphql::routes(schema, services.verifier.clone()).merge(
            Router::new()
                .route("/.well-known/jwks.json", get(jwks))
                .with_state(accounts),
        );
        Ok(services.finish(app))
    })
}

async fn jwks(State(accounts): State<Arc<Accounts>>) -> Response {
    match accounts.keys.jwks().await {
        Ok(set) => (
            [(http::header::CACHE_CONTROL, "public, max-age=60")],
            axum::Json(set),
        )
            .into_response(),
        Err(e) => kit::Error::internal(e).into_response(),
    }
}
