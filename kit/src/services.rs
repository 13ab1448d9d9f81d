//! What a running subgraph is given: its database (migrated), the shared cache
//! and bus of the process, a token verifier, its outbox relay and the shutdown
//! signal. `SubgraphSpec` is how a subgraph crate tells the binary about itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Verifier;
use crate::cache::{Cache, CacheError};
use crate::config::Config;
use crate::db::{self, DbError, Target};
use crate::events::{BusError, Event, InProcessBus, NatsBus, Relay, SharedBus};
use crate::health::Readiness;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Applies pending migrations and returns the names it applied.
pub type MigrateFn =
    for<'a> fn(&'a DatabaseConnection) -> BoxFuture<'a, Result<Vec<String>, sea_orm::DbErr>>;
/// Builds the HTTP app and spawns the subgraph's background work.
pub type StartFn = fn(Services) -> BoxFuture<'static, anyhow::Result<Router>>;
/// Loads demo data (idempotent); returns a one-line summary.
pub type SeedFn = fn(Services) -> BoxFuture<'static, anyhow::Result<String>>;

/// A subgraph as the `marquee` binary sees it.
#[derive(Clone, Copy)]
pub struct SubgraphSpec {
    pub name: &'static str,
    /// Applies pending migrations and returns the names it applied.
    pub migrate: MigrateFn,
    /// Builds the HTTP app and spawns the subgraph's background work.
    pub start: StartFn,
    /// The subgraph's SDL, exported from code.
    pub sdl: fn() -> String,
    /// Loads demo data (idempotent); returns a one-line summary.
    pub seed: Option<SeedFn>,
}

