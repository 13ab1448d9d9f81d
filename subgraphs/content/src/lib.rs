//! The content subgraph (port 3003, schema `content`): the movie catalog with
//! its categories, people and credits; filtered, sorted, keyset-paged lists;
//! editorial featured windows; trending from de-duplicated views; in-process
//! typo-tolerant search. See `catalog` for the trending formula.

pub mod catalog;
pub mod model;
pub mod schema;
pub mod search;
pub mod seed;

use axum::Router;
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};

pub fn spec() -> SubgraphSpec {
    SubgraphSpec {
        name: "content",
        migrate: migrate_with::<migrations::content::Migrator>,
        start,
        sdl: schema::sdl,
        seed: Some(seed),
    }
}

/// The catalog over `services`, its search index built.
pub async fn open(services: &Services) -> anyhow::Result<std::sync::Arc<catalog::Catalog>> {
    let catalog = catalog::Catalog::new(services.clone());
    let n = catalog
        .reindex()
        .await
        .map_err(|e| anyhow::anyhow!("building the search index: {}", e.message))?;
    tracing::info!(titles = n, "search index built");
    Ok(catalog)
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let catalog = open(&services).await?;
        services.spawn_relay();
        let schema = schema::build(catalog.clone());
        let per_request: kit::graphql::PerRequest =
            std::sync::Arc::new(move |r| schema::with_loaders(&catalog, r));
        Ok(services.finish(kit::graphql::routes_with(
            schema,
            services.verifier.clone(),
            Some(per_request),
        )))
    })
}

fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        let catalog = catalog::Catalog::new(services.clone());
        seed::seed(&catalog).await
    })
}
