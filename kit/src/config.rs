//! Typed configuration: `marquee.yaml` (or `--config FILE`), then environment
//! variables `MARQUEE__SECTION__KEY`, then the conventional `DATABASE_URL`,
//! `REDIS_URL`, `NATS_URL`, `ELASTICSEARCH_URL`. Unknown keys and bad values are
//! errors that name the key; nothing falls back silently.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Yaml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

/// The whole configuration of a Marquee process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for embedded data: SQLite files, search index, media, dev mailbox, keys.
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub listen: ListenConfig,
    pub database: DatabaseConfig,
    pub cache: CacheConfig,
    pub bus: BusConfig,
    pub search: SearchConfig,
    pub auth: AuthConfig,
    pub router: RouterConfig,
    /// What every subgraph process applies to its requests.
    pub subgraph: SubgraphConfig,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".marquee"),
            log: LogConfig::default(),
            listen: ListenConfig::default(),
            database: DatabaseConfig::default(),
            cache: CacheConfig::default(),
            bus: BusConfig::default(),
            search: SearchConfig::default(),
            auth: AuthConfig::default(),
            router: RouterConfig::default(),
            subgraph: SubgraphConfig::default(),
            shutdown_grace_secs: 10,
        }
    }
}

/// `subgraph`: limits and trust of every subgraph process (they sit behind
/// the router, but must hold on their own when reached directly).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphConfig {
    /// Largest request body in bytes; a larger one is refused (413) before it is read.
    pub max_body_bytes: usize,
    /// Peers (IPs or CIDR ranges: the router, a load balancer) whose
    /// `X-Forwarded-For` names the client; from anyone else it is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for SubgraphConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            trusted_proxies: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

/// The router: what it serves and how it treats subgraphs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// A rover `supergraph.yaml` to compose, or a composed supergraph `.graphql`.
    pub supergraph: PathBuf,
    /// Query plans kept in the LRU plan cache.
    pub plan_cache_size: u64,
    /// Milliseconds planning one operation may take before it is refused.
    pub planning_timeout_ms: u64,
    /// Milliseconds one subgraph request may take before that subgraph counts as unavailable.
    pub subgraph_timeout_ms: u64,
    /// Accept a JSON array of operations in one POST (GraphQL over HTTP batching).
    pub batching: bool,
    /// Seconds between checks of the supergraph inputs for changes; 0 turns hot reload off.
    pub reload_interval_secs: u64,
    /// Circuit breakers: `all` for every subgraph, `subgraphs.NAME` overrides.
    pub breaker: BreakerSettings,
    /// Request size and operation shape limits.
    pub limits: LimitsConfig,
    /// Requests per minute per client (user id when signed in, else IP).
    pub rate_limit: RateLimitConfig,
    /// Proxies (CIDR ranges) whose `X-Forwarded-For`/`Forwarded` headers are believed.
    pub trusted_proxies: Vec<String>,
    /// Browser origins allowed to call the router (CORS), e.g. `https://app.example.com`; `*` for any (without credentials).
    pub cors_allow_origins: Vec<String>,
    /// Refuse GraphQL requests a browser could send cross-site without a preflight.
    pub csrf_prevention: bool,
    /// Answer `__schema`/`__type`; turn off in production if the schema is private.
    pub introspection: bool,
    /// `Strict-Transport-Security` max-age in seconds; 0 sends no HSTS header (serve TLS first).
    pub hsts_max_age_secs: u64,
    /// Automatic persisted queries and trusted documents.
    pub persisted: PersistedConfig,
    /// Caps on subscription connections (WebSocket and SSE).
    pub live: LiveLimits,
}

/// `router.live`: how many subscription connections one client and the whole
/// router hold, and how many bus topics one router opens.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveLimits {
    /// Open WebSockets plus SSE streams per client (user id when signed in, else IP).
    pub max_connections_per_client: usize,
    /// Open WebSockets plus SSE streams in this router process.
    pub max_connections: usize,
    /// Distinct bus subjects this router process subscribes to at once.
    pub max_topics: usize,
}

impl Default for LiveLimits {
    fn default() -> Self {
        Self {
            max_connections_per_client: 64,
            max_connections: 50_000,
            max_topics: 20_000,
        }
    }
}

