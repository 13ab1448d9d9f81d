//! One circuit breaker per subgraph: closed, open, half-open, judged on the
//! failure ratio and the slow-call ratio over a rolling window. While open, a
//! subgraph's fetches fail at once instead of piling up behind a dead service;
//! after the cool-down a few probes decide whether it is back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt};
use kit::config::BreakerSettings;
use serde::Serialize;

use crate::fetch::{FetchError, FetchResult, SubgraphRequest, Transport};

pub use kit::config::BreakerConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    /// For the `marquee_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen => 1.0,
            State::Open => 2.0,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success(Duration),
    Failure,
}

/// One-second buckets of the rolling window.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: u64,
    calls: u32,
    failures: u32,
    slow: u32,
}

#[derive(Debug)]
struct Inner {
    state: State,
    opened_at: Option<Instant>,
    buckets: Vec<Bucket>,
    probes_in_flight: u32,
    probes_succeeded: u32,
}

/// A breaker; cheap to consult on every fetch.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    epoch: Instant,
    inner: Mutex<Inner>,
}

/// Refusal: the breaker is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open;

/// Permission to make one call; report its outcome with `Breaker::record`.
#[derive(Debug)]
#[must_use = "report the call's outcome with Breaker::record"]
pub struct Permit {
    probe: bool,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        let buckets = vec![Bucket::default(); config.window_secs.max(1) as usize];
        Self {
            config,
            epoch: Instant::now(),
            inner: Mutex::new(Inner {
                state: State::Closed,
                opened_at: None,
                buckets,
                probes_in_flight: 0,
                probes_succeeded: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the counters consistent, so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> State {
        self.state_at(Instant::now())
    }

    fn state_at(&self, now: Instant) -> State {
        let inner = self.lock();
        match inner.state {
            State::Open
                if inner
                    .opened_at
                    .is_some_and(|t| now.duration_since(t) >= self.cooldown()) =>
            {
                State::HalfOpen
            }
            s => s,
        }
    }

    fn cooldown(&self) -> Duration {
        Duration::from_secs(self.config.cooldown_secs)
    }

    /// May a call go out now?
    pub fn try_acquire(&self) -> Result<Permit, Open> {
        self.try_acquire_at(Instant::now())
    }

    pub fn try_acquire_at(&self, now: Instant) -> Result<Permit, Open> {
        if !self.config.enabled {
            return Ok(Permit { probe: false });
        }
        let mut inner = self.lock();
        if inner.state == State::Open
            && inner
                .opened_at
                .is_some_and(|t| now.duration_since(t) >= self.cooldown())
        {
            inner.state = State::HalfOpen;
            inner.probes_in_flight = 0;
            inner.probes_succeeded = 0;
        }
        match inner.state {
            State::Closed => Ok(Permit { probe: false }),
            State::Open => Err(Open),
            State::HalfOpen => {
                if inner.probes_in_flight + inner.probes_succeeded < self.config.probes.max(1) {
                    inner.probes_in_flight += 1;
                    Ok(Permit { probe: true })
                } else {
                    Err(Open)
                }
            }
        }
    }

    pub fn record(&self, permit: Permit, outcome: Outcome) {
        self.record_at(permit, outcome, Instant::now())
    }

    pub fn record_at(&self, permit: Permit, outcome: Outcome, now: Instant) {
        if !self.config.enabled {
            return;
        }
        let slow_after = Duration::from_millis(self.config.slow_call_ms);
        let (failed, slow) = match outcome {
            Outcome::Failure => (true, false),
            Outcome::Success(took) => (false, took >= slow_after),
        };
        let mut inner = self.lock();
        if permit.probe {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
            if inner.state != State::HalfOpen {
                return;
            }
            if failed || slow {
                self.open(&mut inner, now);
            } else {
                inner.probes_succeeded += 1;
                if inner.probes_succeeded >= self.config.probes.max(1) {
                    inner.state = State::Closed;
                    inner.opened_at = None;
                    inner
                        .buckets
                        .iter_mut()
                        .for_each(|b| *b = Bucket::default());
                }
            }
            return;
        }
        if inner.state != State::Closed {
            return;
        }
        let second = now.duration_since(self.epoch).as_secs();
        let len = inner.buckets.len() as u64;
        let bucket = &mut inner.buckets[(second % len) as usize];
        if bucket.second != second {
            *bucket = Bucket {
                second,
                ..Bucket::default()
            };
        }
        bucket.calls += 1;
        bucket.failures += failed as u32;
        bucket.slow += slow as u32;
        let (calls, failures, slows) = inner
            .buckets
            .iter()
            .filter(|b| second.saturating_sub(b.second) < len && b.calls > 0)
            .fold((0u32, 0u32, 0u32), |(c, f, s), b| {
                (c + b.calls, f + b.failures, s + b.slow)
            });
        if calls >= self.config.min_calls.max(1) {
            let failure_ratio = failures as f64 / calls as f64;
            let slow_ratio = slows as f64 / calls as f64;
            if failure_ratio >= self.config.failure_ratio
                || slow_ratio >= self.config.slow_call_ratio
            {
                self.open(&mut inner, now);
            }
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        inner.state = State::Open;
        inner.opened_at = Some(now);
        inner.probes_in_flight = 0;
        inner.probes_succeeded = 0;
    }
}

/// Every subgraph's breaker, created on first use from `router.breaker`.
pub struct Breakers {
    settings: BreakerSettings,
    by_subgraph: RwLock<HashMap<String, Arc<Breaker>>>,
}

impl Breakers {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            by_subgraph: RwLock::default(),
        }
    }

    /// `subgraph`'s breaker.
    pub fn get(&self, subgraph: &str) -> Arc<Breaker> {
        if let Some(b) = self
            .by_subgraph
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(subgraph)
        {
            return b.clone();
        }
        self.by_subgraph
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(subgraph.to_string())
            .or_insert_with(|| Arc::new(Breaker::new(self.settings.resolve(subgraph))))
            .clone()
    }

    /// The state of `subgraph`'s breaker (closed when it never made a call).
    pub fn state(&self, subgraph: &str) -> State {
        self.by_subgraph
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(subgraph)
            .map_or(State::Closed, |b| b.state())
    }
}

/// A `Transport` that asks the subgraph's breaker before every call and
/// reports how the call went.
pub struct BreakerTransport {
    inner: Arc<dyn Transport>,
    breakers: Arc<Breakers>,
}

impl BreakerTransport {
    pub fn new(inner: Arc<dyn Transport>, breakers: Arc<Breakers>) -> Self {
        Self { inner, breakers }
    }
}

fn publish_state(subgraph: &str, state: State) {
    metrics::gauge!("marquee_breaker_state", "subgraph" => subgraph.to_string()).set(state.gauge());
}

impl Transport for BreakerTransport {
    fn send(&self, request: SubgraphRequest) -> BoxFuture<'static, FetchResult> {
        let breaker = self.breakers.get(&request.subgraph);
        let permit = match breaker.try_acquire() {
            Ok(permit) => permit,
            Err(Open) => {
                metrics::counter!("marquee_breaker_rejected_total", "subgraph" => request.subgraph.clone())
                    .increment(1);
                publish_state(&request.subgraph, State::Open);
                let err = FetchError::Unavailable {
                    subgraph: request.subgraph,
                    reason: "circuit breaker is open".into(),
                };
                return futures::future::ready(Err(err)).boxed();
            }
        };
        let subgraph = request.subgraph.clone();
        let call = self.inner.send(request);
        async move {
            let started = Instant::now();
            let result = call.await;
            let outcome = match &result {
                Ok(_) => Outcome::Success(started.elapsed()),
                Err(_) => Outcome::Failure,
            };
            breaker.record(permit, outcome);
            publish_state(&subgraph, breaker.state());
            result
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            min_calls: 4,
            failure_ratio: 0.5,
            slow_call_ratio: 0.5,
            slow_call_ms: 100,
            cooldown_secs: 5,
            probes: 2,
            ..BreakerConfig::default()
        })
    }

