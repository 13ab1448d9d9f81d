//! `cargo run --release -p content --example bench_search`: search and
//! suggest on the seeded embedded catalog (tantivy), through the subgraph's
//! schema in process, plus the time of a full rebuild. Prints requests per
//! second and p50/p99 per query from `BENCH_WORKERS` closed-loop workers
//! over `BENCH_SECONDS`.

use std::sync::Arc;
use std::time::{Duration, Instant};

const QUERIES: [(&str, &str); 4] = [
    (
        "exact",
        r#"{ search(query: "the godfather") { totalCount hits { highlight title { id } } } }"#,
    ),
    (
        "typo",
        r#"{ search(query: "godfathr") { totalCount hits { highlight title { id } } } }"#,
    ),
    (
        "typo+filter+facets",
        r#"{ search(query: "lve", filter: { genres: ["drama"], ratingMin: 7 }, first: 20) { totalCount hits { highlight title { id } } facets { genres { value count } decades { value count } } } }"#,
    ),
    (
        "suggest",
        r#"{ suggest(prefix: "the", first: 10) { __typename } }"#,
    ),
];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (workers, seconds) = (env("BENCH_WORKERS", 2), env("BENCH_SECONDS", 5));
    let backend = kit::testing::TestBackend::embedded("content").await;
    let services = backend.services_for(&content::spec()).await;
    let catalog = content::open(&services).await?;
    println!("{}", content::seed::seed(&catalog).await?);
    let started = Instant::now();
    let n = catalog
        .reindex()
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    println!(
        "rebuild: {n} titles in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let schema = content::graphql::build(catalog.clone());
    println!("{workers} workers, {seconds} s per query");
    for (name, query) in QUERIES {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let begun = Instant::now();
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (schema, catalog) = (schema.clone(), Arc::clone(&catalog));
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let r = schema
                            .execute(content::graphql::with_loaders(&catalog, query.into()))
                            .await;
                        anyhow::ensure!(r.errors.is_empty(), "{:?}", r.errors);
                        latencies.push(t.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        all.sort();
        let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
        println!(
            "{name:<20} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            all.len() as f64 / begun.elapsed().as_secs_f64(),
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