/// `router.persisted`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistedConfig {
    /// Trusted documents: every `*.graphql` file here, known by its SHA-256.
    pub dir: PathBuf,
    /// Run trusted documents only (production with known clients).
    pub only: bool,
    /// Accept automatic persisted queries (kept a day in the cache).
    pub apq: bool,
    /// Most bytes of APQ query text this router keeps (its own cap, in
    /// process and in Redis, so query text never crowds out security state).
    pub apq_max_bytes: u64,
}

impl Default for PersistedConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("router/persisted"),
            only: false,
            apq: true,
            apq_max_bytes: 16 << 20,
        }
    }
}

/// `router.limits`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Most tokens in one GraphQL document (checked before parsing).
    pub max_tokens: usize,
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Most aliases in one operation.
    pub max_aliases: usize,
    /// Most root fields in one operation.
    pub max_root_fields: usize,
    /// Most directives in one operation.
    pub max_directives: usize,
    /// Most operations in one batched request.
    pub max_batch: usize,
    /// Most field selections in one operation, fragments expanded (what the
    /// validator and planner would walk).
    pub max_fields: usize,
    /// Highest static cost of one operation (IBM cost spec: 1 per object,
    /// 0 per scalar, lists multiplied by `first`/`last`/`limit` or their size
    /// below); 0 turns the cost limit off.
    pub max_cost: u64,
    /// Assumed length of a list field without a size argument.
    pub default_list_size: u64,
    /// Assumed lengths of particular list fields, by coordinate (`Movie.credits: 50`).
    pub list_sizes: std::collections::BTreeMap<String, u64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_tokens: 15_000,
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
            max_directives: 50,
            max_batch: 20,
            max_fields: 2_000,
            max_cost: 50_000,
            default_list_size: 10,
            list_sizes: std::collections::BTreeMap::new(),
        }
    }
}

/// `router.rate_limit`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Authentication operations (the root fields in `auth.operations`).
    pub auth: RateClass,
    /// Every other operation.
    pub api: RateClass,
}

/// One class of operations and its limit.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateClass {
    pub per_minute: u32,
    /// Root fields that put an operation in this class (auth only).
    pub operations: Vec<String>,
}

impl Default for RateClass {
    fn default() -> Self {
        Self {
            per_minute: 100,
            operations: Vec::new(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            auth: RateClass {
                per_minute: 5,
                operations: [
                    "register",
                    "login",
                    "refreshToken",
                    "requestPasswordReset",
                    "resetPassword",
                    "verifyEmail",
                    "resendVerificationEmail",
                ]
                .map(String::from)
                .to_vec(),
            },
            api: RateClass::default(),
        }
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            supergraph: PathBuf::from("supergraph.yaml"),
            plan_cache_size: 1000,
            planning_timeout_ms: 5000,
            subgraph_timeout_ms: 30000,
            batching: false,
            reload_interval_secs: 1,
            breaker: BreakerSettings::default(),
            limits: LimitsConfig::default(),
            rate_limit: RateLimitConfig::default(),
            trusted_proxies: Vec::new(),
            cors_allow_origins: Vec::new(),
            csrf_prevention: true,
            introspection: true,
            hsts_max_age_secs: 0,
            persisted: PersistedConfig::default(),
            live: LiveLimits::default(),
        }
    }
}

/// `router.breaker`: defaults for every subgraph and per-subgraph overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    pub all: BreakerConfig,
    /// Per subgraph: only the keys given replace those of `all`.
    pub subgraphs: BTreeMap<String, BreakerOverride>,
}

impl BreakerSettings {
    /// The breaker settings for `subgraph`: `all` with its overrides applied.
    pub fn resolve(&self, subgraph: &str) -> BreakerConfig {
        let mut c = self.all.clone();
        if let Some(o) = self.subgraphs.get(subgraph) {
            macro_rules! apply {
                ($($f:ident),*) => { $(if let Some(v) = o.$f { c.$f = v; })* };
            }
            apply!(
                enabled,
                failure_ratio,
                slow_call_ratio,
                slow_call_ms,
                window_secs,
                min_calls,
                cooldown_secs,
                probes
            );
        }
        c
    }
}

/// One subgraph's circuit breaker.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Off means calls always go through.
    pub enabled: bool,
    /// Share of failed calls in the window that opens the breaker (0..1).
    pub failure_ratio: f64,
    /// Share of slow calls in the window that opens the breaker (0..1).
    pub slow_call_ratio: f64,
    /// A call slower than this (milliseconds) counts as slow.
    pub slow_call_ms: u64,
    /// Seconds of the rolling window.
    pub window_secs: u64,
    /// Calls the window must hold before ratios are judged.
    pub min_calls: u32,
    /// Seconds the breaker stays open before letting probes through.
    pub cooldown_secs: u64,
    /// Probe calls allowed while half-open; all must succeed to close.
    pub probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_ratio: 0.5,
            slow_call_ratio: 0.8,
            slow_call_ms: 5_000,
            window_secs: 10,
            min_calls: 10,
            cooldown_secs: 5,
            probes: 3,
        }
    }
}

