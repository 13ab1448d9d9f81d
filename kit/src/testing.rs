//! Test support: every store, cache and bus suite runs on the embedded backends
//! always, and on PostgreSQL, Redis and NATS when `DATABASE_URL`, `REDIS_URL`
//! and `NATS_URL` are set, each test in its own PostgreSQL schema, Redis key
//! prefix and NATS stream. With `MARQUEE_REQUIRE_SERVICES=1` a missing or
//! unreachable service fails the test instead of skipping it.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::Cache;
use crate::config::Config;
use crate::db::{self, Target};
use crate::events::{InProcessBus, NatsBus, SharedBus};
use crate::services::{Backends, Services, SubgraphSpec};

/// True when the run must not skip real services (`MARQUEE_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var("MARQUEE_REQUIRE_SERVICES")
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn env_url(name: &str) -> Option<url::Url> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => match url::Url::parse(&v) {
            Ok(u) => Some(u),
            Err(e) => panic!("{name} is not a valid URL: {e}"),
        },
        _ => {
            if services_required() {
                panic!("MARQUEE_REQUIRE_SERVICES=1 but {name} is not set");
            }
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// One set of backends for one test: a database for one subgraph schema, a
/// cache and a bus, all isolated from other tests.
pub struct TestBackend {
    /// `embedded` or `services` (PostgreSQL/Redis/NATS as available).
    pub label: &'static str,
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub backends: Backends,
    cleanup: Cleanup,
    _dir: tempfile::TempDir,
}

#[derive(Default)]
struct Cleanup {
    pg: Option<(url::Url, String)>,
    /// PostgreSQL URL and a schema prefix: every schema starting with it is dropped.
    pg_prefix: Option<(url::Url, String)>,
    /// NATS URL and the per-test stream to delete.
    nats: Option<(url::Url, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let pg = self.pg.take();
        let pg_prefix = self.pg_prefix.take();
        let nats = self.nats.take();
        if pg.is_none() && pg_prefix.is_none() && nats.is_none() {
            return;
        }
        // Drop runs inside the test's runtime; clean up on a runtime of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Some((url, schema)) = pg {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(url.as_str()).await {
                        // A test that left a transaction open (a system not
                        // stopped) must not hang the run: leave the schema.
                        let _ = sqlx::query("SET lock_timeout = '10s'")
                            .execute(&mut conn)
                            .await;
                        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                            .execute(&mut conn)
                            .await;
                    }
                }
                if let Some((url, prefix)) = pg_prefix {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(url.as_str()).await {
                        let _ = sqlx::query("SET lock_timeout = '10s'")
                            .execute(&mut conn)
                            .await;
                        let schemas: Vec<(String,)> = sqlx::query_as(
                            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
                        )
                        .bind(&prefix)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap_or_default();
                        for (schema,) in schemas {
                            let _ =
                                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                                    .execute(&mut conn)
                                    .await;
                        }
                    }
                }
                // A connection of our own: the test's client lives on the
                // test's runtime, which is blocked in this drop.
                if let Some((url, stream)) = nats {
                    if let Ok(client) = async_nats::connect(url.as_str()).await {
                        let _ = async_nats::jetstream::new(client)
                            .delete_stream(&stream)
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

impl TestBackend {
    /// The embedded backend: a SQLite file in a temporary directory, the
    /// in-process cache and bus.
    pub async fn embedded(schema: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.bus.ack_wait_secs = 2;
        let target = Target::for_schema(&config.database, &config.data_dir, schema);
        let db = db::connect(&target, &config.database)
            .await
            .expect("open SQLite");
        let backends = Backends {
            cache: Cache::in_process(10_000, unique("test")),
            bus: Arc::new(InProcessBus::new(
                Duration::from_secs(2),
                Duration::from_secs(120),
                100_000,
            )),
        };
        Self {
            label: "embedded",
            config: Arc::new(config),
            db,
            backends,
            cleanup: Cleanup::default(),
            _dir: dir,
        }
    }

    /// PostgreSQL, Redis and NATS from the environment, each only when its URL
    /// is set (embedded for the others); `None` when none is set.
    pub async fn services(schema: &str) -> Option<Self> {
        let (pg, redis, nats) = (
            env_url("DATABASE_URL"),
            env_url("REDIS_URL"),
            env_url("NATS_URL"),
        );
        if pg.is_none() && redis.is_none() && nats.is_none() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = pg.clone();
        config.cache.url = redis.clone();
        config.bus.url = nats.clone();
        config.bus.ack_wait_secs = 2;
        let mut cleanup = Cleanup::default();
        let schema_name = if pg.is_some() {
            unique(&format!("t_{schema}_"))
        } else {
            schema.to_string()
        };
        let target = Target::for_schema(&config.database, &config.data_dir, &schema_name);
        let db = match db::connect(&target, &config.database).await {
            Ok(db) => db,
            Err(e) => return unavailable("PostgreSQL", e),
        };
        if let Some(url) = &pg {
            cleanup.pg = Some((url.clone(), schema_name));
        }
        let cache = match &redis {
            Some(url) => match Cache::redis(url, unique("test:")).await {
                Ok(c) => match c.ping().await {
                    Ok(()) => c,
                    Err(e) => return unavailable("Redis", e),
                },
                Err(e) => return unavailable("Redis", e),
            },
            None => Cache::in_process(10_000, unique("test")),
        };
        let bus: SharedBus = match &nats {
            Some(url) => {
                let id = unique("");
                config.bus.subject_prefix = format!("t{id}");
                config.bus.stream = format!("T{id}");
                config.bus.duplicate_window_secs = 60;
                config.bus.max_age_hours = 1;
                match NatsBus::connect(url, &config.bus).await {
                    Ok(b) => {
                        cleanup.nats = Some((url.clone(), config.bus.stream.clone()));
                        Arc::new(b)
                    }
                    Err(e) => return unavailable("NATS", e),
                }
            }
            None => Arc::new(InProcessBus::new(
                Duration::from_secs(2),
                Duration::from_secs(120),
                100_000,
            )),
        };
        Some(Self {
            label: "services",
            config: Arc::new(config),
            db,
            backends: Backends { cache, bus },
            cleanup,
            _dir: dir,
        })
    }

    /// The embedded backend, then the services backend when available.
    pub async fn all(schema: &str) -> Vec<Self> {
        let mut all = vec![Self::embedded(schema).await];
        all.extend(Self::services(schema).await);
        all
    }

    pub fn bus(&self) -> SharedBus {
        self.backends.bus.clone()
    }

    pub fn cache(&self) -> Cache {
        self.backends.cache.clone()
    }

    /// `Services` for a subgraph on this backend, its migrations applied.
    pub async fn services_for(&self, spec: &SubgraphSpec) -> Services {
        (spec.migrate)(&self.db).await.expect("migrations apply");
        Services::assemble(
            spec.name,
            self.config.clone(),
            self.db.clone(),
            &self.backends,
            CancellationToken::new(),
            TaskTracker::new(),
        )
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        db::is_postgres(&self.db)
    }

    #[doc(hidden)]
    pub fn keep_alive(&self) -> bool {
        self.cleanup.pg.is_some() || self.cleanup.nats.is_some()
    }
}

fn unavailable<T>(what: &str, e: impl std::fmt::Display) -> Option<T> {
    if services_required() {
        panic!("{what} is required (MARQUEE_REQUIRE_SERVICES=1) but unreachable: {e}");
    }
    eprintln!("skipping {what} backend: {e}");
    None
}

/// The configuration of a whole system for one test (router and every
/// subgraph on free loopback ports): embedded, or on PostgreSQL, Redis and NATS
/// with a schema prefix, key prefix and stream of its own, removed on drop.
pub struct TestSystem {
    /// `embedded` or `services`.
    pub label: &'static str,
    pub config: Config,
    _cleanup: Cleanup,
    _dir: tempfile::TempDir,
}

impl TestSystem {
    fn base() -> (Config, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.listen.host = std::net::Ipv4Addr::LOCALHOST.into();
        new_ports(&mut config);
        config.router.reload_interval_secs = 0;
        config.bus.ack_wait_secs = 2;
        config.bus.relay_interval_ms = 50;
        config.cache.key_prefix = unique("test:");
        (config, dir)
    }

    pub fn embedded() -> Self {
        let (config, dir) = Self::base();
        Self {
            label: "embedded",
            config,
            _cleanup: Cleanup::default(),
            _dir: dir,
        }
    }

    /// On the services whose URLs are set; `None` when none is.
    pub fn services() -> Option<Self> {
        let (pg, redis, nats) = (
            env_url("DATABASE_URL"),
            env_url("REDIS_URL"),
            env_url("NATS_URL"),
        );
        if pg.is_none() && redis.is_none() && nats.is_none() {
            return None;
        }
        let (mut config, dir) = Self::base();
        let mut cleanup = Cleanup::default();
        if let Some(url) = pg {
            config.database.schema_prefix = unique("t").to_lowercase() + "_";
            cleanup.pg_prefix = Some((url.clone(), config.database.schema_prefix.clone()));
            config.database.url = Some(url);
        }
        config.cache.url = redis;
        if let Some(url) = nats {
            let id = unique("");
            config.bus.subject_prefix = format!("t{id}");
            config.bus.stream = format!("T{id}");
            config.bus.max_age_hours = 1;
            cleanup.nats = Some((url.clone(), config.bus.stream.clone()));
            config.bus.url = Some(url);
        }
        Some(Self {
            label: "services",
            config,
            _cleanup: cleanup,
            _dir: dir,
        })
    }

    /// Embedded, then on the services when available.
    pub fn all() -> Vec<Self> {
        let mut all = vec![Self::embedded()];
        all.extend(Self::services());
        all
    }
}

/// Fresh free ports for every process of `config` (after a start lost a
/// port to a parallel test between `free_port` and its bind).
pub fn new_ports(config: &mut Config) {
    let l = &mut config.listen;
    for port in [
        &mut l.router,
        &mut l.users,
        &mut l.content,
        &mut l.social,
        &mut l.moderation,
        &mut l.media,
        &mut l.monitoring,
    ] {
        *port = free_port();
    }
}

/// A free TCP port on loopback, for tests that start servers.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

/// A NATS server of a test's own, so it can be stopped and started again
/// (the machine's shared one stays up for every other test).
pub struct OwnNats {
    child: std::process::Child,
    pub port: u16,
    dir: Option<tempfile::TempDir>,
}

impl OwnNats {
    /// The `nats-server` binary, when this machine has one.
    pub fn binary() -> Option<String> {
        [
            "/usr/sbin/nats-server",
            "/usr/local/bin/nats-server",
            "/usr/bin/nats-server",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
    }

    /// Starts a server with JetStream on `port`, storing in `dir`.
    pub fn start(port: u16, dir: tempfile::TempDir) -> Self {
        let child = std::process::Command::new(Self::binary().expect("nats-server present"))
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            dir: Some(dir),
        }
    }

    /// Kills the server; its port and store are handed back for a restart.
    pub fn stop(mut self) -> (u16, tempfile::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            self.port,
            self.dir.take().expect("the store dir is held until stop"),
        )
    }
}

impl Drop for OwnNats {
    /// A failing test must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OwnNats {
    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("nats://127.0.0.1:{}", self.port)).expect("a valid URL")
    }
}

/// Asserts that a subgraph's SDL exported from code is its committed golden
/// file `schema_file` (with `UPDATE_SCHEMA=1`: rewrites the file instead).
/// A difference names its first line and leaves the exported SDL in the
/// temp dir for a full diff.
pub fn assert_sdl_matches(schema_file: &std::path::Path, sdl: &str) {
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_file, sdl).expect("the schema directory is writable");
        return;
    }
    let committed = std::fs::read_to_string(schema_file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", schema_file.display()));
    if let Some((n, (a, b))) = sdl
        .lines()
        .zip(committed.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        let name = schema_file.file_name().unwrap_or_default();
        let exported = std::env::temp_dir().join(name);
        std::fs::write(&exported, sdl).expect("the temp dir is writable");
        panic!(
            "the SDL differs from {} at line {} (the exported SDL is in {}):\n  code: {a}\n  file: {b}",
            schema_file.display(),
            n + 1,
            exported.display()
        );
    }
    assert_eq!(
        sdl,
        committed,
        "the SDL differs from {} in its length or line ends",
        schema_file.display()
    );
}
