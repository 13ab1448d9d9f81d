//! The `marquee` binary: command-line parsing and wiring only. Each subcommand
//! calls into the crate that owns the work.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kit::config::LogFormat;
use kit::{Backends, Config, SubgraphSpec};
use marquee::{subgraph as find, subgraphs};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

// The router and subgraphs allocate per request; mimalloc serves that far
// better than the system allocator (malloc and free were a third of the
// router's profile under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "marquee",
    version,
    about = "Marquee: a federated GraphQL backend for movies and series"
)]
struct Cli {
    /// Configuration file (default: ./marquee.yaml when it exists).
    #[arg(long, global = true, env = "MARQUEE_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for embedded data (SQLite files, search index, media, keys).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Log format: pretty (dev) or json (production).
    #[arg(long, global = true, value_parser = ["pretty", "json"])]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every subgraph and the router in one process on embedded backends, demo data on first start.
    Dev,
    /// The router alone, in front of any Federation v2 subgraphs.
    Router {
        /// A rover `supergraph.yaml` or a composed supergraph `.graphql` (default: router.supergraph).
        #[arg(long)]
        supergraph: Option<PathBuf>,
        /// Address to listen on (default: listen.host and listen.router).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// One subgraph, for production.
    Subgraph {
        /// users, content, social, ...
        name: String,
    },
    /// Apply pending database migrations.
    Migrate {
        /// Only this subgraph's schema.
        #[arg(long)]
        subgraph: Option<String>,
    },
    /// Load the demo data (idempotent).
    Seed,
    /// Schema tooling.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The content search index.
    #[command(subcommand)]
    Search(SearchCommand),
    /// The event bus, for operators.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the index (tantivy, or Elasticsearch when configured) from the catalog.
    Reindex,
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print live events (one JSON envelope a line) until interrupted; needs NATS.
    Tail {
        /// Subject filter after the prefix, NATS wildcards allowed (default: every event).
        #[arg(default_value = ">")]
        subject: String,
    },
    /// Send dead-lettered events back to the consumer that gave up on them
    /// (only to it; it handles each event once); needs NATS.
    Replay {
        /// Only this consumer's dead letters (default: every consumer's).
        #[arg(long)]
        consumer: Option<String>,
        /// How far back to look: a number and s, m, h or d (e.g. 30m, 24h, 7d).
        #[arg(long, default_value = "24h", value_parser = parse_age)]
        since: chrono::Duration,
        /// Most dead letters sent.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// List them, send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `30m`, `24h`, `7d`, `90s`: an age, at most 365 days.
fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not an age like 30m, 24h or 7d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" | "" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("`{unit}` is not a unit: use s, m, h or d")),
    };
    if seconds <= 0 || seconds > 365 * 86_400 {
        return Err("the age is between 1s and 365d".into());
    }
    Ok(chrono::Duration::seconds(seconds))
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a signing key; the previous ones stay in the JWKS until their tokens expire.
    Rotate,
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Write each subgraph's SDL, exported from code, to schema/<name>.graphql.
    Export {
        #[arg(long, default_value = "schema")]
        dir: PathBuf,
    },
    /// Compose supergraph.yaml into schema/supergraph.graphql.
    Compose {
        /// The rover-style supergraph.yaml.
        #[arg(long, default_value = "supergraph.yaml")]
        supergraph: PathBuf,
        #[arg(long, default_value = "schema/supergraph.graphql")]
        out: PathBuf,
    },
    /// Drift, composition, breaking changes and known operations; exit 0 ok, 1 breaking, 2 error.
    Check {
        /// The rover-style supergraph.yaml.
        #[arg(long, default_value = "supergraph.yaml")]
        supergraph: PathBuf,
        #[arg(long, default_value = "schema")]
        schema_dir: PathBuf,
        /// A git revision or a supergraph file (default: merge base with main, else the previous commit).
        #[arg(long)]
        base: Option<String>,
        /// More operations to keep working: .graphql files, directories, persisted-operation manifests.
        #[arg(long)]
        operations: Vec<PathBuf>,
        /// Check the SDL files in --schema-dir instead of the SDL exported from code.
        #[arg(long)]
        from_files: bool,
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("marquee: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Some(code)) => ExitCode::from(code),
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marquee: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Arc<Config>> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(format) = &cli.log_format {
        config.log.format = if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        };
    }
    kit::telemetry::init_logging(&config.log);
    Ok(Arc::new(config))
}

/// Runs the command; `Some(code)` when it decides its own exit code.
async fn run(cli: Cli) -> anyhow::Result<Option<u8>> {
    let config = load_config(&cli)?;
    match cli.command {
        Command::Dev => serve(config, subgraphs(), true, true).await?,
        Command::Router { supergraph, listen } => router(config, supergraph, listen).await?,
        Command::Subgraph { name } => serve(config, vec![find(&name)?], false, false).await?,
        Command::Migrate { subgraph } => migrate(&config, subgraph.as_deref()).await?,
        Command::Seed => seed(config).await?,
        Command::Keys(KeysCommand::Rotate) => rotate_keys(config).await?,
        Command::Search(SearchCommand::Reindex) => search_reindex(config).await?,
        Command::Events(EventsCommand::Tail { subject }) => tail_events(config, &subject).await?,
        Command::Events(EventsCommand::Replay {
            consumer,
            since,
            limit,
            dry_run,
        }) => replay_events(config, consumer.as_deref(), since, limit, dry_run).await?,
        Command::Schema(SchemaCommand::Export { dir }) => {
            for path in marquee::schema::export(&dir)? {
                println!("wrote {}", path.display());
            }
        }
        Command::Schema(SchemaCommand::Compose {
            supergraph: file,
            out,
        }) => {
            marquee::schema::compose(&file, &out).await?;
            println!("wrote {}", out.display());
        }
        Command::Schema(SchemaCommand::Check {
            supergraph: file,
            schema_dir,
            base,
            operations,
            from_files,
            format,
        }) => {
            let base = match base {
                None => registry::Base::Auto,
                Some(b) if std::path::Path::new(&b).is_file() => registry::Base::File(b.into()),
                Some(b) => registry::Base::Rev(b),
            };
            let options = marquee::schema::CheckOptions {
                config: file,
                schema_dir,
                base,
                operations,
                from_files,
            };
            let report = match marquee::schema::check(&options) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("marquee: {e:#}");
                    return Ok(Some(2));
                }
            };
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            return Ok(Some(report.exit_code() as u8));
        }
    }
    Ok(None)
}

