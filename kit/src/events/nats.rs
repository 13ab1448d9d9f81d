//! The production bus: NATS JetStream. One stream holds `<prefix>.>`; publish
//! waits for the stream's ack and sets `Nats-Msg-Id` so a republished outbox row
//! is dropped inside the duplicate window; durable pull consumers ack explicitly.
//! Ephemeral events go on `_live.<subject>`, outside the stream, over core NATS.
//! Live subscriptions survive a lost connection: the client subscribes again
//! once it is back, and what the stream stored meanwhile is read from it
//! (readers drop the ids they have seen).

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, AckKind};
use async_trait::async_trait;
use futures::StreamExt;

use super::{Acker, Bus, BusError, Deliveries, Delivery, Event, EventStream};
use crate::config::BusConfig;

/// Prefix of ephemeral subjects: `_live.<subject>` lies outside the stream.
const EPHEMERAL: &str = "_live";

pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: String,
    ack_wait: Duration,
    /// Counts connections made: a change means the client reconnected.
    connections: tokio::sync::watch::Receiver<u64>,
}

/// Most stored events a live subscription catches up on after a reconnect.
const CATCH_UP: usize = 1000;
/// Stream timestamps come from the server's clock: read a little earlier.
const CLOCK_SLACK: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

impl NatsBus {
    /// Connects and makes sure the stream for `<prefix>.>` exists.
    pub async fn connect(url: &url::Url, config: &BusConfig) -> Result<Self, BusError> {
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let client = async_nats::ConnectOptions::new()
            .name("marquee")
            // Back within 2 s of the server's return (the default waits up to 8 s).
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((50u64 << attempts.min(6)).min(2_000))
            })
            .event_callback(move |event| {
                let connected = connected.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            connected.send_modify(|n| *n += 1);
                            tracing::info!("connected to NATS");
                        }
                        async_nats::Event::Disconnected => {
                            tracing::warn!("lost the connection to NATS; reconnecting")
                        }
                        other => tracing::debug!(event = %other, "NATS client event"),
                    }
                }
            })
            .connection_timeout(Duration::from_secs(3))
            .connect(url.as_str())
            .await
            .map_err(|e| BusError::Connect(format!("cannot reach NATS at {url}: {e}")))?;
        let js = jetstream::new(client.clone());
        let stream = jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            max_age: Duration::from_secs(config.max_age_hours * 3600),
            num_replicas: config.replicas,
            duplicate_window: Duration::from_secs(config.duplicate_window_secs),
            ..Default::default()
        };
        // A server may refuse a stream for a moment (e.g. while another
        // client's last stream of the account is being removed): try again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match js.get_or_create_stream(stream.clone()).await {
                Ok(_) => break,
                Err(e) if attempt < 4 => {
                    tracing::warn!(stream = %config.stream, error = %e, attempt, "creating the stream failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(e) => return Err(BusError::Connect(format!("stream {}: {e}", config.stream))),
            }
        }
        Ok(Self {
            client,
            js,
            stream: config.stream.clone(),
            ack_wait: Duration::from_secs(config.ack_wait_secs),
            connections,
        })
    }
}

impl NatsBus {
    /// Whether the client is connected just now (it reconnects by itself).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// Stored events on subjects matching `filter` since `since`, oldest first.
async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    since: chrono::DateTime<chrono::Utc>,
    limit: usize,
) -> Result<Vec<Event>, BusError> {
    let consume = |e: String| BusError::Consume(format!("replay of {filter}: {e}"));
    let stream = js
        .get_stream(stream)
        .await
        .map_err(|e| consume(e.to_string()))?;
    let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(
        since.timestamp_nanos_opt().unwrap_or(0).into(),
    )
    .map_err(|e| consume(e.to_string()))?;
    // An ephemeral consumer the server drops soon after this read.
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .create_consumer(pull::Config {
            filter_subject: filter.to_string(),
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartTime { start_time },
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(10),
            ..Default::default()
        })
        .await
        .map_err(|e| consume(e.to_string()))?;
    let pending = consumer.cached_info().num_pending as usize;
    let wanted = pending.min(limit);
    if wanted == 0 {
        return Ok(Vec::new());
    }
    let mut batch = consumer
        .fetch()
        .max_messages(wanted)
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .map_err(|e| consume(e.to_string()))?;
    let mut out = Vec::with_capacity(wanted);
    while let Some(m) = batch.next().await {
        let m = m.map_err(|e| consume(e.to_string()))?;
        if let Ok(event) = Event::from_bytes(&m.payload) {
            out.push(event);
        }
        if out.len() >= wanted {
            break;
        }
    }
    Ok(out)
}

struct NatsAcker(jetstream::Message);

