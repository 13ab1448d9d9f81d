//! Subscription fan-out benchmark: N graphql-transport-ws subscribers on one
//! subject (`commentAdded(postId)`), then R comments one after the other;
//! prints, per comment, the time from sending the mutation to the last
//! subscriber's `next` (p50/p99 over rounds), the p50/p99 of every delivery,
//! and the server's RSS growth per subscriber.
//!
//! The server runs in this process; the subscribers in a child process (this
//! binary again, `--clients`), so the RSS figure is the server's alone.
//! Targets, each run on its own in a fresh process:
//! - `marquee`: the whole system (router, subgraphs, in-process bus); each
//!   comment is an event on the bus, each subscriber's selection
//!   (`id body author { username }`) resolved through the router (the
//!   author from the users subgraph), once per event for subscribers that
//!   share operation, variables and token.
//! - `async-graphql`: async-graphql's own graphql-transport-ws server over
//!   axum (from the registry), a subscription fed by a tokio broadcast
//!   channel and resolved from the payload: no bus, no federation, the floor.
//!
//! `cargo run --release -p e2e --example bench_live -- marquee 1000 20`
//! (target, subscribers, rounds).

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::System;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The allocator of the `marquee` binary, so the figures are production's
/// (`--features system-alloc` leaves malloc in place for heap profilers).
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SUBSCRIPTION: &str =
    "subscription($p: ID!) { commentAdded(postId: $p) { id body author { username } } }";

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

/// What the client process needs to know about the server under test.
#[derive(serde::Serialize, serde::Deserialize)]
struct Plan {
    ws_url: String,
    http_url: String,
    token: Option<String>,
    post: String,
    /// The comment mutation, with `$p` and `$b`.
    mutation: String,
    subscribers: usize,
    rounds: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--clients") {
        let plan: Plan = serde_json::from_str(args.get(1).map(String::as_str).unwrap_or("{}"))?;
        return clients(plan).await;
    }
    let target = args.first().cloned().unwrap_or_else(|| "marquee".into());
    let subscribers: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    match target.as_str() {
        "marquee" => {
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
            let plan = Plan {
                ws_url: sys.url("/graphql").replacen("http://", "ws://", 1),
                http_url: sys.url("/graphql"),
                token: Some(token),
                post,
                mutation: "mutation($p: ID!, $b: String!) { addComment(input: { postId: $p, body: $b }) { id } }".into(),
                subscribers,
                rounds,
            };
            run(&target, plan)?;
            sys.stop().await;
        }
        "async-graphql" => {
            let addr = baseline::serve().await?;
            let plan = Plan {
                ws_url: format!("ws://{addr}/graphql"),
                http_url: format!("http://{addr}/graphql"),
                token: None,
                post: "p1".into(),
                mutation:
                    "mutation($p: ID!, $b: String!) { addComment(postId: $p, body: $b) { id } }"
                        .into(),
                subscribers,
                rounds,
            };
            run(&target, plan)?;
        }
        other => anyhow::bail!("unknown target `{other}`: marquee or async-graphql"),
    }
    Ok(())
}

/// Runs the client process against this process's server and prints its
/// figures with the server's RSS growth per subscriber.
fn run(target: &str, plan: Plan) -> anyhow::Result<()> {
    let subscribers = plan.subscribers;
    let before = rss_kib();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--clients")
        .arg(serde_json::to_string(&plan)?)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut stdin = child.stdin.take().expect("piped");
    let ready = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("the client process ended early"))??;
    // Let the server settle (buffers of the last handshakes) before reading.
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib();
    println!(
        "{target}: {subscribers} subscribers listening ({ready}); server RSS {before} KiB -> {after} KiB: {:.1} KiB per subscriber",
        after.saturating_sub(before) as f64 / subscribers as f64
    );
    writeln!(stdin, "go")?;
    for line in lines {
        println!("{target}: {}", line?);
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "the client process failed: {status}");
    Ok(())
}