/// `marquee router`: the router alone.
async fn router(
    config: Arc<Config>,
    supergraph: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let mut config = (*config).clone();
    if let Some(addr) = listen {
        config.listen.host = addr.ip();
        config.listen.router = addr.port();
    }
    let source = router::SupergraphSource::from_path(
        supergraph.unwrap_or_else(|| config.router.supergraph.clone()),
    );
    let config = Arc::new(config);
    let mut stack = marquee::start(config.clone(), &[], false).await?;
    let addr = stack.start_router(source).await?;
    println!("marquee router is serving http://{addr}/graphql");
    wait_then_stop(stack).await;
    Ok(())
}

async fn wait_then_stop(stack: marquee::Stack) {
    tokio::select! {
        _ = kit::server::shutdown_signal() => {}
        _ = stack.stopped() => {}
    }
    tracing::info!("shutting down: draining requests and flushing outboxes");
    stack.stop().await;
}

/// Serves `specs` (and the router in front of them when `with_router`) until
/// SIGINT/SIGTERM, then drains requests and flushes outboxes.
async fn serve(
    config: Arc<Config>,
    specs: Vec<SubgraphSpec>,
    seed: bool,
    with_router: bool,
) -> anyhow::Result<()> {
    let mut stack = marquee::start(config.clone(), &specs, seed).await?;
    if with_router && !specs.is_empty() {
        if let Err(e) = stack.start_router_over_self(&specs).await {
            stack.stop().await;
            return Err(e);
        }
    }
    println!(
        "marquee is serving ({} cache, {} bus, data in {}):",
        stack.backends.cache.kind(),
        stack.backends.bus.kind(),
        config.data_dir.display()
    );
    for p in &stack.processes {
        println!("  {:<11} http://{}/graphql", p.name, p.addr);
    }
    wait_then_stop(stack).await;
    Ok(())
}

