//! Fan-out: one bus subscription per subject per router process, shared by
//! every client subscribed to it through a broadcast channel. The first
//! subscriber opens it; when the last one leaves, the topic is dropped and its
//! bus subscription ends. A topic passes each event id on once (the bus may
//! repeat some after a reconnect), so its subscribers need no memory of their own
//! for that. Before it passes an event on, it runs its subscribers' warm-ups
//! (`Warm`: the answer a group of them shares), so that each subscriber
//! wakes once and finds its answer ready instead of waking to wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::future::{join_all, BoxFuture};
use futures::StreamExt;
use kit::events::{BusError, Event, SharedBus};
use tokio::sync::broadcast;

/// Events a slow subscriber may fall behind by before it skips some.
const TOPIC_CAPACITY: usize = 1024;
/// Event ids a topic remembers to drop repeats.
const TOPIC_DEDUP: usize = 4096;
/// Groups warmed per event; those of a topic with more resolve their answer
/// when their subscribers ask for it.
const WARM_GROUPS: usize = 32;
/// Longest an event waits for its warm-ups before it is passed on anyway.
const WARM_BUDGET: Duration = Duration::from_secs(2);

/// Work a topic does for each event before its subscribers wake.
pub(crate) trait Warm: Send + Sync {
    fn warm<'a>(&'a self, event: &'a Arc<Event>) -> BoxFuture<'a, ()>;
}

type Groups = Arc<Mutex<HashMap<super::ShareKey, Weak<dyn Warm>>>>;

pub(crate) struct Hub {
    bus: SharedBus,
    topics: Arc<Mutex<HashMap<String, Weak<Topic>>>>,
}

/// One subject's shared bus subscription; held by each of its subscribers.
pub(crate) struct Topic {
    subject: String,
    sender: broadcast::Sender<Arc<Event>>,
    groups: Groups,
    pump: tokio::task::JoinHandle<()>,
    topics: Weak<Mutex<HashMap<String, Weak<Topic>>>>,
}