    fn call(b: &Breaker, outcome: Outcome, at: Instant) -> Result<(), Open> {
        let permit = b.try_acquire_at(at)?;
        b.record_at(permit, outcome, at);
        Ok(())
    }

    const OK: Outcome = Outcome::Success(Duration::from_millis(1));

    #[test]
    fn stays_closed_below_the_minimum_number_of_calls() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..3 {
            call(&b, Outcome::Failure, t).unwrap();
        }
        assert_eq!(b.state_at(t), State::Closed);
    }

    #[test]
    fn opens_on_the_failure_ratio_and_refuses_at_once() {
        let b = breaker();
        let t = Instant::now();
        call(&b, OK, t).unwrap();
        call(&b, OK, t).unwrap();
        call(&b, Outcome::Failure, t).unwrap();
        assert_eq!(b.state_at(t), State::Closed);
        call(&b, Outcome::Failure, t).unwrap();
        assert_eq!(b.state_at(t), State::Open);
        assert_eq!(b.try_acquire_at(t).unwrap_err(), Open);
    }

    #[test]
    fn opens_on_the_slow_call_ratio() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..4 {
            call(&b, Outcome::Success(Duration::from_millis(150)), t).unwrap();
        }
        assert_eq!(b.state_at(t), State::Open);
    }

    #[test]
    fn half_opens_after_the_cooldown_and_closes_when_probes_succeed() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..4 {
            call(&b, Outcome::Failure, t).unwrap();
        }
        let later = t + Duration::from_secs(5);
        assert_eq!(b.state_at(later), State::HalfOpen);
        let p1 = b.try_acquire_at(later).unwrap();
        let p2 = b.try_acquire_at(later).unwrap();
        assert_eq!(
            b.try_acquire_at(later).unwrap_err(),
            Open,
            "only the probes pass"
        );
        b.record_at(p1, OK, later);
        assert_eq!(b.state_at(later), State::HalfOpen);
        b.record_at(p2, OK, later);
        assert_eq!(b.state_at(later), State::Closed);
        call(&b, Outcome::Failure, later).unwrap();
        assert_eq!(b.state_at(later), State::Closed, "the window starts afresh");
    }

    #[test]
    fn a_failed_probe_opens_again() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..4 {
            call(&b, Outcome::Failure, t).unwrap();
        }
        let later = t + Duration::from_secs(6);
        call(&b, Outcome::Failure, later).unwrap();
        assert_eq!(b.state_at(later), State::Open);
        assert_eq!(
            b.state_at(later + Duration::from_secs(4)),
            State::Open,
            "a new cool-down"
        );
    }

    #[test]
    fn old_failures_leave_the_window() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..3 {
            call(&b, Outcome::Failure, t).unwrap();
        }
        let later = t + Duration::from_secs(11);
        for _ in 0..3 {
            call(&b, OK, later).unwrap();
        }
        call(&b, Outcome::Failure, later).unwrap();
        assert_eq!(
            b.state_at(later),
            State::Closed,
            "1 failure in 4 recent calls"
        );
    }

    #[test]
    fn disabled_breaker_never_refuses() {
        let b = Breaker::new(BreakerConfig {
            enabled: false,
            min_calls: 1,
            ..BreakerConfig::default()
        });
        let t = Instant::now();
        for _ in 0..20 {
            call(&b, Outcome::Failure, t).unwrap();
        }
        assert_eq!(b.state_at(t), State::Closed);
    }
}
