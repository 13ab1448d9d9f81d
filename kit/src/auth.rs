//! Access-token verification shared by the router and every subgraph: EdDSA
//! (or another configured asymmetric algorithm) JWTs checked against the users
//! subgraph's JWKS, fetched and cached, refetched on an unknown `kid` at most once
//! per interval. `alg: none`, symmetric algorithms and keys whose declared
//! algorithm differs from the token's are refused. Logged-out sessions (`sid`)
//! are listed in the cache and refused too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Guard};
use http::HeaderMap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::cache::Cache;
use crate::config::AuthConfig;
use crate::error::{Error, ErrorCode};

pub use crate::config::ALLOWED_ALGORITHMS;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    /// Scopes a role grants; each role includes the ones below it.
    pub fn scopes(self) -> Vec<String> {
        let all = ["user", "moderator", "admin"];
        let n = match self {
            Role::User => 1,
            Role::Moderator => 2,
            Role::Admin => 3,
        };
        all[..n].iter().map(|s| s.to_string()).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "USER",
            Role::Moderator => "MODERATOR",
            Role::Admin => "ADMIN",
        }
    }
}

/// The claims of a Marquee access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub role: Role,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Session id; logout revokes it.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
}

impl Claims {
    pub fn has_role(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope) || self.role.scopes().iter().any(|s| s == scope)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    Issuer,
    #[error("the token is meant for another audience")]
    Audience,
    #[error("the session has ended; sign in again")]
    Revoked,
    #[error("signing keys cannot be fetched right now")]
    KeysUnavailable,
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::KeysUnavailable => ErrorCode::ServiceUnavailable,
            _ => ErrorCode::Unauthenticated,
        }
    }

    /// Short machine-readable reason, for metrics and security logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Malformed => "malformed",
            AuthError::Algorithm => "algorithm",
            AuthError::UnknownKey => "unknown_key",
            AuthError::Signature => "signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::Issuer => "issuer",
            AuthError::Audience => "audience",
            AuthError::Revoked => "revoked",
            AuthError::KeysUnavailable => "keys_unavailable",
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::new(e.code(), e.to_string())
    }
}

/// The cache namespace for session revocations, shared by users (writer) and verifiers.
pub fn revocations(cache: &Cache) -> Cache {
    cache.scoped("auth")
}

/// Lists `sid` as revoked for `ttl` (the longest remaining life of its access tokens).
pub async fn revoke_session(
    cache: &Cache,
    sid: &str,
    ttl: Duration,
) -> Result<(), crate::cache::CacheError> {
    revocations(cache)
        .set(&format!("revoked:{sid}"), b"1".to_vec(), ttl)
        .await
}

struct KeyEntry {
    key: DecodingKey,
    alg: Algorithm,
}

struct KeyState {
    keys: HashMap<String, Arc<KeyEntry>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

enum Source {
    Static,
    Remote {
        url: url::Url,
        http: reqwest::Client,
    },
}

/// Verifies access tokens. Cheap to share behind an `Arc`.
pub struct Verifier {
    source: Source,
    state: RwLock<KeyState>,
    fetching: Mutex<()>,
    allowed: Vec<Algorithm>,
    issuer: String,
    audience: String,
    leeway: u64,
    min_refetch: Duration,
    ttl: Duration,
    revoked: Option<Cache>,
    /// Local memory of sessions found revoked (a revocation never ends before
    /// its tokens expire). Sessions found live are asked about again on every
    /// request, so a logout takes effect at once.
    revocation_memo: moka::sync::Cache<String, ()>,
}

impl Verifier {
    /// A verifier that fetches keys from `jwks_url`.
    pub fn remote(config: &AuthConfig, jwks_url: url::Url, revoked: Option<Cache>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("a client with only a timeout always builds");
        Self::build(
            config,
            Source::Remote {
                url: jwks_url,
                http,
            },
            HashMap::new(),
            revoked,
        )
    }

    /// A verifier with a fixed key set (tests; the users subgraph verifying its own tokens).
    pub fn with_keys(config: &AuthConfig, jwks: &JwkSet, revoked: Option<Cache>) -> Self {
        Self::build(config, Source::Static, index_keys(jwks), revoked)
    }

