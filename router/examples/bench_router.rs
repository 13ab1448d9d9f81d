//! The router as `marquee router` runs it, for `bench/run.sh` (which must not
//! build the whole binary): `bench_router SUPERGRAPH LISTEN_ADDR`, or
//! `bench_router --compose SUPERGRAPH_YAML` to print the composed supergraph
//! (for gateways that need one).

use std::net::SocketAddr;
use std::sync::Arc;

// As in the `marquee` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--compose") {
        let path = args.nth(1).unwrap_or_else(|| "supergraph.yaml".into());
        let source = router::SupergraphSource::from_path(path);
        println!("{}", source.load_sdl().await?);
        return Ok(());
    }
    let supergraph = args.next().unwrap_or_else(|| "supergraph.yaml".into());
    let listen: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:4000".into())
        .parse()?;
    let mut config = kit::Config::default();
    config.router.reload_interval_secs = 0;
    let source = router::SupergraphSource::from_path(supergraph);
    // BENCH_POLICIES=off measures the engine alone; on (the default) runs
    // every policy as production does: JWT check, GCRA rate limit per client
    // (the load generator spreads virtual users over client addresses through
    // a trusted proxy header), limits, CSRF, CORS and security headers.
    let app = if std::env::var("BENCH_POLICIES").as_deref() == Ok("off") {
        let engine = router::engine(&config, &source).await?;
        router::routes(engine, router::Policies::none(false))
    } else {
        config.router.trusted_proxies = vec!["127.0.0.1".into()];
        config.router.rate_limit.api.per_minute = 60_000;
        let cache = kit::cache::Cache::in_process(100_000, "bench");
        router::app(Arc::new(config), source, &cache).await?
    };
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
