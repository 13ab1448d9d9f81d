//! Idempotent durable consumers: each event is handled inside a transaction that
//! also records it in `processed_events`, so a redelivered event changes nothing.
//! An event that keeps failing goes to `<prefix>.deadletter.<consumer>` after
//! `max_deliver` attempts, so one poison message never blocks the rest.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
};
use tokio_util::sync::CancellationToken;

use super::outbox::processed;
use super::{Event, SharedBus};

/// What a consumer does with one event, inside the transaction that marks it processed.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()>;
}

/// Handles `event` once for `consumer`: returns `Ok(false)` when it was handled before.
pub async fn process_once(
    db: &DatabaseConnection,
    consumer: &str,
    event: &Event,
    handler: &dyn Handler,
) -> anyhow::Result<bool> {
    let txn = db.begin().await?;
    let inserted = processed::Entity::insert(processed::ActiveModel {
        consumer: Set(consumer.to_string()),
        event_id: Set(event.id),
        processed_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([processed::Column::Consumer, processed::Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    handler.handle(event, &txn).await?;
    txn.commit().await?;
    Ok(true)
}

#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Durable consumer name, e.g. `content-ratings`.
    pub name: String,
    /// Subject filters, e.g. `marquee.social.rating_changed`.
    pub filters: Vec<String>,
    /// Subject prefix, for the dead-letter subject.
    pub subject_prefix: String,
    /// Attempts before an event is dead-lettered.
    pub max_deliver: u64,
}

/// Consumes until `shutdown`: reconnects when the bus goes away, naks failures
/// with backoff, dead-letters what keeps failing.
pub async fn run_consumer(
    bus: SharedBus,
    db: DatabaseConnection,
    options: ConsumerOptions,
    handler: Arc<dyn Handler>,
    shutdown: CancellationToken,
) {
    let mut reconnect = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let mut deliveries = match bus.consume(&options.name, &options.filters).await {
            Ok(d) => {
                reconnect = Duration::from_millis(200);
                d
            }
            Err(e) => {
                tracing::warn!(consumer = %options.name, error = %e, "cannot start consumer; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(reconnect) => {}
                }
                reconnect = (reconnect * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = deliveries.next() => next,
            };
            let delivery = match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    tracing::warn!(consumer = %options.name, error = %e, "consumer stream error");
                    break;
                }
                None => break,
            };
            let event = delivery.event.clone();
            match process_once(&db, &options.name, &event, handler.as_ref()).await {
                Ok(_) => {
                    if let Err(e) = delivery.ack().await {
                        tracing::warn!(consumer = %options.name, error = %e, "ack failed; the event will come again and be skipped");
                    }
                }
                Err(e) if delivery.attempt >= options.max_deliver => {
                    tracing::error!(consumer = %options.name, event_id = %event.id, error = %format!("{e:#}"), "event dead-lettered");
                    metrics::counter!("marquee_events_dead_lettered_total", "consumer" => options.name.clone())
                        .increment(1);
                    let dead = Event::new(
                        &options.subject_prefix,
                        &format!("deadletter.{}", options.name),
                        None,
                        serde_json::json!({ "event": event, "error": format!("{e:#}") }),
                    );
                    match bus.publish(&dead).await {
                        Ok(()) => {
                            let _ = delivery.ack().await;
                        }
                        Err(pe) => {
                            tracing::error!(error = %pe, "dead-letter publish failed; redelivering");
                            let _ = delivery.nak(Duration::from_secs(5)).await;
                        }
                    }
                }
                Err(e) => {
                    let delay =
                        Duration::from_millis(100 * 2u64.pow(delivery.attempt.min(8) as u32));
                    tracing::warn!(consumer = %options.name, event_id = %event.id, attempt = delivery.attempt, error = %format!("{e:#}"), "event handling failed; will retry");
                    let _ = delivery.nak(delay).await;
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(reconnect) => {}
        }
    }
}