/// Per-subgraph breaker keys; unset ones come from `all`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerOverride {
    pub enabled: Option<bool>,
    pub failure_ratio: Option<f64>,
    pub slow_call_ratio: Option<f64>,
    pub slow_call_ms: Option<u64>,
    pub window_secs: Option<u64>,
    pub min_calls: Option<u32>,
    pub cooldown_secs: Option<u64>,
    pub probes: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal (dev).
    Pretty,
    /// One JSON object per line (production).
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info,sqlx=warn`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info,sqlx=warn,sea_orm=warn,async_nats=warn".into(),
        }
    }
}

/// Where each process listens. `dev` uses all of them in one process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenConfig {
    /// Interface every server binds to.
    pub host: IpAddr,
    pub router: u16,
    pub users: u16,
    pub content: u16,
    pub social: u16,
    pub moderation: u16,
    pub media: u16,
    pub monitoring: u16,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            router: 3001,
            users: 3002,
            content: 3003,
            social: 3004,
            moderation: 3005,
            media: 3006,
            monitoring: 3007,
        }
    }
}

impl ListenConfig {
    /// The port configured for a process by name (`router`, `users`, ...).
    pub fn port_of(&self, name: &str) -> Option<u16> {
        Some(match name {
            "router" => self.router,
            "users" => self.users,
            "content" => self.content,
            "social" => self.social,
            "moderation" => self.moderation,
            "media" => self.media,
            "monitoring" => self.monitoring,
            _ => return None,
        })
    }

    pub fn addr_of(&self, name: &str) -> Option<SocketAddr> {
        self.port_of(name).map(|p| SocketAddr::new(self.host, p))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://...` for PostgreSQL (one schema per subgraph); unset means
    /// SQLite files in `data_dir`. Env: `DATABASE_URL`.
    pub url: Option<Url>,
    /// Largest pool per subgraph.
    pub max_connections: u32,
    /// Seconds to wait for a pooled connection before failing the request.
    pub acquire_timeout_secs: u64,
    /// Run the subgraph's migrations at start.
    pub run_migrations: bool,
    /// Prepended to every PostgreSQL schema name (`<prefix>users`), so several
    /// deployments or test runs can share one database.
    pub schema_prefix: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            acquire_timeout_secs: 5,
            run_migrations: true,
            schema_prefix: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// `redis://...`; unset means an in-process cache. Env: `REDIS_URL`.
    pub url: Option<Url>,
    /// Prefix of every key this deployment writes, so several can share a Redis.
    pub key_prefix: String,
    /// Entries the in-process cache holds before evicting.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "marquee".into(),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// `nats://...` for NATS JetStream; unset means the in-process bus. Env: `NATS_URL`.
    pub url: Option<Url>,
    /// First token of every subject: `<prefix>.<subgraph>.<event>`.
    pub subject_prefix: String,
    /// JetStream stream holding `<prefix>.>`.
    pub stream: String,
    /// Stream replicas (1 on a single server).
    pub replicas: usize,
    /// Hours a message is kept in the stream.
    pub max_age_hours: u64,
    /// Seconds within which JetStream drops a message id seen before.
    pub duplicate_window_secs: u64,
    /// Deliveries of one message before it goes to the dead-letter subject.
    pub max_deliver: i64,
    /// Seconds a consumer has to ack before the message is delivered again.
    pub ack_wait_secs: u64,
    /// Milliseconds between outbox polls when nothing wakes the relay.
    pub relay_interval_ms: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            url: None,
            subject_prefix: "marquee".into(),
            stream: "MARQUEE".into(),
            replicas: 1,
            max_age_hours: 24 * 7,
            duplicate_window_secs: 120,
            max_deliver: 5,
            ack_wait_secs: 30,
            relay_interval_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Elasticsearch base URL (env `ELASTICSEARCH_URL`). Set: the content subgraph
    /// searches there; unset: a tantivy index in `data_dir/search/content`.
    pub elasticsearch_url: Option<Url>,
    /// Elasticsearch index name: searches use the alias `<name>-v<schema version>`
    /// over concrete indexes `<name>-v<version>-<millis>` swapped on rebuild.
    pub elasticsearch_index: String,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            elasticsearch_url: None,
            elasticsearch_index: "marquee-content".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Where verifiers fetch signing keys; unset means the users subgraph on this host.
    pub jwks_url: Option<Url>,
    /// Accepted JWS algorithms. Only asymmetric ones are allowed.
    pub algorithms: Vec<String>,
    /// Least seconds between two JWKS fetches caused by an unknown `kid`.
    pub jwks_min_refetch_secs: u64,
    /// Seconds a fetched JWKS is trusted before a scheduled refetch.
    pub jwks_ttl_secs: u64,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
    /// Seconds an access token lives.
    pub access_token_ttl_secs: u64,
    /// Days a session (and its refresh tokens) lives without use.
    pub refresh_token_ttl_days: u64,
    /// Base64 of 32 random bytes that encrypt the signing keys at rest (users
    /// subgraph). Unset: one is generated into data_dir/keys (development only).
    pub key_encryption_key: Option<String>,
    /// Throttling of wrong passwords (sign-in, password change, deletion).
    pub sign_in: SignInThrottle,
}

