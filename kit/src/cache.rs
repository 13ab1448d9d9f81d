//! Key-value cache with TTLs, counters, tag versions for invalidation and the
//! GCRA rate-limit step: in process (moka) when embedded, Redis in production.
//! A `Cache` handle carries a key prefix, so subgraphs and tests never collide.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use moka::future::Cache as Moka;
use moka::ops::compute::Op;
use moka::Expiry;
use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cache value is not valid: {0}")]
    Codec(#[from] serde_json::Error),
}

/// What a storage engine must do; `Cache` adds prefixes and typed helpers on top.
#[async_trait]
pub trait CacheBackend: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Adds `delta` to an integer counter (created at 0) and returns the new value.
    /// `ttl` applies when the counter is created.
    async fn incr(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64, CacheError>;
    /// One GCRA step of `tokens` at once, atomic per key: may a request that
    /// weighs `tokens` pass under `quota`? A refused step takes nothing.
    async fn gcra(&self, key: &str, quota: Quota, tokens: u32) -> Result<RateDecision, CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
    fn kind(&self) -> &'static str;
}

/// `limit` requests per `period`, with bursts of up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    pub fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            period: Duration::from_secs(60),
        }
    }
}

/// The outcome of one rate-limit step, with what the `RateLimit-*` headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// When refused: until one request would pass.
    pub retry_after: Duration,
}

/// The GCRA arithmetic shared by both engines. `tat` is the theoretical arrival
/// time in milliseconds; returns the decision and the new `tat` to store.
pub fn gcra_step(now_ms: i64, stored_tat: Option<i64>, quota: Quota) -> (RateDecision, i64) {
    gcra_step_n(now_ms, stored_tat, quota, 1)
}

/// `gcra_step` for a request weighing `tokens` (each one emission interval);
/// more tokens than the burst never pass.
pub fn gcra_step_n(
    now_ms: i64,
    stored_tat: Option<i64>,
    quota: Quota,
    tokens: u32,
) -> (RateDecision, i64) {
    let period = quota.period.as_millis() as i64;
    let limit = quota.limit.max(1) as i64;
    let interval = (period / limit).max(1);
    let tat = stored_tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat.saturating_add(interval.saturating_mul(i64::from(tokens.max(1))));
    let allow_at = new_tat - period;
    if now_ms < allow_at {
        let decision = RateDecision {
            allowed: false,
            limit: quota.limit,
            remaining: 0,
            reset_after: Duration::from_millis((tat - now_ms) as u64),
            retry_after: Duration::from_millis((allow_at - now_ms) as u64),
        };
        (decision, tat)
    } else {
        let remaining = ((period - (new_tat - now_ms)) / interval).max(0) as u32;
        let decision = RateDecision {
            allowed: true,
            limit: quota.limit,
            remaining,
            reset_after: Duration::from_millis((new_tat - now_ms) as u64),
            retry_after: Duration::ZERO,
        };
        (decision, new_tat)
    }
}

/// A prefixed handle on a cache backend. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    backend: Arc<dyn CacheBackend>,
    prefix: String,
}

impl Cache {
    pub fn new(backend: Arc<dyn CacheBackend>, prefix: impl Into<String>) -> Self {
        Self {
            backend,
            prefix: prefix.into(),
        }
    }

    pub fn in_process(max_entries: u64, prefix: impl Into<String>) -> Self {
        Self::new(Arc::new(InProcess::new(max_entries)), prefix)
    }

    /// The key prefix of this handle.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub async fn redis(url: &url::Url, prefix: impl Into<String>) -> Result<Self, CacheError> {
        Ok(Self::new(Arc::new(Redis::connect(url).await?), prefix))
    }

    /// The same backend under `<prefix>:<scope>`.
    pub fn scoped(&self, scope: &str) -> Self {
        Self {
            backend: self.backend.clone(),
            prefix: format!("{}:{scope}", self.prefix),
        }
    }

    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.backend.get(&self.key(key)).await
    }

    pub async fn set(
        &self,
        key: &str,
        value: impl Into<Vec<u8>>,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.backend.set(&self.key(key), value.into(), ttl).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.backend.delete(&self.key(key)).await
    }

    pub async fn incr(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64, CacheError> {
        self.backend.incr(&self.key(key), delta, ttl).await
    }

    pub async fn gcra(&self, key: &str, quota: Quota) -> Result<RateDecision, CacheError> {
        self.backend.gcra(&self.key(key), quota, 1).await
    }

    /// One GCRA step for a request that weighs `tokens` (say, an operation
    /// with several sign-in fields): all pass together or none.
    pub async fn gcra_n(
        &self,
        key: &str,
        quota: Quota,
        tokens: u32,
    ) -> Result<RateDecision, CacheError> {
        self.backend.gcra(&self.key(key), quota, tokens).await
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        self.backend.ping().await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        match self.get(key).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    pub async fn set_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.set(key, serde_json::to_vec(value)?, ttl).await
    }

    /// The current version of an invalidation tag (0 until first bumped).
    pub async fn tag_version(&self, tag: &str) -> Result<i64, CacheError> {
        self.incr(&format!("tag:{tag}"), 0, TAG_TTL).await
    }

    /// Invalidates every key built with `versioned_key(tag, ..)` at once.
    pub async fn bump_tag(&self, tag: &str) -> Result<i64, CacheError> {
        self.incr(&format!("tag:{tag}"), 1, TAG_TTL).await
    }

    /// `key` qualified by the current version of `tag`; bumping the tag orphans it.
    pub async fn versioned_key(&self, tag: &str, key: &str) -> Result<String, CacheError> {
        Ok(format!("{key}@{tag}.v{}", self.tag_version(tag).await?))
    }
}