    fn build(
        config: &AuthConfig,
        source: Source,
        keys: HashMap<String, Arc<KeyEntry>>,
        revoked: Option<Cache>,
    ) -> Self {
        let allowed = config
            .algorithms
            .iter()
            .filter_map(|a| a.parse::<Algorithm>().ok())
            .filter(|a| !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
            .collect();
        Self {
            source,
            state: RwLock::new(KeyState {
                keys,
                fetched_at: None,
                last_attempt: None,
            }),
            fetching: Mutex::new(()),
            allowed,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_secs,
            min_refetch: Duration::from_secs(config.jwks_min_refetch_secs),
            ttl: Duration::from_secs(config.jwks_ttl_secs),
            revoked: revoked.map(|c| revocations(&c)),
            revocation_memo: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(config.access_token_ttl_secs))
                .build(),
        }
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !self.allowed.contains(&header.alg) {
            return Err(AuthError::Algorithm);
        }
        let kid = header.kid.ok_or(AuthError::Malformed)?;
        let entry = self.key(&kid).await?;
        if entry.alg != header.alg {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &entry.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => AuthError::Expired,
                K::ImmatureSignature => AuthError::NotYetValid,
                K::InvalidIssuer => AuthError::Issuer,
                K::InvalidAudience => AuthError::Audience,
                K::InvalidSignature => AuthError::Signature,
                K::InvalidAlgorithm => AuthError::Algorithm,
                _ => AuthError::Malformed,
            }
        })?;
        let claims = data.claims;
        if self.is_revoked(&claims.sid).await {
            return Err(AuthError::Revoked);
        }
        Ok(claims)
    }

    /// Whether claims verified before still hold: not expired, session not
    /// revoked. What a long-lived connection checks now and then (the token
    /// it verified does not change, so its signature is not checked again).
    pub async fn still_valid(&self, claims: &Claims) -> Result<(), AuthError> {
        let now = chrono::Utc::now().timestamp();
        if claims.exp.saturating_add(self.leeway as i64) <= now {
            return Err(AuthError::Expired);
        }
        if self.is_revoked(&claims.sid).await {
            return Err(AuthError::Revoked);
        }
        Ok(())
    }

    async fn is_revoked(&self, sid: &str) -> bool {
        let Some(cache) = &self.revoked else {
            return false;
        };
        if self.revocation_memo.contains_key(sid) {
            return true;
        }
        let revoked = match cache.get(&format!("revoked:{sid}")).await {
            Ok(v) => v.is_some(),
            Err(e) => {
                // Fail closed: a token whose session cannot be checked is refused.
                tracing::warn!(error = %e, "cannot check session revocation");
                return true;
            }
        };
        if revoked {
            self.revocation_memo.insert(sid.to_string(), ());
        }
        revoked
    }

    async fn key(&self, kid: &str) -> Result<Arc<KeyEntry>, AuthError> {
        {
            let state = self.state.read().await;
            let fresh = state.fetched_at.is_some_and(|t| t.elapsed() < self.ttl);
            if let Some(k) = state.keys.get(kid) {
                if fresh || matches!(self.source, Source::Static) {
                    return Ok(k.clone());
                }
            }
        }
        let Source::Remote { url, http } = &self.source else {
            return Err(AuthError::UnknownKey);
        };
        let _one_fetch_at_a_time = self.fetching.lock().await;
        {
            let state = self.state.read().await;
            let stale = state.fetched_at.is_none_or(|t| t.elapsed() >= self.ttl);
            let recently_tried = state
                .last_attempt
                .is_some_and(|t| t.elapsed() < self.min_refetch);
            if let Some(k) = state.keys.get(kid) {
                if !stale || recently_tried {
                    return Ok(k.clone());
                }
            } else if recently_tried {
                return Err(AuthError::UnknownKey);
            }
        }
        let fetched = fetch_jwks(http, url).await;
        let mut state = self.state.write().await;
        state.last_attempt = Some(Instant::now());
        match fetched {
            Ok(set) => {
                state.keys = index_keys(&set);
                state.fetched_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, jwks = %url, "cannot fetch JWKS");
                if state.keys.is_empty() {
                    return Err(AuthError::KeysUnavailable);
                }
            }
        }
        state.keys.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }

    /// Claims for the `Authorization` header: `Ok(None)` without one.
    pub async fn from_headers(&self, headers: &HeaderMap) -> Result<Option<Claims>, AuthError> {
        match bearer_token(headers)? {
            Some(token) => self.verify(token).await.map(Some),
            None => Ok(None),
        }
    }
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(Some(token.trim()))
}

