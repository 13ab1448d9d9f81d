//! Events between subgraphs. A change and its event are written in one
//! transaction (the outbox); a relay publishes outbox rows to the bus in order,
//! the event id doubling as the message id for de-duplication; consumers are
//! durable and idempotent (a processed-events table).

mod consumer;
mod memory;
mod nats;
pub mod outbox;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use consumer::{
    dead_letter_subject, process_once, replay_dead_letters, replay_subject, run_consumer,
    ConsumerOptions, Handler, Replayed,
};
pub use memory::InProcessBus;
pub use nats::NatsBus;
pub use outbox::{enqueue, Relay};

/// The envelope every event travels in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUIDv7: unique and roughly time-ordered; the de-duplication key.
    pub id: Uuid,
    /// `<subgraph>.<event>`, e.g. `users.user_registered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Bus subject, `<prefix>.<subgraph>.<event>` plus optional routing tokens.
    pub subject: String,
    pub occurred_at: DateTime<Utc>,
    /// Who caused it (a user id), when anyone did.
    pub actor: Option<String>,
    pub payload: serde_json::Value,
    pub schema_version: u32,
}

impl Event {
    /// A new event of `event_type` (`<subgraph>.<event>`), published on
    /// `<prefix>.<subgraph>.<event>`.
    pub fn new(
        prefix: &str,
        event_type: &str,
        actor: Option<String>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.to_string(),
            subject: format!("{prefix}.{event_type}"),
            occurred_at: Utc::now(),
            actor,
            payload,
            schema_version: 1,
        }
    }

    /// Appends routing tokens to the subject (e.g. a user or room id), so
    /// subscribers can listen to one key only.
    pub fn routed(mut self, tokens: &[&str]) -> Self {
        for t in tokens {
            self.subject.push('.');
            self.subject.push_str(&sanitize_token(t));
        }
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event is always serializable")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BusError> {
        serde_json::from_slice(bytes).map_err(|e| BusError::Decode(e.to_string()))
    }
}

/// Subject tokens may not contain separators or wildcards.
pub fn sanitize_token(t: &str) -> String {
    t.chars()
        .map(|c| {
            if matches!(c, '.' | '*' | '>' | ' ') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus connection: {0}")]
    Connect(String),
    #[error("publish failed: {0}")]
    Publish(String),
    #[error("consumer: {0}")]
    Consume(String),
    #[error("message is not an event: {0}")]
    Decode(String),
}

/// One event handed to a durable consumer; ack it once handled.
pub struct Delivery {
    pub event: Event,
    /// 1 on the first delivery, more on redeliveries.
    pub attempt: u64,
    acker: Box<dyn Acker>,
}

impl Delivery {
    pub(crate) fn new(event: Event, attempt: u64, acker: Box<dyn Acker>) -> Self {
        Self {
            event,
            attempt,
            acker,
        }
    }

    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.acker.nak(delay).await
    }
}

#[async_trait]
pub(crate) trait Acker: Send + Sync {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError>;
}

pub type Deliveries = Pin<Box<dyn Stream<Item = Result<Delivery, BusError>> + Send>>;
pub type EventStream = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// A message bus: durable publish, durable consumers, live subscriptions.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Stores `event` durably; a second publish of the same id is dropped.
    async fn publish(&self, event: &Event) -> Result<(), BusError>;
    /// A durable consumer `name` over subjects matching `filters` (NATS
    /// wildcards). It resumes where it left off; unacked messages come again.
    async fn consume(&self, name: &str, filters: &[String]) -> Result<Deliveries, BusError>;
    /// Live events on subjects matching `filter` from now on; nothing is kept.
    async fn subscribe(&self, filter: &str) -> Result<EventStream, BusError>;
    /// Sends a message only to live subscribers (typing indicators and the
    /// like): never stored, never handed to durable consumers or replays.
    async fn publish_ephemeral(&self, event: &Event) -> Result<(), BusError>;
    /// Stored events on subjects matching `filter` that occurred at or after
    /// `since`, oldest first, at most `limit` (what a reconnecting subscriber
    /// missed).
    async fn replay(
        &self,
        filter: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, BusError>;
    async fn ping(&self) -> Result<(), BusError>;
    fn kind(&self) -> &'static str;
}

pub type SharedBus = Arc<dyn Bus>;

/// Live events on subjects matching `filter` (stored and ephemeral), each
/// handed to `each`, until `limit` of them (or forever, or until `each`
/// fails): what `marquee events tail` prints for operators.
pub async fn tail(
    bus: &SharedBus,
    filter: &str,
    limit: Option<u64>,
    mut each: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<u64, BusError> {
    use futures::StreamExt;
    let mut events = bus.subscribe(filter).await?;
    let mut seen = 0;
    while limit.is_none_or(|l| seen < l) {
        let Some(event) = events.next().await else {
            break;
        };
        seen += 1;
        if each(&event).is_err() {
            break;
        }
    }
    Ok(seen)
}

/// NATS subject matching: `*` is one token, `>` the rest (one or more tokens).
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut f = filter.split('.');
    let mut s = subject.split('.');
    loop {
        match (f.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches(
            "marquee.>",
            "marquee.users.user_registered"
        ));
        assert!(subject_matches(
            "marquee.*.user_registered",
            "marquee.users.user_registered"
        ));
        assert!(!subject_matches(
            "marquee.*",
            "marquee.users.user_registered"
        ));
        assert!(!subject_matches("marquee.>", "marquee"));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
    }

    #[test]
    fn routing_tokens_cannot_inject_wildcards() {
        let e = Event::new("m", "social.chat_message_sent", None, serde_json::json!({}))
            .routed(&["room.>*"]);
        assert_eq!(e.subject, "m.social.chat_message_sent.room___");
    }
}