impl Topic {
    pub fn receiver(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// The warm-up registered under `key`, or the one `make` gives, which
    /// is registered now. Each subscriber of the key holds it; it ends with
    /// the last of them.
    pub fn group(
        &self,
        key: super::ShareKey,
        make: impl FnOnce() -> Arc<dyn Warm>,
    ) -> Arc<dyn Warm> {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = groups.get(&key).and_then(Weak::upgrade) {
            return g;
        }
        groups.retain(|_, g| g.strong_count() > 0);
        let g = make();
        groups.insert(key, Arc::downgrade(&g));
        g
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        self.pump.abort();
        if let Some(topics) = self.topics.upgrade() {
            let mut map = topics.lock().unwrap_or_else(|p| p.into_inner());
            // A new topic for the same subject may already have replaced this one.
            if map
                .get(&self.subject)
                .is_some_and(|w| w.strong_count() == 0)
            {
                map.remove(&self.subject);
            }
            metrics::gauge!("marquee_router_subscription_topics").set(map.len() as f64);
        }
    }
}

impl Hub {
    pub fn new(bus: SharedBus) -> Self {
        Self {
            bus,
            topics: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn existing(&self, subject: &str) -> Option<Arc<Topic>> {
        self.topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(subject)
            .and_then(Weak::upgrade)
    }

    /// The shared topic of `subject`, opening its bus subscription when it
    /// is the first. Receivers are taken from the topic, so the caller
    /// subscribes before anything it may miss is published.
    pub async fn join(&self, subject: &str) -> Result<Arc<Topic>, BusError> {
        if let Some(t) = self.existing(subject) {
            return Ok(t);
        }
        let mut stream = self.bus.subscribe(subject).await?;
        let mut map = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Another client may have opened it while we subscribed: use theirs
        // (ours is dropped here, ending that bus subscription).
        if let Some(t) = map.get(subject).and_then(Weak::upgrade) {
            return Ok(t);
        }
        metrics::counter!("marquee_router_subscription_topics_opened_total").increment(1);
        let (sender, _) = broadcast::channel(TOPIC_CAPACITY);
        let tx = sender.clone();
        let groups: Groups = Arc::default();
        let warmed = groups.clone();
        let pump = tokio::spawn(async move {
            let mut seen = std::collections::HashSet::with_capacity(64);
            let mut order = std::collections::VecDeque::with_capacity(64);
            while let Some(event) = stream.next().await {
                if !seen.insert(event.id) {
                    metrics::counter!("marquee_router_subscription_repeats_total").increment(1);
                    continue;
                }
                order.push_back(event.id);
                if order.len() > TOPIC_DEDUP {
                    if let Some(old) = order.pop_front() {
                        seen.remove(&old);
                    }
                }
                metrics::counter!("marquee_router_subscription_events_total").increment(1);
                let event = Arc::new(event);
                let warm: Vec<Arc<dyn Warm>> = warmed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .filter_map(Weak::upgrade)
                    .take(WARM_GROUPS)
                    .collect();
                if !warm.is_empty() {
                    let all = join_all(warm.iter().map(|g| g.warm(&event)));
                    if tokio::time::timeout(WARM_BUDGET, all).await.is_err() {
                        tracing::warn!(subject = %event.subject, "an event's warm-up ran out of time");
                    }
                }
                // No receiver just now is fine: the topic is about to close.
                let _ = tx.send(event);
            }
        });
        let topic = Arc::new(Topic {
            subject: subject.to_string(),
            sender,
            groups,
            pump,
            topics: Arc::downgrade(&self.topics),
        });
        map.insert(subject.to_string(), Arc::downgrade(&topic));
        metrics::gauge!("marquee_router_subscription_topics").set(map.len() as f64);
        Ok(topic)
    }

    /// Subjects with at least one subscriber (for tests and health).
    pub fn open_topics(&self) -> usize {
        self.topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::events::InProcessBus;

    #[tokio::test]
    async fn one_bus_subscription_per_subject_closed_with_its_last_subscriber() {
        let bus: SharedBus = Arc::new(InProcessBus::default());
        let hub = Hub::new(bus.clone());
        let a = hub.join("m.social.x.1").await.unwrap();
        let b = hub.join("m.social.x.1").await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = hub.join("m.social.x.2").await.unwrap();
        assert_eq!(hub.open_topics(), 2);
        let (mut ra, mut rb) = (a.receiver(), b.receiver());
        let e = Event::new("m", "social.x", None, serde_json::json!({"n": 1})).routed(&["1"]);
        bus.publish(&e).await.unwrap();
        assert_eq!(ra.recv().await.unwrap().id, e.id);
        assert_eq!(rb.recv().await.unwrap().id, e.id);
        // A repeat of an id (a bus catching up after a reconnect) is not passed on.
        bus.publish_ephemeral(&e).await.unwrap();
        let f = Event::new("m", "social.x", None, serde_json::json!({"n": 2})).routed(&["1"]);
        bus.publish(&f).await.unwrap();
        assert_eq!(ra.recv().await.unwrap().id, f.id);
        drop(other);
        assert_eq!(hub.open_topics(), 1);
        drop((a, b, ra, rb));
        assert_eq!(hub.open_topics(), 0);
        assert!(hub.topics.lock().unwrap().is_empty());
    }

    /// Counts the events it warmed.
    struct Counting(Arc<std::sync::atomic::AtomicUsize>);

    impl Warm for Counting {
        fn warm<'a>(&'a self, _: &'a Arc<Event>) -> BoxFuture<'a, ()> {
            Box::pin(async move {
                // Slower than a subscriber's wake-up: it must still come first.
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        }
    }

    #[tokio::test]
    async fn an_event_is_warmed_once_per_group_before_subscribers_see_it() {
        let bus: SharedBus = Arc::new(InProcessBus::default());
        let hub = Hub::new(bus.clone());
        let topic = hub.join("m.social.y.1").await.unwrap();
        let (a, b) = (Arc::default(), Arc::default());
        let count =
            |c: &Arc<std::sync::atomic::AtomicUsize>| c.load(std::sync::atomic::Ordering::SeqCst);
        let first = topic.group([7; 32], || Arc::new(Counting(Arc::clone(&a))));
        // A second subscriber of the same key shares the group.
        let second = topic.group([7; 32], || unreachable!("the key has its group"));
        assert!(Arc::ptr_eq(&first, &second));
        let other = topic.group([8; 32], || Arc::new(Counting(Arc::clone(&b))));
        let mut rx = topic.receiver();
        let e = Event::new("m", "social.y", None, serde_json::json!({})).routed(&["1"]);
        bus.publish(&e).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().id, e.id);
        assert_eq!((count(&a), count(&b)), (1, 1));
        // A group whose subscribers all left is not warmed any more.
        drop((first, second));
        let f = Event::new("m", "social.y", None, serde_json::json!({})).routed(&["1"]);
        bus.publish(&f).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().id, f.id);
        assert_eq!((count(&a), count(&b)), (1, 2));
        drop(other);
    }
}
