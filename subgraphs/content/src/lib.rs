//! The content subgraph (port 3003, schema `content`): the movie catalog with
//! its categories, people and credits; filtered, sorted, keyset-paged lists;
//! editorial featured windows; trending from de-duplicated views; typo-tolerant
//! search on tantivy or Elasticsearch (`search`), fed by the catalog's own
//! events. See `catalog` for the trending formula.

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

/// The catalog over `services`, its search index opened and in line with the catalog.
pub async fn open(services: &Services) -> anyhow::Result<std::sync::Arc<catalog::Catalog>> {
    let catalog = catalog::Catalog::new(services.clone()).map_err(search_failed)?;
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
    let catalog = catalog::Catalog::new(services.clone()).map_err(search_failed)?;
    catalog.reindex_with(progress).await.map_err(search_failed)
}

/// Keeps the search index in line with the catalog's own events: each
/// `content.title_*` event re-indexes its title as the consumer's
/// transaction reads it. The engine commits before the event is marked
/// processed, so a crash in between redelivers the event, and indexing it
/// again is harmless (the document is rebuilt from the row, not the event).
pub struct SearchFeed(pub std::sync::Arc<catalog::Catalog>);

#[async_trait::async_trait]
impl Handler for SearchFeed {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let Some(id) = event.payload["titleId"]
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
        else {
            return Ok(());
        };
        self.0
            .index_titles(txn, &[id])
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))
    }
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
            // Ratings are filtered on in search too: the index follows this event.
            let updated = self.0.services.event(
                "title_updated",
                None,
                serde_json::json!({ "titleId": a.title_id, "ratings": true }),
            );
            kit::events::outbox::enqueue(txn, &updated).await?;
            self.0.invalidate().await;
        }
        Ok(())
    }
}

/// How many views one piece of social activity counts as in the trending
/// score: a rating 2, a review 3, a watchlist add 2.
pub const ACTIVITY_WEIGHTS: [(&str, f64); 3] = [
    ("social.rating_changed", 2.0),
    ("social.review_created", 3.0),
    ("social.watchlist_changed", 2.0),
];

/// Feeds the trending scores from the social subgraph's activity (ratings
/// given, reviews written, watchlist adds); removals and rating withdrawals
/// add nothing, and decay does the rest.
pub struct SocialActivity(pub std::sync::Arc<catalog::Catalog>);

#[async_trait::async_trait]
impl Handler for SocialActivity {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let p = &event.payload;
        let counts = match event.event_type.as_str() {
            "social.rating_changed" => !p["score"].is_null(),
            "social.watchlist_changed" => p["added"] == true,
            _ => true,
        };
        let weight = ACTIVITY_WEIGHTS
            .iter()
            .find(|(t, _)| *t == event.event_type)
            .map(|(_, w)| *w);
        let title = p["titleId"]
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok());
        let (Some(weight), Some(title), true) = (weight, title, counts) else {
            return Ok(());
        };
        let applied = self
            .0
            .add_activity(txn, title, weight, event.occurred_at)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        if applied {
            self.0.invalidate().await;
        }
        Ok(())
    }
}

/// Starts the durable consumers: the social subgraph's rating events, and
/// the catalog's own title events for the search index.
pub fn spawn_consumers(catalog: &std::sync::Arc<catalog::Catalog>) {
    let s = &catalog.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = |name: &str, filters: Vec<String>| ConsumerOptions {
        name: name.into(),
        filters,
        subject_prefix: prefix.clone(),
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    let consumers: [(ConsumerOptions, std::sync::Arc<dyn Handler>); 3] = [
        (
            // Routed subjects (a review's carries its title) need the `>`.
            options(
                "content-activity",
                ACTIVITY_WEIGHTS
                    .iter()
                    .flat_map(|(t, _)| [format!("{prefix}.{t}"), format!("{prefix}.{t}.>")])
                    .collect(),
            ),
            std::sync::Arc::new(SocialActivity(catalog.clone())),
        ),
        (
            options(
                "content-ratings",
                vec![format!("{prefix}.social.rating_changed")],
            ),
            std::sync::Arc::new(SocialRatings(catalog.clone())),
        ),
        (
            options(
                SEARCH_CONSUMER,
                ["title_created", "title_updated", "title_deleted"]
                    .iter()
                    .map(|e| format!("{prefix}.content.{e}"))
                    .collect(),
            ),
            std::sync::Arc::new(SearchFeed(catalog.clone())),
        ),
    ];
    for (options, handler) in consumers {
        s.tasks.spawn(run_consumer(
            s.bus.clone(),
            s.db.clone(),
            options,
            handler,
            s.shutdown.clone(),
        ));
    }
}

/// The durable consumer that keeps the search index up to date.
pub const SEARCH_CONSUMER: &str = "content-search";

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let catalog = open(&services).await?;
        services.spawn_relay();
        spawn_consumers(&catalog);
        let schema = schema::build(catalog.clone());
        let engine = catalog.search.engine().clone();
        let per_request: kit::graphql::PerRequest =
            std::sync::Arc::new(move |r| schema::with_loaders(&catalog, r));
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
        let catalog = catalog::Catalog::new(services.clone()).map_err(search_failed)?;
        seed::seed(&catalog).await
    })
}
