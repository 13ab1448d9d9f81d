//! Idempotent durable consumers: each event is handled inside a transaction that
//! also records it in `processed_events`, so a redelivered event changes nothing.
//! An event that keeps failing goes to `<prefix>.deadletter.<consumer>` after
//! `max_deliver` attempts, so one poison message never blocks the rest.
//! [`replay_dead_letters`] (`marquee events replay`) sends dead letters back to
//! their consumer alone, on `<prefix>.replay.<consumer>`, which every consumer
//! also reads; consumers that handled the event before are not asked again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
};
use tokio_util::sync::CancellationToken;

use super::outbox::processed;
use super::{subject_matches, BusError, Event, SharedBus};

/// Where `consumer`'s dead letters go: `{"event": <envelope>, "error": "..."}`.
pub fn dead_letter_subject(prefix: &str, consumer: &str) -> String {
    format!("{prefix}.deadletter.{}", super::sanitize_token(consumer))
}

/// Where replayed dead letters reach `consumer` again: `{"event": <envelope>}`.
pub fn replay_subject(prefix: &str, consumer: &str) -> String {
    format!("{prefix}.replay.{}", super::sanitize_token(consumer))
}

/// One dead letter sent back to its consumer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replayed {
    pub consumer: String,
    /// The event that had failed (its id is unchanged: a consumer that
    /// handled it meanwhile skips it).
    pub event: Event,
    /// What the handler said when it gave up.
    pub error: String,
    /// When it was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
}

/// Sends the dead letters of `consumer` (or of every consumer) recorded since
/// `since` back to their consumer, at most `limit`, oldest first; with
/// `dry_run` only lists them. Replaying twice is harmless: the consumer
/// handles an event once.
pub async fn replay_dead_letters(
    bus: &SharedBus,
    prefix: &str,
    consumer: Option<&str>,
    since: DateTime<Utc>,
    limit: usize,
    dry_run: bool,
) -> Result<Vec<Replayed>, BusError> {
    let filter = match consumer {
        Some(c) => dead_letter_subject(prefix, c),
        None => format!("{prefix}.deadletter.*"),
    };
    let head = format!("{prefix}.deadletter.");
    let mut out = Vec::new();
    for letter in bus.replay(&filter, since, limit).await? {
        let Some(name) = letter.subject.strip_prefix(&head) else {
            continue;
        };
        let Some(event) = letter
            .payload
            .get("event")
            .and_then(|e| serde_json::from_value::<Event>(e.clone()).ok())
        else {
            tracing::warn!(dead_letter = %letter.id, "a dead letter without its event; skipped");
            continue;
        };
        let error = letter
            .payload
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !dry_run {
            let mut envelope = Event::new(
                prefix,
                &format!("replay.{name}"),
                None,
                serde_json::json!({ "event": event, "deadLetterId": letter.id }),
            );
            envelope.subject = replay_subject(prefix, name);
            bus.publish(&envelope).await?;
        }
        out.push(Replayed {
            consumer: name.to_string(),
            event,
            error,
            dead_lettered_at: letter.occurred_at,
        });
    }
    Ok(out)
}

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

/// What a delivery asks of its consumer.
enum Work {
    Handle(Event),
    /// Not for this consumer (a server that cannot filter by several
    /// subjects hands it everything) or unreadable: acked and left.
    Skip,
}

fn work_of(event: Event, options: &ConsumerOptions, replay: &str) -> Work {
    if event.subject == replay {
        return match event
            .payload
            .get("event")
            .and_then(|e| serde_json::from_value::<Event>(e.clone()).ok())
        {
            Some(inner) => Work::Handle(inner),
            None => {
                tracing::warn!(consumer = %options.name, event_id = %event.id, "a replay without its event; skipped");
                Work::Skip
            }
        };
    }
    if options
        .filters
        .iter()
        .any(|f| subject_matches(f, &event.subject))
    {
        Work::Handle(event)
    } else {
        Work::Skip
    }
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
    let replay = replay_subject(&options.subject_prefix, &options.name);
    let mut filters = options.filters.clone();
    filters.push(replay.clone());
    let mut reconnect = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let mut deliveries = match bus.consume(&options.name, &filters).await {
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
            let event = match work_of(delivery.event.clone(), &options, &replay) {
                Work::Handle(e) => e,
                Work::Skip => {
                    let _ = delivery.ack().await;
                    continue;
                }
            };
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
                    let mut dead = Event::new(
                        &options.subject_prefix,
                        &format!("deadletter.{}", options.name),
                        None,
                        serde_json::json!({ "event": event, "error": format!("{e:#}") }),
                    );
                    dead.subject = dead_letter_subject(&options.subject_prefix, &options.name);
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
