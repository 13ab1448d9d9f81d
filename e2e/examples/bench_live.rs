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
//!   channel and resolved from the payload: no bus, no federation.
//! - `floor`: no GraphQL server at all: one prepared frame written straight
//!   to each socket's TCP stream (see `floor`), what the machine itself
//!   costs for N sockets with the clients on the same cores.
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
                // Every subscriber comes from this one address.
                c.router.live.max_connections_per_client = 1_000_000;
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
        // Plain servers with the one comment mutation and no sign-in.
        "async-graphql" | "floor" => {
            let (ws, http) = if target == "floor" {
                floor::serve().await?
            } else {
                let addr = baseline::serve().await?;
                (addr, addr)
            };
            let plan = Plan {
                ws_url: format!("ws://{ws}/graphql"),
                http_url: format!("http://{http}/graphql"),
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
        other => anyhow::bail!("unknown target `{other}`: marquee, async-graphql or floor"),
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

/// Delivery times of the current round, recorded by the socket readers.
struct Recorder {
    times: std::sync::Mutex<Vec<Instant>>,
    expected: std::sync::atomic::AtomicUsize,
    full: tokio::sync::Notify,
}

impl Recorder {
    fn record(&self, at: Instant) {
        let mut times = self.times.lock().unwrap_or_else(|p| p.into_inner());
        times.push(at);
        if times.len() == self.expected.load(std::sync::atomic::Ordering::Relaxed) {
            self.full.notify_one();
        }
    }

    /// Clears the record for a round of `n` deliveries.
    fn start(&self, n: usize) {
        self.times.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.expected.store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits until the round's deliveries are all in; their times.
    async fn finish(&self, round: &str) -> anyhow::Result<Vec<Instant>> {
        let expected = self.expected.load(std::sync::atomic::Ordering::Relaxed);
        let all = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let notified = self.full.notified();
                if self.times.lock().unwrap_or_else(|p| p.into_inner()).len() >= expected {
                    return;
                }
                notified.await;
            }
        })
        .await;
        let times = std::mem::take(&mut *self.times.lock().unwrap_or_else(|p| p.into_inner()));
        anyhow::ensure!(
            all.is_ok(),
            "{round}: only {} of {expected} deliveries arrived",
            times.len()
        );
        Ok(times)
    }
}

/// Whether a text frame's payload is a `next` of the subscription (told
/// apart without parsing: the clients share the cores with the server, and
/// what they spend is not its latency).
fn is_delivery(text: &[u8]) -> bool {
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    has(br#""type":"next""#) && has(br#""commentAdded":{"#)
}

/// The first whole WebSocket frame in `buf`: (opcode, payload, bytes used).
fn frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, mut at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    // Server frames are not masked; skip a key if one is there anyway.
    if b1 & 0x80 != 0 {
        at += 4;
    }
    let payload = buf.get(at..at + len)?;
    Some((b0 & 0x0f, payload, at + len))
}

/// After the handshake: reads the socket's frames straight off the TCP
/// stream, a few instructions per frame instead of a WebSocket library's
/// message handling (the default client; `BENCH_CLIENT=tungstenite` keeps
/// tokio-tungstenite reading, which costs the shared cores more).
async fn read_raw(mut tcp: tokio::net::TcpStream, recorder: std::sync::Arc<Recorder>) {
    use tokio::io::AsyncReadExt;
    let mut pending = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let n = match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = Instant::now();
        pending.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        while let Some((opcode, payload, size)) = frame(&pending[used..]) {
            if opcode == 1 && is_delivery(payload) {
                recorder.record(at);
            }
            used += size;
        }
        pending.drain(..used);
    }
}