/// The client process: opens the sockets, reports `ready`, waits for `go`
/// on stdin, then sends the comments and times the deliveries.
async fn clients(plan: Plan) -> anyhow::Result<()> {
    let subscribe = json!({"type": "subscribe", "id": "c", "payload": {
        "query": SUBSCRIPTION, "variables": {"p": plan.post},
    }});
    let init = match &plan.token {
        Some(t) => {
            json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {t}")}})
        }
        None => json!({"type": "connection_init"}),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let opened = Instant::now();
    let mut ready = Vec::with_capacity(plan.subscribers);
    for _ in 0..plan.subscribers {
        let mut request = plan.ws_url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(4 * 1024);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
        socket.send(Message::Text(init.to_string().into())).await?;
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
                // Told apart without parsing: the clients share the cores
                // with the server, and what they spend is not its latency.
                let t = t.as_str();
                if t.contains(r#""type":"pong""#) {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                } else if t.contains(r#""type":"next""#) && t.contains(r#""commentAdded":{"#) {
                    let _ = tx.send(Instant::now());
                }
            }
        });
    }
    for r in ready {
        let _ = r.await;
    }
    println!("after {:.0} ms", ms(opened.elapsed()));
    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;

    let http = reqwest::Client::new();
    let comment = |body: String| {
        let mut request = http.post(&plan.http_url).json(&json!({
            "query": plan.mutation, "variables": {"p": plan.post, "b": body},
        }));
        if let Some(t) = &plan.token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    // One warm-up round, not counted (plans cached, connections open).
    let warm = comment("warm-up".into()).await?;
    anyhow::ensure!(warm.status().is_success(), "the mutation failed");
    for _ in 0..plan.subscribers {
        tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .map_err(|_| anyhow::anyhow!("the warm-up round did not reach everyone"))?;
    }
    let mut last = Vec::with_capacity(plan.rounds);
    let mut every = Vec::with_capacity(plan.rounds * plan.subscribers);
    for round in 0..plan.rounds {
        let sent = Instant::now();
        let r = comment(format!("round {round}")).await?;
        anyhow::ensure!(
            r.status().is_success(),
            "round {round}: the mutation failed"
        );
        let mut got = 0;
        let mut latest = sent;
        while got < plan.subscribers {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(at)) => {
                    got += 1;
                    latest = latest.max(at);
                    every.push(at.duration_since(sent));
                }
                _ => anyhow::bail!(
                    "round {round}: only {got} of {} deliveries arrived",
                    plan.subscribers
                ),
            }
        }
        last.push(latest.duration_since(sent));
    }
    last.sort();
    every.sort();
    println!(
        "mutation sent -> last of {} deliveries, {} rounds: p50 {:.1} ms, p99 {:.1} ms",
        plan.subscribers,
        plan.rounds,
        ms(percentile(&last, 0.5)),
        ms(percentile(&last, 0.99))
    );
    println!(
        "every delivery ({}): p50 {:.1} ms, p99 {:.1} ms",
        every.len(),
        ms(percentile(&every, 0.5)),
        ms(percentile(&every, 0.99))
    );
    std::io::stdout().flush()?;
    Ok(())
}

/// The comparison server: async-graphql's graphql-transport-ws over axum.
mod baseline {
    use async_graphql::{Context, Object, Schema, SimpleObject, Subscription, ID};
    use futures::{Stream, StreamExt};
    use tokio::sync::broadcast;

    #[derive(SimpleObject, Clone)]
    struct Author {
        username: String,
    }

    #[derive(SimpleObject, Clone)]
    struct Comment {
        id: ID,
        post_id: ID,
        body: String,
        author: Author,
    }

    struct Query;

    #[Object]
    impl Query {
        async fn ok(&self) -> bool {
            true
        }
    }

    struct Mutation;

    #[Object]
    impl Mutation {
        async fn add_comment(&self, ctx: &Context<'_>, post_id: ID, body: String) -> Comment {
            let c = Comment {
                id: ID(uuid::Uuid::now_v7().to_string()),
                post_id,
                body,
                author: Author {
                    username: "bench".into(),
                },
            };
            let _ = ctx
                .data_unchecked::<broadcast::Sender<Comment>>()
                .send(c.clone());
            c
        }
    }

    struct Live;

    #[Subscription]
    impl Live {
        async fn comment_added(
            &self,
            ctx: &Context<'_>,
            post_id: ID,
        ) -> impl Stream<Item = Comment> {
            let rx = ctx
                .data_unchecked::<broadcast::Sender<Comment>>()
                .subscribe();
            tokio_stream::wrappers::BroadcastStream::new(rx).filter_map(move |c| {
                let keep = c.ok().filter(|c| c.post_id == post_id);
                async move { keep }
            })
        }
    }

    pub async fn serve() -> anyhow::Result<std::net::SocketAddr> {
        let (tx, _) = broadcast::channel::<Comment>(1024);
        let schema = Schema::build(Query, Mutation, Live).data(tx).finish();
        let app = axum::Router::new().route(
            "/graphql",
            axum::routing::post_service(async_graphql_axum::GraphQL::new(schema.clone()))
                .get_service(async_graphql_axum::GraphQLSubscription::new(schema)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(addr)
    }
}
