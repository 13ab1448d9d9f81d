//! Load generator for `bench/run.sh`: `bench_load URL QUERY_FILE VUS SECONDS`.
//! VUS virtual users post the query back to back on keep-alive connections;
//! prints one JSON line with requests per second and p50/p99 latency. A
//! response with `errors` or without `data` counts as a failure.

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:4000/graphql".into());
    let query =
        std::fs::read_to_string(args.get(2).map(String::as_str).unwrap_or("query.graphql"))?;
    let vus: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(10);
    let body = serde_json::to_vec(&serde_json::json!({ "query": query }))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(vus)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..vus)
        .map(|vu| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            // Each virtual user is its own client to per-client rate limits
            // (routers that trust the loopback proxy); others ignore it.
            let forwarded = format!("10.0.{}.{}", vu / 256, vu % 256);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-forwarded-for", &forwarded)
                        .body(body.clone())
                        .send()
                        .await
                    {
                        Ok(r) => match r.json::<serde_json::Value>().await {
                            Ok(v) => {
                                v.get("errors").is_none()
                                    && v.get("data").is_some_and(|d| !d.is_null())
                            }
                            Err(_) => false,
                        },
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed().as_micros() as u64);
                    failures += u64::from(!ok);
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        all.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": all.len(),
            "failures": failures,
            "rps": (all.len() as f64 / elapsed * 10.0).round() / 10.0,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
        })
    );
    Ok(())
}
