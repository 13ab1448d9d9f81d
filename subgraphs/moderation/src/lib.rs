#![doc = include_str!("../README.md")]

pub mod events;
pub mod graphql;
pub mod rules;
pub mod seed;
pub mod store;

use std::sync::Arc;

use axum::Router;
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};

pub use events::spawn_consumers;
use store::Moderation;

pub fn spec() -> SubgraphSpec {
    SubgraphSpec {
        name: "moderation",
        migrate: migrate_with::<migrations::moderation::Migrator>,
        start,
        sdl: graphql::sdl,
        seed: Some(seed::seed),
    }
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let moderation = Moderation::new(services.clone());
        services.spawn_relay();
        spawn_consumers(&moderation);
        let schema = graphql::build(moderation.clone());
        let per_request: kit::graphql::PerRequest =
            Arc::new(move |r| graphql::with_loaders(&moderation, r));
        Ok(services.finish(kit::graphql::routes_with(
            schema,
            services.verifier.clone(),
            Some(per_request),
        )))
    })
}