/// Opens one subscriber: handshake, `connection_init`, `subscribe`, then a
/// `ping` whose `pong` comes once the subscription listens; then its reader.
async fn open(
    url: &str,
    init: &str,
    subscribe: &str,
    raw: bool,
    recorder: std::sync::Arc<Recorder>,
) -> anyhow::Result<()> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024);
    // No Nagle, as browsers do for WebSockets.
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    for text in [init, subscribe, r#"{"type":"ping"}"#] {
        socket.send(Message::Text(text.into())).await?;
    }
    while let Some(m) = socket.next().await {
        if let Message::Text(t) = m? {
            if t.as_str().contains(r#""type":"pong""#) {
                break;
            }
        }
    }
    if raw {
        let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = socket.into_inner() else {
            anyhow::bail!("the benchmark connects without TLS");
        };
        tokio::spawn(read_raw(tcp, recorder));
    } else {
        tokio::spawn(async move {
            while let Some(Ok(m)) = socket.next().await {
                if let Message::Text(t) = m {
                    if is_delivery(t.as_bytes()) {
                        recorder.record(Instant::now());
                    }
                }
            }
        });
    }
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
    let raw = std::env::var("BENCH_CLIENT").as_deref() != Ok("tungstenite");
    let recorder = std::sync::Arc::new(Recorder {
        times: std::sync::Mutex::new(Vec::with_capacity(plan.subscribers)),
        expected: std::sync::atomic::AtomicUsize::new(usize::MAX),
        full: tokio::sync::Notify::new(),
    });
    let opened = Instant::now();
    // Opened a few dozen at a time: one after the other, each waiting for
    // its pong, took a minute for 10,000.
    let (init, subscribe) = (init.to_string(), subscribe.to_string());
    let opening = futures::stream::iter(0..plan.subscribers)
        .map(|_| open(&plan.ws_url, &init, &subscribe, raw, recorder.clone()))
        .buffer_unordered(32);
    futures::pin_mut!(opening);
    while let Some(opened) = opening.next().await {
        opened?;
    }
    println!(
        "after {:.0} ms, {} reader",
        ms(opened.elapsed()),
        if raw { "raw" } else { "tungstenite" }
    );
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
    recorder.start(plan.subscribers);
    let warm = comment("warm-up".into()).await?;
    anyhow::ensure!(warm.status().is_success(), "the mutation failed");
    recorder.finish("the warm-up round").await?;
    let mut last = Vec::with_capacity(plan.rounds);
    let mut every = Vec::with_capacity(plan.rounds * plan.subscribers);
    for round in 0..plan.rounds {
        recorder.start(plan.subscribers);
        let sent = Instant::now();
        let r = comment(format!("round {round}")).await?;
        anyhow::ensure!(
            r.status().is_success(),
            "round {round}: the mutation failed"
        );
        let times = recorder.finish(&format!("round {round}")).await?;
        let latest = times.iter().copied().max().unwrap_or(sent);
        every.extend(times.iter().map(|at| at.duration_since(sent)));
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

/// The floor: no GraphQL, no bus, no WebSocket library after the handshake.
/// Each POST to its HTTP address writes one prepared `next` frame to every
/// socket straight on its TCP stream, the sockets split over the runtime's
/// worker threads. What the machine (its kernel's loopback path and the
/// client process on the same cores) costs for N sockets, which no server
/// can go below here.
mod floor {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use futures::{SinkExt, StreamExt};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::Message;

    type Sockets = Arc<Mutex<Vec<TcpStream>>>;

    /// A server text frame (unmasked, final) holding `text`.
    fn text_frame(text: &str) -> Vec<u8> {
        let mut frame = vec![0x81];
        match text.len() {
            n if n < 126 => frame.push(n as u8),
            n if n <= 0xffff => {
                frame.push(126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(text.as_bytes());
        frame
    }

    /// graphql-transport-ws up to the client's `ping` (ack, pong), then the
    /// bare TCP stream joins the fan-out.
    // The handshake callback's error type is tungstenite's, large as it is.
    #[allow(clippy::result_large_err)]
    async fn accept(tcp: TcpStream, sockets: Sockets) -> anyhow::Result<()> {
        let protocol = |_: &Request, mut response: Response| {
            response.headers_mut().insert(
                "sec-websocket-protocol",
                tokio_tungstenite::tungstenite::http::HeaderValue::from_static(
                    "graphql-transport-ws",
                ),
            );
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, protocol).await?;
        while let Some(m) = ws.next().await {
            let Message::Text(t) = m? else { continue };
            if t.as_str().contains(r#""type":"connection_init""#) {
                ws.send(Message::Text(r#"{"type":"connection_ack"}"#.into()))
                    .await?;
            } else if t.as_str().contains(r#""type":"ping""#) {
                ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await?;
                break;
            }
        }
        sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ws.into_inner());
        Ok(())
    }

    /// Writes `frame` to every socket, one task per worker thread.
    async fn fan_out(sockets: Sockets, frame: Arc<Vec<u8>>) {
        let mut all = std::mem::take(&mut *sockets.lock().unwrap_or_else(|p| p.into_inner()));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let size = all.len().div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        while !all.is_empty() {
            let mut chunk = all.split_off(all.len().saturating_sub(size));
            let frame = frame.clone();
            tasks.push(tokio::spawn(async move {
                for tcp in &mut chunk {
                    let _ = tcp.write_all(&frame).await;
                }
                chunk
            }));
        }
        for t in tasks {
            if let Ok(chunk) = t.await {
                all.extend(chunk);
            }
        }
        sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(all);
    }

    /// The WebSocket and the HTTP (mutation) addresses.
    pub async fn serve() -> anyhow::Result<(SocketAddr, SocketAddr)> {
        let sockets: Sockets = Arc::default();
        let ws = TcpListener::bind("127.0.0.1:0").await?;
        let ws_addr = ws.local_addr()?;
        let joined = sockets.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(accept(tcp, joined.clone()));
            }
        });
        let comment = move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sockets = sockets.clone();
            async move {
                let id = uuid::Uuid::now_v7().to_string();
                let payload = serde_json::json!({"data": {"commentAdded": {
                    "id": id, "body": body["variables"]["b"], "author": {"username": "bench"},
                }}});
                let text = format!(r#"{{"type":"next","id":"c","payload":{payload}}}"#);
                tokio::spawn(fan_out(sockets, Arc::new(text_frame(&text))));
                axum::Json(serde_json::json!({"data": {"addComment": {"id": id}}}))
            }
        };
        let app = axum::Router::new().route("/graphql", axum::routing::post(comment));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let http_addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((ws_addr, http_addr))
    }
}