async fn fetch_jwks(http: &reqwest::Client, url: &url::Url) -> Result<JwkSet, reqwest::Error> {
    http.get(url.clone())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

/// The algorithm a key may be used with: its declared `alg`, or the one its
/// type implies. Symmetric keys are dropped.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let declared = jwk.common.key_algorithm.and_then(|a| match a {
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::PS384 => Some(Algorithm::PS384),
        KeyAlgorithm::PS512 => Some(Algorithm::PS512),
        _ => None,
    });
    match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => None,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => declared
            .filter(|a| *a == Algorithm::EdDSA)
            .or(Some(Algorithm::EdDSA)),
        AlgorithmParameters::EllipticCurve(p) => match (p.curve.clone(), declared) {
            (EllipticCurve::P256, None | Some(Algorithm::ES256)) => Some(Algorithm::ES256),
            (EllipticCurve::P384, None | Some(Algorithm::ES384)) => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::RSA(_) => declared.filter(|a| {
            matches!(
                a,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            )
        }),
        _ => None,
    }
}

fn index_keys(set: &JwkSet) -> HashMap<String, Arc<KeyEntry>> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let alg = key_algorithm(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, Arc::new(KeyEntry { key, alg })))
        })
        .collect()
}

/// Who is calling, as the GraphQL context sees it.
#[derive(Debug, Clone, Default)]
pub struct Viewer(pub Option<Claims>);

/// Where a request came from, for audit records and per-client limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The caller's claims, if signed in.
pub fn viewer<'a>(ctx: &'a Context<'_>) -> Option<&'a Claims> {
    ctx.data_opt::<Viewer>().and_then(|v| v.0.as_ref())
}

/// The caller's claims, or `UNAUTHENTICATED`.
pub fn require_viewer<'a>(ctx: &'a Context<'_>) -> Result<&'a Claims, Error> {
    viewer(ctx).ok_or_else(Error::unauthenticated)
}

/// The caller's claims when they hold `role` (or higher).
pub fn require_role<'a>(ctx: &'a Context<'_>, role: Role) -> Result<&'a Claims, Error> {
    let claims = require_viewer(ctx)?;
    if claims.has_role(role) {
        Ok(claims)
    } else {
        Err(Error::forbidden(format!(
            "this needs the {} role",
            role.as_str()
        )))
    }
}

/// `#[graphql(guard = "RoleGuard(Role::Admin)")]`
pub struct RoleGuard(pub Role);

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        require_role(ctx, self.0).map(|_| ()).map_err(Into::into)
    }
}

/// `#[graphql(guard = "SignedIn")]`
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        require_viewer(ctx).map(|_| ()).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_lower_scopes() {
        assert_eq!(Role::Admin.scopes(), vec!["user", "moderator", "admin"]);
        assert_eq!(Role::User.scopes(), vec!["user"]);
        assert!(Role::Admin > Role::Moderator && Role::Moderator > Role::User);
    }

    #[test]
    fn bearer_parsing_is_strict() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), Ok(None));
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h), Ok(Some("abc")));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&h), Err(AuthError::Malformed));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&h), Err(AuthError::Malformed));
    }
}

pub mod signing {
    //! Ed25519 key pairs and token signing, used by the users subgraph (the only
    //! issuer) and by tests that need tokens.

    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::SigningKey;
    use jsonwebtoken::jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
        OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    };
    use jsonwebtoken::{EncodingKey, Header};

    use super::Claims;

    /// One signing key: its id, PKCS#8 private key and public JWK.
    #[derive(Clone)]
    pub struct KeyPair {
        pub kid: String,
        pkcs8: Vec<u8>,
        public: [u8; 32],
    }

    impl std::fmt::Debug for KeyPair {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("KeyPair")
                .field("kid", &self.kid)
                .finish_non_exhaustive()
        }
    }

    impl KeyPair {
        pub fn generate(kid: impl Into<String>) -> Self {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            Self::from_signing_key(kid.into(), &key)
        }

        /// From the 32-byte Ed25519 seed (as stored by the users subgraph).
        pub fn from_seed(kid: impl Into<String>, seed: &[u8; 32]) -> Self {
            Self::from_signing_key(kid.into(), &SigningKey::from_bytes(seed))
        }

        fn from_signing_key(kid: String, key: &SigningKey) -> Self {
            let pkcs8 = key
                .to_pkcs8_der()
                .expect("an Ed25519 key always encodes as PKCS#8")
                .as_bytes()
                .to_vec();
            Self {
                kid,
                pkcs8,
                public: key.verifying_key().to_bytes(),
            }
        }

        /// The public half as a JWK (`kty: OKP`, `crv: Ed25519`, `alg: EdDSA`).
        pub fn public_jwk(&self) -> Jwk {
            use base64::Engine;
            Jwk {
                common: CommonParameters {
                    public_key_use: Some(PublicKeyUse::Signature),
                    key_algorithm: Some(KeyAlgorithm::EdDSA),
                    key_id: Some(self.kid.clone()),
                    ..Default::default()
                },
                algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public),
                }),
            }
        }

        pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
            let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
        }
    }
}
