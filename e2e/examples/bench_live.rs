//! Subscription fan-out benchmark: N graphql-transport-ws subscribers on one
//! subject (`commentAdded(postId)`), then R comments one after the other;
//! prints, per comment, the time from sending the mutation to the last
//! subscriber's `next` (p50/p99 over rounds), the p50/p99 of every delivery,
//! and the process RSS growth per subscriber. The whole system (router,
//! subgraphs, in-process bus) and the clients share this process, so the RSS
//! figure covers both ends of each socket: an upper bound for the router's.
//!
//! `cargo run --release -p e2e --example bench_live -- 1000 20` (subscribers, rounds).

use std::time::{Duration, Instant};

use e2e::System;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);

    let test = kit::testing::TestSystem::embedded();
    let sys = System::start_with(test, false, |c| {
        c.router.rate_limit.api.per_minute = 1_000_000;
        c.router.rate_limit.auth.per_minute = 1_000;
    })
    .await;
    let d = sys
        .data(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({"input": {"email": "bench@example.com", "username": "bench",
                "password": "correct horse battery staple 42", "displayName": "Bench"}}),
        )
        .await;
    let token = d["register"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let post = sys
        .data(
            Some(&token),
            "mutation { createPost(input: { body: \"fan-out\" }) { id } }",
            json!({}),
        )
        .await["createPost"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let before = rss_kib();
    let url = sys.url("/graphql").replacen("http://", "ws://", 1);
    let subscribe = json!({"type": "subscribe", "id": "c", "payload": {
        "query": "subscription($p: ID!) { commentAdded(postId: $p) { id body author { username } } }",
        "variables": {"p": post},
    }});
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let opened = Instant::now();
    let mut ready = Vec::with_capacity(subscribers);
    for n in 0..subscribers {
        let mut request = url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        // Client buffers as small as the router's, so the RSS growth is mostly the router's state.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(4 * 1024);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
        socket
            .send(Message::Text(
                json!({"type": "connection_init"}).to_string().into(),
            ))
            .await?;
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await?;
        socket
            .send(Message::Text(json!({"type": "ping"}).to_string().into()))
            .await?;
        let tx = tx.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        ready.push(ready_rx);
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            while let Some(Ok(m)) = socket.next().await {
                let Message::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                match v["type"].as_str() {
                    Some("pong") => {
                        if let Some(r) = ready_tx.take() {
                            let _ = r.send(());
                        }
                    }
                    Some("next") => {
                        let _ = tx.send((n, Instant::now()));
                    }
                    _ => {}
                }
            }
        });
    }
    for r in ready {
        let _ = r.await;
    }
    let after = rss_kib();
    println!(
        "{subscribers} subscribers listening after {:.0} ms; RSS {} KiB -> {} KiB: {:.1} KiB per subscriber (both ends)",
        ms(opened.elapsed()),
        before,
        after,
        (after.saturating_sub(before)) as f64 / subscribers as f64
    );

    let mut last = Vec::with_capacity(rounds);
    let mut every = Vec::with_capacity(rounds * subscribers);
    for round in 0..rounds {
        let sent = Instant::now();
        sys.data(
            Some(&token),
            "mutation($p: ID!, $b: String!) { addComment(input: { postId: $p, body: $b }) { id } }",
            json!({"p": post, "b": format!("round {round}")}),
        )
        .await;
        let mut got = 0;
        let mut latest = sent;
        while got < subscribers {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some((_, at))) => {
                    got += 1;
                    latest = latest.max(at);
                    every.push(at.duration_since(sent));
                }
                _ => anyhow::bail!("round {round}: only {got} of {subscribers} deliveries arrived"),
            }
        }
        last.push(latest.duration_since(sent));
    }
    last.sort();
    every.sort();
    println!(
        "mutation sent -> last of {subscribers} deliveries, {rounds} rounds: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&last, 0.5)),
        ms(percentile(&last, 0.99))
    );
    println!(
        "every delivery ({}): p50 {:.1} ms, p99 {:.1} ms",
        every.len(),
        ms(percentile(&every, 0.5)),
        ms(percentile(&every, 0.99))
    );
    sys.stop().await;
    Ok(())
}