async fn migrate(config: &Config, only: Option<&str>) -> anyhow::Result<()> {
    let specs = match only {
        Some(name) => vec![find(name)?],
        None => subgraphs(),
    };
    for spec in specs {
        let target = kit::db::Target::for_schema(&config.database, &config.data_dir, spec.name);
        println!("{}: {}", spec.name, target.describe());
        let db = kit::db::connect(&target, &config.database).await?;
        let applied = (spec.migrate)(&db)
            .await
            .with_context(|| format!("{}: migrations failed", spec.name))?;
        if applied.is_empty() {
            println!("  up to date");
        }
        for name in applied {
            println!("  applied {name}");
        }
    }
    Ok(())
}

async fn rotate_keys(config: Arc<Config>) -> anyhow::Result<()> {
    let backends = Backends::connect(&config).await?;
    let spec = find("users")?;
    let services = kit::Services::open(
        &spec,
        config,
        &backends,
        CancellationToken::new(),
        TaskTracker::new(),
    )
    .await?;
    let kid = users::keys::rotate(&services).await?;
    println!("new signing key {kid}; earlier keys stay published until their tokens expire");
    Ok(())
}

/// `marquee search reindex`: a progress bar on a terminal, else a line per batch on stderr.
async fn search_reindex(config: Arc<Config>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let backends = Backends::connect(&config).await?;
    let services = kit::Services::open(
        &find("content")?,
        config,
        &backends,
        CancellationToken::new(),
        TaskTracker::new(),
    )
    .await?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(indicatif::ProgressBar::no_length);
    let shown = bar.clone();
    let progress = move |done: usize, total: usize| match &shown {
        Some(bar) => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        None => eprintln!("search reindex: {done}/{total} titles"),
    };
    let n = content::reindex(&services, &progress).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!("content: {n} titles indexed");
    Ok(())
}

/// The bus of a running deployment: NATS (the in-process bus lives inside
/// `marquee dev` and cannot be reached from another process).
async fn operator_bus(config: &Config, command: &str) -> anyhow::Result<kit::events::SharedBus> {
    let backends = Backends::connect(config).await?;
    if backends.bus.kind() != "nats" {
        anyhow::bail!(
            "{command} needs NATS (set NATS_URL): the in-process bus lives inside `marquee dev`"
        );
    }
    Ok(backends.bus)
}

/// `marquee events replay`: dead letters back to their consumers.
async fn replay_events(
    config: Arc<Config>,
    consumer: Option<&str>,
    since: chrono::Duration,
    limit: usize,
    dry_run: bool,
) -> anyhow::Result<()> {
    let bus = operator_bus(&config, "events replay").await?;
    let replayed = kit::events::replay_dead_letters(
        &bus,
        &config.bus.subject_prefix,
        consumer,
        chrono::Utc::now() - since,
        limit,
        dry_run,
    )
    .await?;
    for r in &replayed {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            r.consumer,
            r.event.id,
            r.event.event_type,
            r.dead_lettered_at.to_rfc3339(),
            r.error.lines().next().unwrap_or_default()
        );
    }
    let verb = if dry_run {
        "would be replayed"
    } else {
        "replayed"
    };
    eprintln!("{} dead letter(s) {verb}", replayed.len());
    Ok(())
}

/// `marquee events tail`: live events on `<prefix>.<subject>`.
async fn tail_events(config: Arc<Config>, subject: &str) -> anyhow::Result<()> {
    let bus = operator_bus(&config, "events tail").await?;
    let filter = format!("{}.{subject}", config.bus.subject_prefix);
    eprintln!("tailing {filter} (Ctrl-C stops)");
    let mut out = std::io::stdout().lock();
    let print = |e: &kit::events::Event| {
        use std::io::Write;
        writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default())?;
        out.flush()
    };
    tokio::select! {
        r = kit::events::tail(&bus, &filter, None, print) => { r?; }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn seed(config: Arc<Config>) -> anyhow::Result<()> {
    let backends = Backends::connect(&config).await?;
    for spec in subgraphs() {
        let Some(seed) = spec.seed else { continue };
        let services = kit::Services::open(
            &spec,
            config.clone(),
            &backends,
            CancellationToken::new(),
            TaskTracker::new(),
        )
        .await?;
        let summary = seed(services.clone()).await?;
        // Publish what seeding wrote to the outbox before exiting.
        services.relay.publish_pending().await?;
        println!("{}: {summary}", spec.name);
    }
    Ok(())
}
