//! The events of the content subgraph. It publishes `content.title_created`,
//! `title_updated` and `title_deleted` through the outbox, in the
//! transaction of the write (`store`). It consumes its own title events (the
//! search index follows them: `SearchFeed`) and the social subgraph's rating
//! aggregates (`SocialRatings`) and activity (`SocialActivity`).

use std::sync::Arc;

use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use sea_orm::DatabaseTransaction;

use crate::store::Catalog;

/// Keeps the search index in line with the catalog's own events: each
/// `content.title_*` event re-indexes its title as the consumer's
/// transaction reads it. The engine commits before the event is marked
/// processed, so a crash in between redelivers the event, and indexing it
/// again is harmless (the document is rebuilt from the row, not the event).
pub struct SearchFeed(pub Arc<Catalog>);

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
pub struct SocialRatings(pub Arc<Catalog>);

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
            self.0
                .services
                .record_event(
                    txn,
                    "title_updated",
                    None,
                    serde_json::json!({ "titleId": a.title_id, "ratings": true }),
                    &[],
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
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
pub struct SocialActivity(pub Arc<Catalog>);

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
pub fn spawn_consumers(catalog: &Arc<Catalog>) {
    let s = &catalog.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = |name: &str, filters: Vec<String>| ConsumerOptions {
        name: name.into(),
        filters,
        subject_prefix: prefix.clone(),
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    let consumers: [(ConsumerOptions, Arc<dyn Handler>); 3] = [
        (
            // Routed subjects (a review's carries its title) need the `>`.
            options(
                "content-activity",
                ACTIVITY_WEIGHTS
                    .iter()
                    .flat_map(|(t, _)| [format!("{prefix}.{t}"), format!("{prefix}.{t}.>")])
                    .collect(),
            ),
            Arc::new(SocialActivity(catalog.clone())),
        ),
        (
            options(
                "content-ratings",
                vec![format!("{prefix}.social.rating_changed")],
            ),
            Arc::new(SocialRatings(catalog.clone())),
        ),
        (
            options(
                SEARCH_CONSUMER,
                ["title_created", "title_updated", "title_deleted"]
                    .iter()
                    .map(|e| format!("{prefix}.content.{e}"))
                    .collect(),
            ),
            Arc::new(SearchFeed(catalog.clone())),
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
