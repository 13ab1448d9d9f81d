//! The embedded bus: a bounded in-memory log with JetStream's semantics that
//! matter to us (de-duplication by event id, durable consumers that resume,
//! ack/nak with redelivery after `ack_wait`) and a broadcast for live subscribers.
//! It lives as long as the process; the outbox keeps events safe across restarts
//! until they have been published.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use uuid::Uuid;

use super::{subject_matches, Acker, Bus, BusError, Deliveries, Delivery, Event, EventStream};

pub struct InProcessBus {
    shared: Arc<Shared>,
    live: broadcast::Sender<Event>,
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
    ack_wait: Duration,
    duplicate_window: Duration,
    max_messages: usize,
}

#[derive(Default)]
struct State {
    log: VecDeque<(u64, Event)>,
    next_seq: u64,
    seen: HashSet<Uuid>,
    seen_order: VecDeque<(Instant, Uuid)>,
    consumers: HashMap<String, Consumer>,
}

struct Consumer {
    filters: Vec<String>,
    /// Next log sequence this consumer has not looked at.
    cursor: u64,
    /// Delivered or nak'ed, not yet acked, by sequence.
    pending: BTreeMap<u64, Pending>,
}

struct Pending {
    attempts: u64,
    /// When it may be handed out (again).
    due: Instant,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(Duration::from_secs(30), Duration::from_secs(120), 100_000)
    }
}

impl InProcessBus {
    pub fn new(ack_wait: Duration, duplicate_window: Duration, max_messages: usize) -> Self {
        let (live, _) = broadcast::channel(4096);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                ack_wait,
                duplicate_window,
                max_messages,
            }),
            live,
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the log half-written in a
        // way later readers would misread, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next message due for `name`, marking it in flight.
    fn next_for(&self, name: &str) -> Result<Option<(Event, u64, u64)>, Instant> {
        let now = Instant::now();
        let mut state = self.lock();
        let State { log, consumers, .. } = &mut *state;
        let first_seq = log.front().map(|(s, _)| *s).unwrap_or(0);
        let consumer = consumers
            .get_mut(name)
            .expect("consumer registered before streaming");
        // Drop pending entries that fell off the log.
        consumer.pending.retain(|seq, _| *seq >= first_seq);
        let mut earliest: Option<Instant> = None;
        let due = consumer.pending.iter_mut().find(|(_, p)| {
            if p.due <= now {
                true
            } else {
                earliest = Some(earliest.map_or(p.due, |e| e.min(p.due)));
                false
            }
        });
        if let Some((seq, p)) = due {
            p.attempts += 1;
            p.due = now + self.ack_wait;
            let seq = *seq;
            let event = log[(seq - first_seq) as usize].1.clone();
            return Ok(Some((event, seq, p.attempts)));
        }
        let start = consumer.cursor.max(first_seq);
        for (seq, event) in log.iter().skip((start - first_seq) as usize) {
            consumer.cursor = seq + 1;
            if consumer
                .filters
                .iter()
                .any(|f| subject_matches(f, &event.subject))
            {
                consumer.pending.insert(
                    *seq,
                    Pending {
                        attempts: 1,
                        due: now + self.ack_wait,
                    },
                );
                return Ok(Some((event.clone(), *seq, 1)));
            }
        }
        match earliest {
            Some(at) => Err(at),
            None => Ok(None),
        }
    }
}

struct MemoryAcker {
    shared: Arc<Shared>,
    consumer: String,
    seq: u64,
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        if let Some(c) = self.shared.lock().consumers.get_mut(&self.consumer) {
            c.pending.remove(&self.seq);
        }
        Ok(())
    }

    async fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError> {
        if let Some(p) = self
            .shared
            .lock()
            .consumers
            .get_mut(&self.consumer)
            .and_then(|c| c.pending.get_mut(&self.seq))
        {
            p.due = Instant::now() + delay;
        }
        self.shared.changed.notify_waiters();
        Ok(())
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        {
            let now = Instant::now();
            let mut state = self.shared.lock();
            while let Some((at, id)) = state.seen_order.front().copied() {
                if now.duration_since(at) <= self.shared.duplicate_window {
                    break;
                }
                state.seen_order.pop_front();
                state.seen.remove(&id);
            }
            if !state.seen.insert(event.id) {
                return Ok(());
            }
            state.seen_order.push_back((now, event.id));
            let seq = state.next_seq;
            state.next_seq += 1;
            state.log.push_back((seq, event.clone()));
            while state.log.len() > self.shared.max_messages {
                state.log.pop_front();
            }
        }
        self.shared.changed.notify_waiters();
        // No live subscriber is not an error.
        let _ = self.live.send(event.clone());
        Ok(())
    }

    async fn consume(&self, name: &str, filters: &[String]) -> Result<Deliveries, BusError> {
        {
            let mut state = self.shared.lock();
            let consumer = state
                .consumers
                .entry(name.to_string())
                .or_insert_with(|| Consumer {
                    filters: Vec::new(),
                    cursor: 0,
                    pending: BTreeMap::new(),
                });
            consumer.filters = filters.to_vec();
        }
        let shared = self.shared.clone();
        let name = name.to_string();
        let stream = futures::stream::unfold((shared, name), |(shared, name)| async move {
            loop {
                let waker = shared.clone();
                let notified = waker.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match shared.next_for(&name) {
                    Ok(Some((event, seq, attempt))) => {
                        let acker = Box::new(MemoryAcker {
                            shared: shared.clone(),
                            consumer: name.clone(),
                            seq,
                        });
                        return Some((Ok(Delivery::new(event, attempt, acker)), (shared, name)));
                    }
                    Ok(None) => notified.await,
                    Err(due) => {
                        tokio::select! {
                            _ = notified => {}
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                }
            }
        });
        Ok(Box::pin(stream))
    }

    async fn subscribe(&self, filter: &str) -> Result<EventStream, BusError> {
        let filter = filter.to_string();
        let stream =
            BroadcastStream::new(self.live.subscribe()).filter_map(move |item| match item {
                Ok(event) if subject_matches(&filter, &event.subject) => Some(event),
                // A lagging live subscriber skips what it missed, as core NATS would.
                _ => None,
            });
        Ok(Box::pin(stream))
    }

    async fn publish_ephemeral(&self, event: &Event) -> Result<(), BusError> {
        let _ = self.live.send(event.clone());
        Ok(())
    }

    async fn replay(
        &self,
        filter: &str,
        since: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, BusError> {
        let state = self.shared.lock();
        Ok(state
            .log
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.occurred_at >= since && subject_matches(filter, &e.subject))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}