#[async_trait]
impl Acker for NatsAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.0
            .double_ack()
            .await
            .map_err(|e| BusError::Consume(e.to_string()))
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError> {
        self.0
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| BusError::Consume(e.to_string()))
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.to_string().as_str());
        headers.insert("Marquee-Event-Type", event.event_type.as_str());
        let ack = self
            .js
            .publish_with_headers(event.subject.clone(), headers, event.to_bytes().into())
            .await
            .map_err(|e| BusError::Publish(e.to_string()))?;
        ack.await.map_err(|e| BusError::Publish(e.to_string()))?;
        Ok(())
    }

    async fn consume(&self, name: &str, filters: &[String]) -> Result<Deliveries, BusError> {
        let stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| BusError::Consume(e.to_string()))?;
        let config = pull::Config {
            durable_name: Some(name.to_string()),
            filter_subjects: filters.to_vec(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // Dead-lettering is ours to do (see `run_consumer`); let the
            // server keep redelivering until we ack.
            max_deliver: -1,
            ..Default::default()
        };
        let mut consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(name, config.clone())
            .await
            .map_err(|e| BusError::Consume(format!("consumer {name}: {e}")))?;
        // A durable consumer made by an earlier version keeps its old
        // filters (e.g. without its replay subject) until told otherwise. A
        // server older than 2.10 reports no `filter_subjects` at all (it
        // cannot filter by several; `run_consumer` skips what is not ours).
        let current = &consumer.cached_info().config.filter_subjects;
        if !current.is_empty() && *current != config.filter_subjects {
            match stream.update_consumer(config).await {
                Ok(updated) => consumer = updated,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "could not update the consumer's filters")
                }
            }
        }
        let messages = consumer
            .messages()
            .await
            .map_err(|e| BusError::Consume(e.to_string()))?;
        let deliveries = messages.map(|item| {
            let message = item.map_err(|e| BusError::Consume(e.to_string()))?;
            let attempt = message
                .info()
                .map(|i| i.delivered.max(1) as u64)
                .unwrap_or(1);
            let event = Event::from_bytes(&message.payload)?;
            Ok(Delivery::new(event, attempt, Box::new(NatsAcker(message))))
        });
        Ok(Box::pin(deliveries))
    }

    async fn subscribe(&self, filter: &str) -> Result<EventStream, BusError> {
        let subscribe = |subject: String| async move {
            self.client
                .subscribe(subject)
                .await
                .map_err(|e| BusError::Consume(e.to_string()))
        };
        // Stored and ephemeral events on the same logical subject.
        let stored = subscribe(filter.to_string()).await?;
        let ephemeral = subscribe(format!("{EPHEMERAL}.{filter}")).await?;
        let mut live = Box::pin(
            futures::stream::select(stored, ephemeral)
                .filter_map(|m| async move { Event::from_bytes(&m.payload).ok() }),
        );
        let mut connections = self.connections.clone();
        connections.mark_unchanged();
        let (js, stream, filter) = (self.js.clone(), self.stream.clone(), filter.to_string());
        let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
        // Until the reader goes away: live events as they come, and after each
        // reconnect what was stored since the last one seen (or since this
        // subscription began), which the client may have missed meanwhile.
        tokio::spawn(async move {
            let mut last_seen = chrono::Utc::now();
            loop {
                tokio::select! {
                    _ = tx.closed() => return,
                    event = live.next() => {
                        let Some(event) = event else { return };
                        last_seen = last_seen.max(event.occurred_at);
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    changed = connections.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        match read_stream(&js, &stream, &filter, last_seen - CLOCK_SLACK, CATCH_UP).await {
                            Ok(missed) => {
                                tracing::info!(subject = %filter, events = missed.len(), "caught up after a reconnect");
                                for event in missed {
                                    if tx.send(event).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(e) => tracing::warn!(subject = %filter, error = %e, "could not catch up after a reconnect"),
                        }
                    }
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn publish_ephemeral(&self, event: &Event) -> Result<(), BusError> {
        // Outside the stream's subjects, so JetStream does not keep it.
        self.client
            .publish(
                format!("{EPHEMERAL}.{}", event.subject),
                event.to_bytes().into(),
            )
            .await
            .map_err(|e| BusError::Publish(e.to_string()))
    }

    async fn replay(
        &self,
        filter: &str,
        since: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, BusError> {
        read_stream(&self.js, &self.stream, filter, since, limit).await
    }

    async fn ping(&self) -> Result<(), BusError> {
        tokio::time::timeout(Duration::from_secs(2), self.client.flush())
            .await
            .map_err(|_| BusError::Connect("NATS did not answer within 2s".into()))?
            .map_err(|e| BusError::Connect(e.to_string()))
    }

    fn kind(&self) -> &'static str {
        "nats"
    }
}