/// Algorithms a deployment may allow. Never `none`, never HMAC: a verifier
/// holds public keys only.
pub const ALLOWED_ALGORITHMS: &[&str] = &[
    "EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// `auth.sign_in`: wrong passwords slow down the address that sends them,
/// so an attacker cannot lock the owner out; a ceiling per account bounds
/// what many addresses together may try.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignInThrottle {
    /// Wrong passwords one address may send for one account before it waits.
    pub free_failures: u32,
    /// The first wait in seconds; each further failure doubles it.
    pub base_delay_secs: u64,
    /// The longest wait in seconds.
    pub max_delay_secs: u64,
    /// Seconds after which an address's or an account's failures are forgotten.
    pub window_secs: u64,
    /// Wrong passwords an account takes from all addresses together in one
    /// window before it refuses every sign-in until the window ends (a
    /// password reset always works and clears it).
    pub account_ceiling: u32,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay_secs: 30,
            max_delay_secs: 900,
            window_secs: 3600,
            account_ceiling: 100,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "marquee".into(),
            audience: "marquee-api".into(),
            jwks_url: None,
            algorithms: vec!["EdDSA".into()],
            jwks_min_refetch_secs: 30,
            jwks_ttl_secs: 300,
            leeway_secs: 30,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            key_encryption_key: None,
            sign_in: SignInThrottle::default(),
        }
    }
}

