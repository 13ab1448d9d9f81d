//! Persisted operations: automatic persisted queries (the client sends the
//! SHA-256 of its query in `extensions.persistedQuery`; the text is sent once
//! and remembered) and trusted documents (the operations in
//! `router.persisted.dir`, known by their hash; with `router.persisted.only`
//! nothing else runs, as production APIs with known clients do).
//!
//! An APQ text is stored only after its request passed admission (valid,
//! within limits, a rate-limit token paid), and the bytes stored are capped
//! by the router itself: in process in a cache of their own (weighed in
//! bytes, so query text never evicts revocations or rate buckets), in Redis
//! by a byte budget per day (texts live a day, so what is stored never
//! exceeds the budget of today and yesterday); past the cap a text is simply
//! not remembered and the client sends it again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kit::cache::Cache;
use kit::config::PersistedConfig;
use kit::ErrorCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::GraphqlRequest;
use crate::response::GraphqlError;

const APQ_TTL: Duration = Duration::from_secs(24 * 3600);

pub struct Persisted {
    /// Trusted documents by the hex SHA-256 of their text.
    trusted: HashMap<String, String>,
    only: bool,
    apq: Option<ApqStore>,
}

/// A text to remember once its request is admitted.
#[derive(Debug, Clone)]
pub struct Registration {
    hash: String,
    text: String,
}

/// Where APQ texts live, bounded in bytes either way.
pub enum ApqStore {
    /// This process only: its own cache, weighed by text size.
    InProcess(moka::future::Cache<String, Arc<str>>),
    /// Shared by router processes (Redis), with a daily byte budget.
    Shared { cache: Cache, max_bytes: u64 },
}

impl ApqStore {
    pub fn new(cache: Option<&Cache>, max_bytes: u64) -> Self {
        match cache {
            Some(c) if c.kind() != "in-process" => Self::Shared {
                cache: c.clone(),
                max_bytes,
            },
            _ => Self::InProcess(
                moka::future::Cache::builder()
                    .weigher(|k: &String, v: &Arc<str>| {
                        u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX)
                    })
                    .max_capacity(max_bytes)
                    .time_to_live(APQ_TTL)
                    .build(),
            ),
        }
    }

    async fn get(&self, hash: &str) -> Option<String> {
        match self {
            Self::InProcess(c) => c.get(hash).await.map(|t| t.to_string()),
            Self::Shared { cache, .. } => cache
                .get(&format!("apq:{hash}"))
                .await
                .ok()
                .flatten()
                .and_then(|b| String::from_utf8(b).ok()),
        }
    }

    async fn put(&self, hash: String, text: String) {
        match self {
            Self::InProcess(c) => c.insert(hash, Arc::from(text)).await,
            Self::Shared { cache, max_bytes } => {
                let day = chrono::Utc::now().timestamp() / 86_400;
                let size = (hash.len() + text.len()) as i64;
                let budget = |d: i64| format!("apq:bytes:{d}");
                let two_days = Duration::from_secs(2 * 86_400);
                let stored = async {
                    let yesterday = cache.incr(&budget(day - 1), 0, two_days).await?;
                    let today = cache.incr(&budget(day), size, two_days).await?;
                    if (today + yesterday) as u64 > *max_bytes {
                        cache.incr(&budget(day), -size, two_days).await?;
                        metrics::counter!("marquee_router_apq_refused_total").increment(1);
                        return Ok(());
                    }
                    cache
                        .set(&format!("apq:{hash}"), text.into_bytes(), APQ_TTL)
                        .await
                };
                if let Err(e) = stored.await {
                    tracing::warn!(error = %e, "could not store a persisted query");
                }
            }
        }
    }

    /// Bytes of text held in process (0 for the shared store, whose budget
    /// lives in Redis).
    pub async fn weight(&self) -> u64 {
        match self {
            Self::InProcess(c) => {
                c.run_pending_tasks().await;
                c.weighted_size()
            }
            Self::Shared { .. } => 0,
        }
    }
}

