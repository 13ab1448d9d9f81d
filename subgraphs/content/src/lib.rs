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
use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};
use sea_orm::DatabaseTransaction;

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

/// Applies `social.rating_changed`: the title's figures become its own
/// (`rating_base_*`) joined with the social subgraph's aggregate, unless a
/// newer aggregate was applied already (redeliveries and reordering change
/// nothing).
pub struct SocialRatings(pub std::sync::Arc<catalog::Catalog>);

#[async_trait::async_trait]
impl Handler for SocialRatings {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Aggregate {
            title_id: uuid::Uuid,
            rating_sum: i64,
            rating_count: i64,
            version: i64,
        }
        let a: Aggregate = serde_json::from_value(event.payload.clone())?;
        let applied = self
            .0
            .apply_social_rating(txn, a.title_id, a.rating_sum, a.rating_count, a.version)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        if applied {
            self.0.invalidate().await;
        }
        Ok(())
    }
}

/// Starts the durable consumer of the social subgraph's rating events.
pub fn spawn_consumers(catalog: &std::sync::Arc<catalog::Catalog>) {
    let s = &catalog.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = ConsumerOptions {
        name: "content-ratings".into(),
        filters: vec![format!("{prefix}.social.rating_changed")],
        subject_prefix: prefix,
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    s.tasks.spawn(run_consumer(
        s.bus.clone(),
        s.db.clone(),
        options,
        std::sync::Arc::new(SocialRatings(catalog.clone())),
        s.shutdown.clone(),
    ));
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let catalog = open(&services).await?;
        services.spawn_relay();
        spawn_consumers(&catalog);
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