/// `M`'s pending migrations, applied; for `SubgraphSpec::migrate`.
pub fn migrate_with<M: sea_orm_migration::MigratorTrait>(
    db: &DatabaseConnection,
) -> BoxFuture<'_, Result<Vec<String>, sea_orm::DbErr>> {
    Box::pin(async move {
        let pending: Vec<String> = M::get_pending_migrations(db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        M::up(db, None).await?;
        Ok(pending)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cache: cannot reach Redis at {url}: {source}")]
    Cache { url: String, source: CacheError },
    #[error("bus: {0}")]
    Bus(#[from] BusError),
}

/// The backends one process shares between the subgraphs it runs.
#[derive(Clone)]
pub struct Backends {
    pub cache: Cache,
    pub bus: SharedBus,
}

impl Backends {
    /// Redis and NATS when configured (and reachable), in-process otherwise.
    pub async fn connect(config: &Config) -> Result<Self, StartError> {
        let cache = match &config.cache.url {
            Some(url) => {
                let cache = Cache::redis(url, config.cache.key_prefix.clone())
                    .await
                    .map_err(|source| StartError::Cache {
                        url: redact(url),
                        source,
                    })?;
                cache.ping().await.map_err(|source| StartError::Cache {
                    url: redact(url),
                    source,
                })?;
                cache
            }
            None => Cache::in_process(config.cache.max_entries, config.cache.key_prefix.clone()),
        };
        let bus: SharedBus = match &config.bus.url {
            Some(url) => Arc::new(NatsBus::connect(url, &config.bus).await?),
            None => Arc::new(InProcessBus::new(
                Duration::from_secs(config.bus.ack_wait_secs),
                Duration::from_secs(config.bus.duplicate_window_secs),
                100_000,
            )),
        };
        Ok(Self { cache, bus })
    }
}

fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    u.to_string()
}

/// Everything one subgraph needs at run time. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub name: &'static str,
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    /// This subgraph's cache namespace.
    pub cache: Cache,
    /// The process-wide cache root (session revocations, rate limits).
    pub shared_cache: Cache,
    pub bus: SharedBus,
    pub verifier: Arc<Verifier>,
    pub relay: Relay,
    pub shutdown: CancellationToken,
    /// Background tasks; the binary waits for them on shutdown.
    pub tasks: TaskTracker,
}

impl Services {
    /// Opens the subgraph's database (running its migrations when enabled).
    pub async fn open(
        spec: &SubgraphSpec,
        config: Arc<Config>,
        backends: &Backends,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Self, StartError> {
        let target = Target::for_schema(&config.database, &config.data_dir, spec.name);
        let db = db::connect(&target, &config.database).await?;
        if config.database.run_migrations {
            (spec.migrate)(&db)
                .await
                .map_err(|source| DbError::Migrate {
                    schema: spec.name.to_string(),
                    source,
                })?;
        }
        Ok(Self::assemble(
            spec.name, config, db, backends, shutdown, tasks,
        ))
    }

    /// Wraps an open database (tests use this with their own databases).
    pub fn assemble(
        name: &'static str,
        config: Arc<Config>,
        db: DatabaseConnection,
        backends: &Backends,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let verifier = Arc::new(Verifier::remote(
            &config.auth,
            config.jwks_url(),
            Some(backends.cache.clone()),
        ));
        let relay = Relay::new(
            db.clone(),
            backends.bus.clone(),
            Duration::from_millis(config.bus.relay_interval_ms),
        );
        Self {
            name,
            cache: backends.cache.scoped(name),
            shared_cache: backends.cache.clone(),
            bus: backends.bus.clone(),
            config,
            db,
            verifier,
            relay,
            shutdown,
            tasks,
        }
    }

    /// A new event `<subgraph>.<name>` on this deployment's subject prefix.
    pub fn event(&self, name: &str, actor: Option<String>, payload: serde_json::Value) -> Event {
        Event::new(
            &self.config.bus.subject_prefix,
            &format!("{}.{name}", self.name),
            actor,
            payload,
        )
    }

    /// Starts the outbox relay; it flushes once more on shutdown.
    pub fn spawn_relay(&self) {
        let relay = self.relay.clone();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(relay.run(shutdown));
    }

    /// Readiness of the database, cache and bus.
    pub fn readiness(&self) -> Readiness {
        let db = self.db.clone();
        let cache = self.cache.clone();
        let bus = self.bus.clone();
        Readiness::new(self.name)
            .check("database", move || {
                let db = db.clone();
                async move { db::ping(&db).await.map_err(|e| e.to_string()) }
            })
            .check("cache", move || {
                let cache = cache.clone();
                async move { cache.ping().await.map_err(|e| e.to_string()) }
            })
            .check("bus", move || {
                let bus = bus.clone();
                async move { bus.ping().await.map_err(|e| e.to_string()) }
            })
    }

    /// `app` plus `/health`, `/health/ready`, `/metrics`, a JSON 404 and the
    /// request-observing middleware.
    pub fn finish(&self, app: Router) -> Router {
        self.finish_with(app, self.readiness())
    }

    /// `finish` with a readiness of the subgraph's own (`readiness()` plus
    /// the checks of a backend only it uses, such as a search engine).
    pub fn finish_with(&self, app: Router, readiness: Readiness) -> Router {
        let limits = &self.config.subgraph;
        let trusted = Arc::new(crate::net::trusted_proxies(&limits.trusted_proxies));
        app.merge(readiness.routes())
            .merge(crate::telemetry::metrics_routes())
            .fallback(crate::telemetry::not_found)
            // Outermost first below: observe, the client address, then the
            // body limit (a declared length over it is refused unread).
            .layer(tower_http::limit::RequestBodyLimitLayer::new(
                limits.max_body_bytes,
            ))
            .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
            .layer(axum::middleware::from_fn_with_state(
                trusted,
                crate::net::resolve,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.name,
                crate::telemetry::observe,
            ))
    }
}

/// A subgraph serving on its port.
pub struct Running {
    pub name: &'static str,
    pub addr: std::net::SocketAddr,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Stops this process alone (a child of the stack's shutdown token).
    pub stop: CancellationToken,
}

/// Opens `spec`'s database, seeds it when asked, binds its configured port and
/// serves it until `shutdown`. The port is bound before anything slow happens,
/// so a port in use fails fast.
pub async fn launch(
    spec: &SubgraphSpec,
    config: Arc<Config>,
    backends: &Backends,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    seed: bool,
) -> anyhow::Result<Running> {
    let addr = config
        .listen
        .addr_of(spec.name)
        .ok_or_else(|| anyhow::anyhow!("listen: no port is configured for `{}`", spec.name))?;
    let listener = crate::server::bind(spec.name, addr).await?;
    let stop = shutdown.child_token();
    let services = Services::open(spec, config.clone(), backends, stop.clone(), tasks).await?;
    if let (true, Some(seed)) = (seed, spec.seed) {
        let summary = seed(services.clone()).await?;
        tracing::info!(subgraph = spec.name, "{summary}");
    }
    let app = (spec.start)(services).await?;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let server = tokio::spawn(crate::server::serve(listener, app, stop.clone(), grace));
    Ok(Running {
        name: spec.name,
        addr,
        server,
        stop,
    })
}