pub fn sha256_hex(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

impl Persisted {
    /// Loads the trusted documents of `config.dir` (every `*.graphql`, one
    /// document each) relative to `base`; APQ entries live in `cache`.
    pub fn load(
        config: &PersistedConfig,
        base: &Path,
        cache: Option<&Cache>,
    ) -> anyhow::Result<Self> {
        let mut trusted = HashMap::new();
        let dir = base.join(&config.dir);
        if dir.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(&dir)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file)?;
                trusted.insert(sha256_hex(&text), text);
            }
        } else if config.only {
            anyhow::bail!(
                "router.persisted.only is on but {} holds no trusted documents",
                dir.display()
            );
        }
        Ok(Self {
            trusted,
            only: config.only,
            apq: config
                .apq
                .then(|| ApqStore::new(cache, config.apq_max_bytes)),
        })
    }

    pub fn len(&self) -> usize {
        self.trusted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trusted.is_empty()
    }

    /// The APQ store, when APQ is on.
    pub fn apq(&self) -> Option<&ApqStore> {
        self.apq.as_ref()
    }

    /// Fills in `request.query` from its persisted-query hash and in
    /// trusted-only mode refuses anything else; a newly sent APQ comes back
    /// as a `Registration` to `register` once the request is admitted.
    pub async fn resolve(
        &self,
        request: &mut GraphqlRequest,
    ) -> Result<Option<Registration>, GraphqlError> {
        let hash = request
            .extensions
            .as_ref()
            .and_then(|e| e.get("persistedQuery"))
            .map(|pq| {
                pq.get("sha256Hash")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
                    .ok_or_else(|| {
                        GraphqlError::new(
                            ErrorCode::BadRequest,
                            "`extensions.persistedQuery.sha256Hash` must be a hex SHA-256",
                        )
                    })
            })
            .transpose()?;
        match (&request.query, hash) {
            (Some(query), Some(hash)) => {
                if sha256_hex(query) != hash {
                    return Err(GraphqlError::new(
                        ErrorCode::BadRequest,
                        "the query does not match `extensions.persistedQuery.sha256Hash`",
                    ));
                }
                self.check_trusted(&hash)?;
                if self.apq.is_some() && !self.trusted.contains_key(&hash) {
                    return Ok(Some(Registration {
                        hash,
                        text: query.clone(),
                    }));
                }
            }
            (None, Some(hash)) => {
                if let Some(text) = self.trusted.get(&hash) {
                    request.query = Some(text.clone());
                    return Ok(None);
                }
                self.check_trusted(&hash)?;
                let stored = match &self.apq {
                    Some(store) => store.get(&hash).await,
                    None => None,
                };
                match stored {
                    Some(text) => request.query = Some(text),
                    None => {
                        return Err(GraphqlError::new(
                            ErrorCode::PersistedQueryNotFound,
                            "PersistedQueryNotFound",
                        ))
                    }
                }
            }
            // Hashed only when a list decides: most requests carry text alone.
            (Some(query), None) if self.only => self.check_trusted(&sha256_hex(query))?,
            (Some(_), None) => {}
            (None, None) => {}
        }
        Ok(None)
    }

    /// Remembers an admitted request's APQ text.
    pub async fn register(&self, registration: Registration) {
        if let Some(store) = &self.apq {
            store.put(registration.hash, registration.text).await;
        }
    }

    fn check_trusted(&self, hash: &str) -> Result<(), GraphqlError> {
        if self.only && !self.trusted.contains_key(hash) {
            metrics::counter!("marquee_router_untrusted_operations_total").increment(1);
            return Err(GraphqlError::new(
                ErrorCode::Forbidden,
                "this router runs trusted operations only; the operation is not in its list",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(query: Option<&str>, hash: Option<&str>) -> GraphqlRequest {
        GraphqlRequest {
            query: query.map(String::from),
            operation_name: None,
            variables: None,
            extensions: hash.map(|h| {
                json!({"persistedQuery": {"version": 1, "sha256Hash": h}})
                    .as_object()
                    .unwrap()
                    .clone()
            }),
        }
    }

    fn persisted(only: bool, trusted: &[&str]) -> Persisted {
        Persisted {
            trusted: trusted
                .iter()
                .map(|t| (sha256_hex(t), t.to_string()))
                .collect(),
            only,
            apq: Some(ApqStore::new(None, 1 << 20)),
        }
    }

    #[tokio::test]
    async fn an_apq_is_registered_once_then_runs_by_hash() {
        let p = persisted(false, &[]);
        let q = "{ movies { title } }";
        let h = sha256_hex(q);
        let mut r = request(None, Some(&h));
        let err = p.resolve(&mut r).await.unwrap_err();
        assert_eq!(err.code(), Some("PERSISTED_QUERY_NOT_FOUND"));
        let registration = p.resolve(&mut request(Some(q), Some(&h))).await.unwrap();
        // Not remembered until the request is admitted.
        let err = p.resolve(&mut request(None, Some(&h))).await.unwrap_err();
        assert_eq!(err.code(), Some("PERSISTED_QUERY_NOT_FOUND"));
        p.register(registration.expect("a new text to remember"))
            .await;
        let mut r = request(None, Some(&h));
        p.resolve(&mut r).await.unwrap();
        assert_eq!(r.query.as_deref(), Some(q));
    }

    #[tokio::test]
    async fn a_wrong_hash_is_refused() {
        let p = persisted(false, &[]);
        let mut r = request(Some("{ a }"), Some(&sha256_hex("{ b }")));
        assert_eq!(
            p.resolve(&mut r).await.unwrap_err().code(),
            Some("BAD_REQUEST")
        );
        let mut r = request(None, Some("xyz"));
        assert_eq!(
            p.resolve(&mut r).await.unwrap_err().code(),
            Some("BAD_REQUEST")
        );
    }

    #[tokio::test]
    async fn trusted_only_mode_runs_the_list_and_nothing_else() {
        let q = "query Top { movies { title } }";
        let p = persisted(true, &[q]);
        let mut r = request(None, Some(&sha256_hex(q)));
        p.resolve(&mut r).await.unwrap();
        assert_eq!(r.query.as_deref(), Some(q));
        p.resolve(&mut request(Some(q), None)).await.unwrap();
        let err = p
            .resolve(&mut request(Some("{ other }"), None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("FORBIDDEN"));
        let other = "{ other }";
        let err = p
            .resolve(&mut request(Some(other), Some(&sha256_hex(other))))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("FORBIDDEN"));
    }

    #[tokio::test]
    async fn apq_text_stays_under_its_byte_cap_and_apart_from_security_state() {
        let cap = 256 * 1024;
        let p = Persisted {
            trusted: HashMap::new(),
            only: false,
            apq: Some(ApqStore::new(None, cap)),
        };
        // Security state lives in the shared cache, which APQ never touches.
        let security = Cache::in_process(1_000, "t");
        security
            .set("revoked:session-1", b"1".to_vec(), Duration::from_secs(600))
            .await
            .unwrap();
        for i in 0..100_000 {
            let q = format!("{{ movies(first: {i}) {{ title }} }}");
            let reg = p
                .resolve(&mut request(Some(&q), Some(&sha256_hex(&q))))
                .await
                .unwrap();
            p.register(reg.unwrap()).await;
        }
        let weight = p.apq().unwrap().weight().await;
        assert!(weight <= cap, "{weight} bytes held, cap {cap}");
        assert!(weight > cap / 2, "the store is used: {weight}");
        assert!(security.get("revoked:session-1").await.unwrap().is_some());
    }
}