const TAG_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The in-process engine. Every entry carries its own expiry.
pub struct InProcess {
    entries: Moka<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _k: &String,
        v: &Entry,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
    fn expire_after_update(
        &self,
        _k: &String,
        v: &Entry,
        _now: std::time::Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

impl InProcess {
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }
}

fn read_i64(bytes: &[u8]) -> i64 {
    bytes.try_into().map(i64::from_le_bytes).unwrap_or_default()
}

#[async_trait]
impl CacheBackend for InProcess {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.entries.get(key).await.map(|e| e.value.to_vec()))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.entries
            .insert(
                key.to_string(),
                Entry {
                    value: value.into(),
                    ttl,
                },
            )
            .await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.invalidate(key).await;
        Ok(())
    }

    async fn incr(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64, CacheError> {
        let result = self
            .entries
            .entry(key.to_string())
            .and_compute_with(|current| {
                let (value, ttl) = match current {
                    Some(e) => (
                        read_i64(&e.value().value).saturating_add(delta),
                        e.value().ttl,
                    ),
                    None => (delta, ttl),
                };
                std::future::ready(Op::Put(Entry {
                    value: value.to_le_bytes().to_vec().into(),
                    ttl,
                }))
            })
            .await;
        Ok(result
            .into_entry()
            .map(|e| read_i64(&e.value().value))
            .unwrap_or(delta))
    }

    async fn gcra(&self, key: &str, quota: Quota, tokens: u32) -> Result<RateDecision, CacheError> {
        let now = now_ms();
        let mut decision = None;
        self.entries
            .entry(key.to_string())
            .and_compute_with(|current| {
                let stored = current.map(|e| read_i64(&e.value().value));
                let (d, tat) = gcra_step_n(now, stored, quota, tokens);
                decision = Some(d);
                let ttl = Duration::from_millis((tat - now).max(1) as u64);
                std::future::ready(Op::Put(Entry {
                    value: tat.to_le_bytes().to_vec().into(),
                    ttl,
                }))
            })
            .await;
        Ok(decision.expect("the compute closure always runs"))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

/// The Redis engine: one multiplexed connection that reconnects by itself.
pub struct Redis {
    conn: ConnectionManager,
    gcra: redis::Script,
}

/// GCRA in one round trip (ARGV: period ms, limit, tokens). Uses the
/// server's clock so several routers agree.
/// Returns {allowed, remaining, reset_after_ms, retry_after_ms}.
const GCRA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tokens = math.max(tonumber(ARGV[3]), 1)
local interval = math.max(math.floor(period / limit), 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * tokens
local allow_at = new_tat - period
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(new_tat - now, 1))
local remaining = math.floor((period - (new_tat - now)) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, new_tat - now, 0}
"#;

impl Redis {
    pub async fn connect(url: &url::Url) -> Result<Self, CacheError> {
        let client = redis::Client::open(url.as_str())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(3))
            .set_response_timeout(Duration::from_secs(3))
            .set_number_of_retries(2);
        // The manager retries forever in the background once connected; the
        // first connection must answer promptly or start-up fails.
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| {
            redis::RedisError::from((redis::ErrorKind::IoError, "no answer within 5s"))
        })??;
        Ok(Self {
            conn,
            gcra: redis::Script::new(GCRA_SCRIPT),
        })
    }
}

#[async_trait]
impl CacheBackend for Redis {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("GET").arg(key).query_async(&mut conn).await?)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(ms)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(key)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn incr(&self, key: &str, delta: i64, ttl: Duration) -> Result<i64, CacheError> {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        // INCRBY then set the expiry only when the key had none (it was just created).
        let (value,): (i64,) = redis::pipe()
            .atomic()
            .cmd("INCRBY")
            .arg(key)
            .arg(delta)
            .cmd("PEXPIRE")
            .arg(key)
            .arg(ms)
            .arg("NX")
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(value)
    }

    async fn gcra(&self, key: &str, quota: Quota, tokens: u32) -> Result<RateDecision, CacheError> {
        let mut conn = self.conn.clone();
        let (allowed, remaining, reset_ms, retry_ms): (i64, i64, i64, i64) = self
            .gcra
            .key(key)
            .arg(quota.period.as_millis() as i64)
            .arg(quota.limit.max(1))
            .arg(tokens.max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: quota.limit,
            remaining: remaining.max(0) as u32,
            reset_after: Duration::from_millis(reset_ms.max(0) as u64),
            retry_after: Duration::from_millis(retry_ms.max(0) as u64),
        })
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_of_limit_then_refuses() {
        let quota = Quota::per_minute(5);
        let mut tat = None;
        for i in 0..5 {
            let (d, t) = gcra_step(1_000_000, tat, quota);
            assert!(d.allowed, "request {i} should pass");
            assert_eq!(d.remaining, 4 - i);
            tat = Some(t);
        }
        let (d, _) = gcra_step(1_000_000, tat, quota);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_secs(12));
        // One emission interval later exactly one more passes.
        let (d, _) = gcra_step(1_012_000, tat, quota);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
    }

    #[test]
    fn a_step_of_several_tokens_takes_them_all_or_none() {
        let quota = Quota::per_minute(5);
        let (d, tat) = gcra_step_n(1_000_000, None, quota, 3);
        assert!(d.allowed);
        assert_eq!(d.remaining, 2);
        // Three more do not fit in the two left, and nothing is taken.
        let (d, same) = gcra_step_n(1_000_000, Some(tat), quota, 3);
        assert!(!d.allowed);
        assert_eq!(same, tat);
        let (d, _) = gcra_step_n(1_000_000, Some(tat), quota, 2);
        assert!(d.allowed);
        // More than the whole burst never passes.
        assert!(!gcra_step_n(1_000_000, None, quota, 6).0.allowed);
    }
}
