#![doc = include_str!("../README.md")]

pub mod events;
pub mod filter;
pub mod graphql;
pub mod search;
pub mod seed;
pub mod store;

use axum::Router;
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};

pub use events::{
    spawn_consumers, SearchFeed, SocialActivity, SocialRatings, ACTIVITY_WEIGHTS, SEARCH_CONSUMER,
};
use store::Catalog;

pub fn spec() -> SubgraphSpec {
    SubgraphSpec {
        name: "content",
        migrate: migrate_with::<migrations::content::Migrator>,
        start,
        sdl: graphql::sdl,
        seed: Some(seed),
    }
}

/// The catalog over `services`, its search index opened and in line with the catalog.
pub async fn open(services: &Services) -> anyhow::Result<std::sync::Arc<Catalog>> {
    let catalog = Catalog::new(services.clone()).map_err(search_failed)?;
    let (rebuilt, n) = catalog.prepare_search().await.map_err(search_failed)?;
    let engine = catalog.search.engine().kind();
    if rebuilt {
        tracing::info!(engine, titles = n, "search index built");
    } else {
        tracing::info!(engine, reindexed = n, "search index opened");
    }
    Ok(catalog)
}

fn search_failed(e: kit::Error) -> anyhow::Error {
    match e.cause() {
        Some(cause) => anyhow::anyhow!("search index: {cause:#}"),
        None => anyhow::anyhow!("search index: {}", e.message),
    }
}

/// `marquee search reindex`: rebuilds the search index (tantivy or
/// Elasticsearch, as configured) from the catalog, reporting progress as
/// `(indexed, total)`. Returns how many titles were indexed.
pub async fn reindex(
    services: &Services,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> anyhow::Result<usize> {
    let catalog = Catalog::new(services.clone()).map_err(search_failed)?;
    catalog.reindex_with(progress).await.map_err(search_failed)
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let catalog = open(&services).await?;
        services.spawn_relay();
        spawn_consumers(&catalog);
        let schema = graphql::build(catalog.clone());
        let engine = catalog.search.engine().clone();
        let per_request: kit::graphql::PerRequest =
            std::sync::Arc::new(move |r| graphql::with_loaders(&catalog, r));
        let readiness = services.readiness().check("search", move || {
            let engine = engine.clone();
            async move { engine.ping().await.map_err(|e| e.to_string()) }
        });
        Ok(services.finish_with(
            kit::graphql::routes_with(schema, services.verifier.clone(), Some(per_request)),
            readiness,
        ))
    })
}

fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        let catalog = Catalog::new(services.clone()).map_err(search_failed)?;
        seed::seed(&catalog).await
    })
}