/// A configuration that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads `file` (which must exist when given), else `marquee.yaml` when it
    /// exists, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Yaml::file_exact(path));
            }
            None if Path::new("marquee.yaml").exists() => {
                figment = figment.merge(Yaml::file_exact("marquee.yaml"));
            }
            None => {}
        }
        Self::from_figment(figment.merge(env_provider()))
    }

    /// Parses a YAML document (with the environment on top), for tests and tools.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Yaml::string(yaml)),
        )
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.database.url {
            if !matches!(url.scheme(), "postgres" | "postgresql") {
                return Err(ConfigError(format!(
                    "database.url: scheme `{}` is not supported (use postgres://, or leave it unset for SQLite)",
                    url.scheme()
                )));
            }
        }
        if let Some(url) = &self.cache.url {
            if !matches!(url.scheme(), "redis" | "rediss") {
                return Err(ConfigError(format!(
                    "cache.url: scheme `{}` is not supported (use redis://)",
                    url.scheme()
                )));
            }
        }
        if let Some(url) = &self.bus.url {
            if !matches!(url.scheme(), "nats" | "tls") {
                return Err(ConfigError(format!(
                    "bus.url: scheme `{}` is not supported (use nats://)",
                    url.scheme()
                )));
            }
        }
        if !self.database.schema_prefix.is_empty()
            && !self
                .database
                .schema_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ConfigError(
                "database.schema_prefix: only lowercase letters, digits and '_'".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections: must be at least 1".into(),
            ));
        }
        let breakers = std::iter::once((
            "router.breaker.all".to_string(),
            self.router.breaker.all.clone(),
        ))
        .chain(self.router.breaker.subgraphs.keys().map(|name| {
            (
                format!("router.breaker.subgraphs.{name}"),
                self.router.breaker.resolve(name),
            )
        }));
        for (key, b) in breakers {
            for (field, ratio) in [
                ("failure_ratio", b.failure_ratio),
                ("slow_call_ratio", b.slow_call_ratio),
            ] {
                if !(ratio > 0.0 && ratio <= 1.0) {
                    return Err(ConfigError(format!(
                        "{key}.{field}: must be above 0 and at most 1"
                    )));
                }
            }
            if b.window_secs == 0 || b.window_secs > 3600 {
                return Err(ConfigError(format!("{key}.window_secs: must be 1 to 3600")));
            }
        }
        let proxies = [
            ("router.trusted_proxies", &self.router.trusted_proxies),
            ("subgraph.trusted_proxies", &self.subgraph.trusted_proxies),
        ];
        for (key, list) in proxies {
            for proxy in list {
                if proxy.parse::<ipnet::IpNet>().is_err() && proxy.parse::<IpAddr>().is_err() {
                    return Err(ConfigError(format!(
                        "{key}: `{proxy}` is not an IP address or CIDR range"
                    )));
                }
            }
        }
        for origin in &self.router.cors_allow_origins {
            if origin != "*"
                && Url::parse(origin).map_or(true, |u| u.origin().ascii_serialization() != *origin)
            {
                return Err(ConfigError(format!(
                    "router.cors_allow_origins: `{origin}` is not an origin like https://app.example.com"
                )));
            }
        }
        for (key, n) in [
            (
                "router.rate_limit.auth.per_minute",
                self.router.rate_limit.auth.per_minute,
            ),
            (
                "router.rate_limit.api.per_minute",
                self.router.rate_limit.api.per_minute,
            ),
        ] {
            if n == 0 {
                return Err(ConfigError(format!("{key}: must be at least 1 (set router.rate_limit.enabled: false to turn limits off)")));
            }
        }
        let live = &self.router.live;
        let sign_in = &self.auth.sign_in;
        for (key, n) in [
            (
                "router.live.max_connections_per_client",
                live.max_connections_per_client as u64,
            ),
            ("router.live.max_connections", live.max_connections as u64),
            ("router.live.max_topics", live.max_topics as u64),
            (
                "router.limits.max_fields",
                self.router.limits.max_fields as u64,
            ),
            (
                "subgraph.max_body_bytes",
                self.subgraph.max_body_bytes as u64,
            ),
            (
                "auth.sign_in.free_failures",
                u64::from(sign_in.free_failures),
            ),
            (
                "auth.sign_in.account_ceiling",
                u64::from(sign_in.account_ceiling),
            ),
            ("auth.sign_in.window_secs", sign_in.window_secs),
        ] {
            if n == 0 {
                return Err(ConfigError(format!("{key}: must be at least 1")));
            }
        }
        if let Some(k) = &self.auth.key_encryption_key {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(k.trim());
            if decoded.map_or(true, |b| b.len() != 32) {
                return Err(ConfigError(
                    "auth.key_encryption_key: must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)".into(),
                ));
            }
        }
        if !(60..=86_400).contains(&self.auth.access_token_ttl_secs) {
            return Err(ConfigError(
                "auth.access_token_ttl_secs: must be 60 to 86400".into(),
            ));
        }
        if self.auth.algorithms.is_empty() {
            return Err(ConfigError(
                "auth.algorithms: list at least one algorithm".into(),
            ));
        }
        for alg in &self.auth.algorithms {
            if !ALLOWED_ALGORITHMS.contains(&alg.as_str()) {
                return Err(ConfigError(format!(
                    "auth.algorithms: `{alg}` is not allowed (choose from {})",
                    ALLOWED_ALGORITHMS.join(", ")
                )));
            }
        }
        if self.bus.subject_prefix.is_empty()
            || self.bus.subject_prefix.contains(['.', '*', '>', ' '])
        {
            return Err(ConfigError(
                "bus.subject_prefix: one token without '.', '*', '>' or spaces".into(),
            ));
        }
        Ok(())
    }

    /// The JWKS URL verifiers use: configured, or the users subgraph on this host.
    pub fn jwks_url(&self) -> Url {
        self.auth.jwks_url.clone().unwrap_or_else(|| {
            let host = match self.listen.host {
                IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
                IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
                ip => ip.to_string(),
            };
            Url::parse(&format!(
                "http://{host}:{}/.well-known/jwks.json",
                self.listen.users
            ))
            .expect("a host and a port always make a valid URL")
        })
    }
}

