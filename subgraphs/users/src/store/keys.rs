//! The token signing keys: Ed25519 pairs whose private halves are stored
//! encrypted (ChaCha20-Poly1305 under `auth.key_encryption_key`, the kid as
//! associated data). The newest active key signs; retired keys stay in the
//! JWKS until every token they signed has expired. `rotate` adds a key and
//! retires the others, so rotation never invalidates a live token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::Utc;
use jsonwebtoken::jwk::JwkSet;
use kit::auth::signing::KeyPair;
use kit::Services;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use tokio::sync::RwLock;

use super::model::signing_key;

/// How long the ring trusts what it read before looking again (another
/// process may have rotated).
const RELOAD_AFTER: Duration = Duration::from_secs(30);

struct Loaded {
    signing: KeyPair,
    /// Every key still published (signing one included).
    published: Vec<KeyPair>,
    at: Instant,
}

pub struct KeyRing {
    services: Services,
    kek: [u8; 32],
    loaded: RwLock<Option<Loaded>>,
}

/// The key-encryption key: configured, or (development) generated once into
/// the data directory.
fn key_encryption_key(services: &Services) -> anyhow::Result<[u8; 32]> {
    if let Some(k) = &services.config.auth.key_encryption_key {
        let bytes = B64.decode(k.trim())?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("auth.key_encryption_key: not 32 bytes"));
    }
    let dir = services.config.data_dir.join("keys");
    let path = dir.join("kek");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = B64.decode(text.trim())?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()));
    }
    std::fs::create_dir_all(&dir)?;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    std::fs::write(&path, B64.encode(key))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::warn!(
        path = %path.display(),
        "auth.key_encryption_key is not set: generated one for development; set it in production"
    );
    Ok(key)
}

impl KeyRing {
    pub async fn open(services: &Services) -> anyhow::Result<Arc<Self>> {
        let ring = Arc::new(Self {
            kek: key_encryption_key(services)?,
            services: services.clone(),
            loaded: RwLock::new(None),
        });
        if ring.read_keys().await?.is_empty() {
            ring.add_key().await?;
        }
        Ok(ring)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.kek))
    }

    fn seal(&self, kid: &str, seed: &[u8; 32]) -> anyhow::Result<String> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: seed,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing a signing key failed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(B64.encode(out))
    }

    fn open_sealed(&self, kid: &str, sealed: &str) -> anyhow::Result<KeyPair> {
        let bytes = B64.decode(sealed)?;
        anyhow::ensure!(bytes.len() > 12, "signing key {kid} is truncated");
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into()?;
        let seed = self
            .cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "signing key {kid} cannot be decrypted: auth.key_encryption_key is not the one it was sealed with"
                )
            })?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| anyhow::anyhow!("signing key {kid} is not an Ed25519 seed"))?;
        Ok(KeyPair::from_seed(kid, &seed))
    }

    async fn read_keys(&self) -> anyhow::Result<Vec<(signing_key::Model, KeyPair)>> {
        let horizon = Utc::now()
            - chrono::Duration::seconds(self.services.config.auth.access_token_ttl_secs as i64)
            - chrono::Duration::seconds(self.services.config.auth.leeway_secs as i64);
        let rows = signing_key::Entity::find()
            .order_by_desc(signing_key::Column::CreatedAt)
            .all(&self.services.db)
            .await?;
        rows.into_iter()
            .filter(|r| r.retired_at.is_none_or(|t| t > horizon))
            .map(|r| {
                let pair = self.open_sealed(&r.kid, &r.sealed)?;
                Ok((r, pair))
            })
            .collect()
    }

    async fn add_key(&self) -> anyhow::Result<String> {
        let kid = format!("k{}", Utc::now().format("%Y%m%d%H%M%S%3f"));
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        signing_key::ActiveModel {
            kid: Set(kid.clone()),
            sealed: Set(self.seal(&kid, &seed)?),
            created_at: Set(Utc::now()),
            retired_at: Set(None),
        }
        .insert(&self.services.db)
        .await?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::RetiredAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(signing_key::Column::Kid.ne(kid.clone()))
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&self.services.db)
            .await?;
        *self.loaded.write().await = None;
        Ok(kid)
    }

    async fn current(&self) -> anyhow::Result<(KeyPair, Vec<KeyPair>)> {
        if let Some(l) = self.loaded.read().await.as_ref() {
            if l.at.elapsed() < RELOAD_AFTER {
                return Ok((l.signing.clone(), l.published.clone()));
            }
        }
        let keys = self.read_keys().await?;
        let signing = keys
            .iter()
            .find(|(r, _)| r.retired_at.is_none())
            .or(keys.first())
            .map(|(_, k)| k.clone())
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let published: Vec<KeyPair> = keys.into_iter().map(|(_, k)| k).collect();
        *self.loaded.write().await = Some(Loaded {
            signing: signing.clone(),
            published: published.clone(),
            at: Instant::now(),
        });
        Ok((signing, published))
    }

    /// The key new tokens are signed with.
    pub async fn signing(&self) -> anyhow::Result<KeyPair> {
        Ok(self.current().await?.0)
    }

    /// The public keys verifiers need.
    pub async fn jwks(&self) -> anyhow::Result<JwkSet> {
        let (_, published) = self.current().await?;
        Ok(JwkSet {
            keys: published.iter().map(KeyPair::public_jwk).collect(),
        })
    }
}

/// `marquee keys rotate`: a new signing key; the previous ones stay published
/// until their tokens have expired. Returns the new kid.
pub async fn rotate(services: &Services) -> anyhow::Result<String> {
    let ring = KeyRing::open(services).await?;
    ring.add_key().await
}
