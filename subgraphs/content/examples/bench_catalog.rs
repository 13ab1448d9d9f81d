//! `bash bench/content.sh`: the nested 50-title query through the content
//! subgraph beside one hand-written SQL statement returning the same rows,
//! in one invocation, on the seeded embedded catalog (SQLite), or on
//! PostgreSQL when `DATABASE_URL` is set.
//!
//! Each variant runs `BENCH_WORKERS` closed-loop workers for `BENCH_SECONDS` after a
//! warm-up and prints requests per second and p50/p99 latency, then the
//! ratio of each GraphQL variant's RPS to the SQL baseline's.
//!
//! - `sql`: one `UNION ALL` statement (the 50 most popular movies with their
//!   genres, and with their credits and people), rows decoded;
//! - `graphql-in-process`: the subgraph's schema executing the query, no HTTP;
//! - `graphql-http`: the subgraph served on a loopback port, as the router
//!   calls it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};

const QUERY: &str = "{ movies(first: 50, sort: POPULARITY_DESC) { edges { node { id title categories { slug } credits { character job person { name } } } } } }";

const SQL: &str = r#"
WITH top AS (
  SELECT id, title FROM titles WHERE kind = 'MOVIE' AND deleted_at IS NULL
  ORDER BY popularity DESC, id LIMIT 50
)
SELECT top.id AS title_id, top.title AS title, c.slug AS slug,
       NULL AS "character", NULL AS job, NULL AS name, 0 AS position
  FROM top JOIN title_categories mc ON mc.title_id = top.id
           JOIN categories c ON c.id = mc.category_id
UNION ALL
SELECT top.id, top.title, NULL, cr."character", cr.job, p.name, cr.position
  FROM top JOIN credits cr ON cr.title_id = top.id
           JOIN people p ON p.id = cr.person_id
"#;

struct Run {
    name: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `call` from `workers` closed-loop workers for `seconds`.
async fn measure<F, Fut>(name: &'static str, workers: usize, seconds: u64, call: F) -> Run
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let call = Arc::new(call);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call().await.expect("a good answer");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    Run {
        name,
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let workers: usize = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let warmup: u64 = std::env::var("BENCH_WARMUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let backend = match kit::testing::TestBackend::services("content").await {
        Some(b) if std::env::var("DATABASE_URL").is_ok() => b,
        _ => kit::testing::TestBackend::embedded("content").await,
    };
    let spec = content::spec();
    let services = backend.services_for(&spec).await;
    let catalog = content::open(&services).await?;
    println!("{}", content::seed::seed(&catalog).await?);
    let db = services.db.clone();
    let schema = content::graphql::build(catalog.clone());

    // Every variant answers the same rows.
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), SQL))
        .await?;
    let r = schema
        .execute(content::graphql::with_loaders(&catalog, QUERY.into()))
        .await;
    anyhow::ensure!(r.errors.is_empty(), "{:?}", r.errors);
    let data = r.data.into_json()?;
    let edges = data["movies"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let nested: usize = edges
        .iter()
        .map(|e| {
            e["node"]["categories"].as_array().map_or(0, Vec::len)
                + e["node"]["credits"].as_array().map_or(0, Vec::len)
        })
        .sum();
    anyhow::ensure!(
        edges.len() == 50 && nested == rows.len(),
        "GraphQL {nested} nested items vs SQL {} rows",
        rows.len()
    );
    println!("backend: {}; 50 titles, {} genre and credit rows; {workers} workers, {seconds} s each after {warmup} s", backend.label, rows.len());

    let app = (spec.start)(services.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/graphql", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::new();
    let body = serde_json::to_vec(&serde_json::json!({ "query": QUERY }))?;

    let sql = {
        let db = db.clone();
        move || {
            let db = db.clone();
            async move {
                let rows = db
                    .query_all(Statement::from_string(db.get_database_backend(), SQL))
                    .await?;
                for row in &rows {
                    let _: String = row.try_get("", "title")?;
                    let _: Option<String> = row.try_get("", "name")?;
                }
                Ok(())
            }
        }
    };
    let in_process = {
        let (schema, catalog) = (schema.clone(), catalog.clone());
        move || {
            let (schema, catalog) = (schema.clone(), catalog.clone());
            async move {
                let r = schema
                    .execute(content::graphql::with_loaders(&catalog, QUERY.into()))
                    .await;
                anyhow::ensure!(r.errors.is_empty(), "{:?}", r.errors);
                Ok(())
            }
        }
    };
    let http = move || {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            let v: serde_json::Value = r.json().await?;
            anyhow::ensure!(v.get("errors").is_none(), "{v}");
            Ok(())
        }
    };

    let mut runs = Vec::new();
    measure("warm-up", workers, warmup, sql.clone()).await;
    runs.push(measure("sql", workers, seconds, sql).await);
    measure("warm-up", workers, warmup, in_process.clone()).await;
    runs.push(measure("graphql-in-process", workers, seconds, in_process).await);
    measure("warm-up", workers, warmup, http.clone()).await;
    runs.push(measure("graphql-http", workers, seconds, http).await);

    let base = runs[0].rps;
    println!("\n| variant | RPS | p50 ms | p99 ms | RPS ÷ sql |\n|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            r.name,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.rps / base
        );
    }
    Ok(())
}