fn env_provider() -> Figment {
    Figment::new()
        .merge(Env::prefixed("MARQUEE__").split("__"))
        .merge(
            Env::raw()
                .only(&["DATABASE_URL"])
                .map(|_| "database.url".into()),
        )
        .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "cache.url".into()))
        .merge(Env::raw().only(&["NATS_URL"]).map(|_| "bus.url".into()))
        .merge(
            Env::raw()
                .only(&["ELASTICSEARCH_URL"])
                .map(|_| "search.elasticsearch_url".into()),
        )
}

/// One line per problem, each naming the key and where the value came from.
fn describe(err: figment::Error) -> ConfigError {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::from("(top level)")
            } else {
                e.path.join(".")
            };
            let origin = e
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref().map(|s| format!(" (from {s})")))
                .unwrap_or_default();
            format!("{key}: {}{origin}", e.kind)
        })
        .collect();
    ConfigError(lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::from_yaml_str("").unwrap();
        assert!(c.database.url.is_none());
        assert_eq!(c.listen.router, 3001);
        assert_eq!(c.listen.port_of("monitoring"), Some(3007));
        assert_eq!(
            c.jwks_url().as_str(),
            "http://127.0.0.1:3002/.well-known/jwks.json"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_yaml_str("database:\n  urll: postgres://x\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("database"), "{msg}");
        assert!(msg.contains("urll"), "{msg}");
    }

    #[test]
    fn malformed_url_is_named() {
        let err = Config::from_yaml_str("cache:\n  url: 'not a url'\n").unwrap_err();
        assert!(err.to_string().contains("cache.url"), "{err}");
    }

    #[test]
    fn wrong_scheme_is_named() {
        let err = Config::from_yaml_str("database:\n  url: mysql://localhost/x\n").unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
    }

    #[test]
    fn symmetric_algorithms_are_refused() {
        let err = Config::from_yaml_str("auth:\n  algorithms: [HS256]\n").unwrap_err();
        assert!(err.to_string().contains("auth.algorithms"), "{err}");
    }

    #[test]
    fn a_cap_of_zero_is_named() {
        for (yaml, key) in [
            (
                "router:\n  live:\n    max_connections_per_client: 0\n",
                "router.live.max_connections_per_client",
            ),
            (
                "auth:\n  sign_in:\n    account_ceiling: 0\n",
                "auth.sign_in.account_ceiling",
            ),
            (
                "subgraph:\n  max_body_bytes: 0\n",
                "subgraph.max_body_bytes",
            ),
            (
                "subgraph:\n  trusted_proxies: [nowhere]\n",
                "subgraph.trusted_proxies",
            ),
        ] {
            let err = Config::from_yaml_str(yaml).unwrap_err();
            assert!(err.to_string().contains(key), "{yaml}: {err}");
        }
    }

    #[test]
    fn bad_port_type_is_named() {
        let err = Config::from_yaml_str("listen:\n  router: seventy\n").unwrap_err();
        assert!(err.to_string().contains("listen.router"), "{err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn environment_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MARQUEE__LISTEN__ROUTER", "4001");
            jail.set_env("MARQUEE__BUS__SUBJECT_PREFIX", "t1");
            jail.set_env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test");
            let c = Config::load(None).unwrap();
            assert_eq!(c.listen.router, 4001);
            assert_eq!(c.bus.subject_prefix, "t1");
            assert_eq!(c.database.url.unwrap().scheme(), "postgres");
            Ok(())
        });
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/marquee.yaml"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}

#[cfg(test)]
mod example {
    use super::Config;
    use figment::providers::Format;

    /// Every leaf key of `value`, dotted (`bus.max_age_hours`).
    fn leaf_keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaf_keys(&key, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn example_file_parses_and_shows_every_key() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../marquee.example.yaml");
        let text =
            std::fs::read_to_string(path).expect("marquee.example.yaml exists at the repo root");
        Config::from_yaml_str(&text).expect("the example is a valid configuration");
        let shown: serde_json::Value =
            figment::Figment::from(figment::providers::Yaml::string(&text))
                .extract()
                .expect("the example is YAML");
        let mut shown_keys = Vec::new();
        leaf_keys("", &shown, &mut shown_keys);
        let mut all = Vec::new();
        leaf_keys(
            "",
            &serde_json::to_value(Config::default()).expect("config serializes"),
            &mut all,
        );
        let missing: Vec<_> = all.iter().filter(|k| !shown_keys.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "marquee.example.yaml does not show: {missing:?}"
        );
    }
}
