//! Persisted operations: automatic persisted queries (the client sends the
//! SHA-256 of its query in `extensions.persistedQuery`; the text is sent once
//! and remembered in the shared cache) and trusted documents (the operations
//! in `router.persisted.dir`, known by their hash; with `router.persisted.only`
//! nothing else runs, as production APIs with known clients do).

use std::collections::HashMap;
use std::path::Path;
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
    apq: Option<Cache>,
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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
            apq: config.apq.then(|| cache.cloned()).flatten(),
        })
    }

    pub fn len(&self) -> usize {
        self.trusted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trusted.is_empty()
    }

    /// Fills in `request.query` from its persisted-query hash, remembers a
    /// newly sent APQ, and in trusted-only mode refuses anything else.
    pub async fn resolve(&self, request: &mut GraphqlRequest) -> Result<(), GraphqlError> {
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
                if let Some(cache) = &self.apq {
                    if let Err(e) = cache
                        .set(&format!("apq:{hash}"), query.as_bytes(), APQ_TTL)
                        .await
                    {
                        tracing::warn!(error = %e, "could not store a persisted query");
                    }
                }
            }
            (None, Some(hash)) => {
                if let Some(text) = self.trusted.get(&hash) {
                    request.query = Some(text.clone());
                    return Ok(());
                }
                self.check_trusted(&hash)?;
                let stored = match &self.apq {
                    Some(cache) => cache.get(&format!("apq:{hash}")).await.ok().flatten(),
                    None => None,
                };
                match stored.and_then(|b| String::from_utf8(b).ok()) {
                    Some(text) => request.query = Some(text),
                    None => {
                        return Err(GraphqlError::new(
                            ErrorCode::PersistedQueryNotFound,
                            "PersistedQueryNotFound",
                        ))
                    }
                }
            }
            (Some(query), None) => self.check_trusted(&sha256_hex(query))?,
            (None, None) => {}
        }
        Ok(())
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
            apq: Some(Cache::in_process(100, "t")),
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
        p.resolve(&mut request(Some(q), Some(&h))).await.unwrap();
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
}
