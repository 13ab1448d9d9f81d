//! The router tried as an attacker would, against the whole system: small
//! anonymous documents that multiply through fragments, sign-in guesses
//! hidden in fragments and aliases, APQ floods, the other transports
//! (GET, SSE, WebSocket) around trusted-only mode and the method rules,
//! nested lists that ask for millions of nodes, and sockets by the hundred.

use std::time::Duration;

use e2e::System;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const PATIENCE: Duration = Duration::from_secs(20);

fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

/// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ... F<n> { __typename }`:
/// 2^n root fields once expanded, a kilobyte or two as text.
fn doubling_chain(levels: usize) -> String {
    let mut q = String::from("query { ...F0 }");
    for i in 0..levels {
        q.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    q.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    q
}

/// A POST as client `ip` (the router trusts loopback as a proxy in these tests).
async fn post_as(sys: &System, ip: &str, body: Value) -> reqwest::Response {
    sys.client()
        .post(sys.url("/graphql"))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .expect("the router answers")
}

fn behind_a_trusted_proxy(c: &mut kit::Config) {
    c.router.trusted_proxies = vec!["127.0.0.1/32".into(), "::1/128".into()];
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket_as(sys: &System, ip: &str) -> Socket {
    let url = sys.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the router accepts the WebSocket")
        .0
}

/// The next text message, or the close code the socket ended with.
async fn next_message(socket: &mut Socket) -> Result<Value, u16> {
    loop {
        let m = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the router answers in time");
        match m {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(Some(frame)))) => return Err(u16::from(frame.code)),
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a code: {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// An initialised anonymous socket.
async fn connected(sys: &System, ip: &str) -> Socket {
    let mut socket = socket_as(sys, ip).await;
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {}}),
    )
    .await;
    let ack = next_message(&mut socket).await.expect("an ack");
    assert_eq!(ack["type"], "connection_ack");
    socket
}

#[tokio::test]
async fn a_doubling_fragment_chain_is_refused_on_every_transport_while_others_are_served() {
    for sys in System::all(true).await {
        let l = sys.label;
        let bomb = doubling_chain(40);
        assert!(bomb.len() < 4096);
        let ordinary = sys.gql(None, "{ movies(first: 1) { totalCount } }", json!({}));
        let refused = sys.gql(None, &bomb, json!({}));
        let (ordinary, refused) = tokio::join!(ordinary, refused);
        assert!(
            ordinary["data"]["movies"]["totalCount"].as_i64().unwrap() > 0,
            "[{l}] {ordinary}"
        );
        assert_eq!(code(&refused), "QUERY_TOO_COMPLEX", "[{l}] {refused}");
        assert_eq!(refused["errors"][0]["extensions"]["limit"], "root_fields");

        let get: Value = sys
            .client()
            .get(sys.url("/graphql"))
            .header("graphql-preflight", "1")
            .query(&[("query", bomb.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(code(&get), "QUERY_TOO_COMPLEX", "[{l}] GET {get}");

        let sse = sys
            .client()
            .post(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .json(&json!({ "query": bomb }))
            .send()
            .await
            .unwrap();
        assert_eq!(sse.status(), 400, "[{l}] SSE");
        assert_eq!(
            code(&sse.json::<Value>().await.unwrap()),
            "QUERY_TOO_COMPLEX"
        );

        let mut ws = connected(&sys, "203.0.113.1").await;
        send(
            &mut ws,
            json!({"type": "subscribe", "id": "1", "payload": {"query": bomb}}),
        )
        .await;
        let m = next_message(&mut ws).await.expect("an answer");
        assert_eq!(m["type"], "error", "[{l}] {m}");
        assert_eq!(m["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
        sys.stop().await;
    }
}

#[tokio::test]
async fn every_sign_in_field_takes_one_auth_token_whatever_the_shape() {
    for sys in System::all_with(false, behind_a_trusted_proxy).await {
        let l = sys.label;
        let login = |alias: &str| {
            format!(
                "{alias}login(input: {{ login: \"nobody\", password: \"wrong password 1\" }}) {{ accessToken }}"
            )
        };
        // 20 aliases: twenty guesses, over the burst of five at once.
        let aliased: String = (0..20).map(|i| login(&format!("a{i}: "))).collect();
        let r = post_as(
            &sys,
            "198.51.100.1",
            json!({ "query": format!("mutation {{ {aliased} }}") }),
        )
        .await;
        assert_eq!(r.status(), 429, "[{l}] 20 aliases");
        assert_eq!(code(&r.json().await.unwrap()), "RATE_LIMITED");

        // Two guesses per request, in an inline fragment or a named one
        // spread twice: the third request is one guess too many.
        let inline = format!(
            "mutation {{ ... on Mutation {{ {} {} }} }}",
            login("a: "),
            login("b: ")
        );
        let named = format!(
            "mutation {{ ...G ...G }} fragment G on Mutation {{ {} }}",
            login("")
        );
        for (ip, query) in [("198.51.100.2", &inline), ("198.51.100.3", &named)] {
            let mut statuses = Vec::new();
            for _ in 0..3 {
                statuses.push(
                    post_as(&sys, ip, json!({ "query": query }))
                        .await
                        .status()
                        .as_u16(),
                );
            }
            assert_eq!(statuses, [200, 200, 429], "[{l}] {query}");
        }

        // The plain form: the sixth guess.
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let r = post_as(
                &sys,
                "198.51.100.4",
                json!({ "query": format!("mutation {{ {} }}", login("")) }),
            )
            .await;
            statuses.push(r.status().as_u16());
        }
        assert_eq!(statuses, [200, 200, 200, 200, 200, 429], "[{l}] plain");

        // Over SSE the same operation counts the same.
        let r = sys
            .client()
            .post(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .header("x-forwarded-for", "198.51.100.5")
            .json(&json!({ "query": format!("mutation {{ {aliased} }}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "[{l}] SSE with 20 aliases");
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_mutation_over_get_or_an_sse_get_is_refused_with_405() {
    for sys in System::all(false).await {
        let l = sys.label;
        let mutation = "mutation { logoutAll }";
        let sse = sys
            .client()
            .get(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .header("graphql-preflight", "1")
            .query(&[("query", mutation)])
            .send()
            .await
            .unwrap();
        assert_eq!(sse.status(), 405, "[{l}] SSE GET");
        assert_eq!(sse.headers()["allow"], "POST");
        let get = sys
            .client()
            .get(sys.url("/graphql"))
            .header("graphql-preflight", "1")
            .query(&[("query", mutation)])
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 405, "[{l}] GET");
        sys.stop().await;
    }
}

#[tokio::test]
async fn trusted_only_mode_refuses_unlisted_documents_over_websocket_and_sse() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = "query Top { movies(first: 1) { totalCount } }";
    std::fs::write(dir.path().join("top.graphql"), trusted).unwrap();
    let path = dir.path().to_path_buf();
    for sys in System::all_with(true, move |c| {
        c.router.persisted.only = true;
        c.router.persisted.dir = path.clone();
    })
    .await
    {
        let l = sys.label;
        let unlisted = "{ movies(first: 2) { totalCount } }";
        assert_eq!(
            code(&sys.gql(None, unlisted, json!({})).await),
            "FORBIDDEN",
            "[{l}] POST"
        );
        let sse = |query: &str| {
            sys.client()
                .post(sys.url("/graphql"))
                .header("accept", "text/event-stream")
                .json(&json!({ "query": query }))
                .send()
        };
        let refused = sse(unlisted).await.unwrap();
        assert_eq!(refused.status(), 403, "[{l}] SSE");
        assert_eq!(code(&refused.json().await.unwrap()), "FORBIDDEN");
        let listed = sse(trusted).await.unwrap();
        assert_eq!(listed.status(), 200, "[{l}] SSE, listed");
        assert!(listed.text().await.unwrap().contains("totalCount"));

        let mut ws = connected(&sys, "203.0.113.2").await;
        for (id, query) in [("1", unlisted), ("2", trusted)] {
            send(
                &mut ws,
                json!({"type": "subscribe", "id": id, "payload": {"query": query}}),
            )
            .await;
        }
        let first = next_message(&mut ws).await.unwrap();
        assert_eq!(first["type"], "error", "[{l}] {first}");
        assert_eq!(first["payload"][0]["extensions"]["code"], "FORBIDDEN");
        let second = next_message(&mut ws).await.unwrap();
        assert_eq!(second["type"], "next", "[{l}] {second}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn lists_nested_a_hundred_deep_three_times_are_refused_for_their_cost() {
    for sys in System::all(false).await {
        let l = sys.label;
        let mut inner = String::from("user { username }");
        for _ in 0..3 {
            inner =
                format!("user {{ followers(first: 100) {{ edges {{ node {{ {inner} }} }} }} }}");
        }
        let query = format!(
            "query($id: ID!) {{ {} }}",
            inner.replacen("user {", "user(id: $id) {", 1)
        );
        let r = sys
            .gql(None, &query, json!({"id": uuid::Uuid::nil().to_string()}))
            .await;
        assert_eq!(code(&r), "QUERY_TOO_COMPLEX", "[{l}] {r}");
        let e = &r["errors"][0]["extensions"];
        assert_eq!(e["limit"], "cost");
        assert!(e["actual"].as_u64().unwrap() > 1_000_000, "[{l}] {e}");
        assert_eq!(e["max"], 50_000);
        // The cost is reported when asked, and a small page passes.
        let r: Value = sys
            .client()
            .post(sys.url("/graphql"))
            .json(&json!({
                "query": "{ movies(first: 5) { edges { node { title } } } }",
                "extensions": { "cost": true },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["extensions"]["cost"]["estimated"], 11, "[{l}] {r}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn apq_remembers_only_documents_that_were_admitted() {
    for sys in System::all_with(false, |c| c.router.rate_limit.api.per_minute = 3).await {
        let l = sys.label;
        let apq = |query: Option<&str>, hash: &str| {
            let mut body = json!({
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}
            });
            if let Some(q) = query {
                body["query"] = json!(q);
            }
            sys.client().post(sys.url("/graphql")).json(&body).send()
        };
        // An invalid document is answered with its errors and not stored.
        let invalid = "{ noSuchField }";
        let h = router::persisted::sha256_hex(invalid);
        let r: Value = apq(Some(invalid), &h).await.unwrap().json().await.unwrap();
        assert_eq!(code(&r), "GRAPHQL_VALIDATION_FAILED", "[{l}] {r}");
        let r: Value = apq(None, &h).await.unwrap().json().await.unwrap();
        assert_eq!(code(&r), "PERSISTED_QUERY_NOT_FOUND", "[{l}] {r}");

        // A registration pays a token of its own: with three a minute, one
        // registration (two tokens) leaves one, and the next is refused
        // and not stored.
        let first = "{ movies(first: 1) { totalCount } }";
        let r = apq(Some(first), &router::persisted::sha256_hex(first))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "[{l}]");
        let second = "{ movies(first: 2) { totalCount } }";
        let h2 = router::persisted::sha256_hex(second);
        let r = apq(Some(second), &h2).await.unwrap();
        assert_eq!(r.status(), 429, "[{l}] the registration needs two tokens");
        let r: Value = apq(None, &h2).await.unwrap().json().await.unwrap();
        assert_eq!(code(&r), "PERSISTED_QUERY_NOT_FOUND", "[{l}] {r}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn live_connection_caps_close_sockets_and_refuse_streams_with_their_codes() {
    for sys in System::all_with(false, |c| {
        behind_a_trusted_proxy(c);
        c.router.live.max_connections_per_client = 2;
        c.router.live.max_connections = 3;
    })
    .await
    {
        let l = sys.label;
        let _a1 = connected(&sys, "198.51.100.10").await;
        let _a2 = connected(&sys, "198.51.100.10").await;
        let mut a3 = socket_as(&sys, "198.51.100.10").await;
        assert_eq!(next_message(&mut a3).await.err(), Some(4429), "[{l}]");
        let _b1 = connected(&sys, "198.51.100.11").await;
        let mut b2 = socket_as(&sys, "198.51.100.11").await;
        assert_eq!(
            next_message(&mut b2).await.err(),
            Some(1013),
            "[{l}] router full"
        );
        let sse = sys
            .client()
            .post(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .header("x-forwarded-for", "198.51.100.12")
            .json(&json!({"query": "{ movies(first: 1) { totalCount } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(sse.status(), 503, "[{l}] SSE while full");
        // A closed socket frees its place.
        drop(_a1);
        let mut freed = None;
        for _ in 0..50 {
            let mut s = socket_as(&sys, "198.51.100.12").await;
            send(&mut s, json!({"type": "connection_init", "payload": {}})).await;
            if let Ok(ack) = next_message(&mut s).await {
                freed = Some(ack);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(freed.expect("a place came free")["type"], "connection_ack");
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_body_of_three_gigabytes_to_a_subgraph_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for sys in System::all(false).await {
        for spec in marquee::subgraphs() {
            let name = spec.name;
            let url = reqwest::Url::parse(&sys.process_url(name, "/graphql")).unwrap();
            let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream
                .write_all(
                    format!(
                        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                         Content-Length: 3000000000\r\n\r\n{{\"query\": \""
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            // The answer comes without the body being sent.
            let mut answer = vec![0u8; 512];
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
                .await
                .expect("an answer before the body")
                .unwrap();
            let head = String::from_utf8_lossy(&answer[..n]);
            assert!(
                head.starts_with("HTTP/1.1 413"),
                "[{}] {name}: {head}",
                sys.label
            );
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn subgraphs_record_the_address_the_router_forwards_and_believe_no_one_else() {
    let audit_ips = |sys: &System, token: String| {
        let client = sys.client().clone();
        let url = sys.url("/graphql");
        async move {
            let r: Value = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"query": "{ auditLog(filter: {action: \"login_failed\"}, first: 20) { edges { node { ip } } } }"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["data"]["auditLog"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{r}"))
                .iter()
                .map(|e| e["node"]["ip"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        }
    };
    let bad_login = json!({"query": "mutation { login(input: {login: \"nobody\", password: \"wrong password 1\"}) { accessToken } }"});

    // Behind the router (a trusted proxy of the subgraphs by default), which
    // itself trusts a load balancer on loopback: the client's address lands
    // in the audit log.
    let sys = System::start_with(kit::testing::TestSystem::embedded(), true, |c| {
        behind_a_trusted_proxy(c);
        c.router.rate_limit.auth.per_minute = 1_000;
    })
    .await;
    post_as(&sys, "198.51.100.77", bad_login.clone()).await;
    let admin = sys.token_of("ADMIN").await;
    let ips = audit_ips(&sys, admin).await;
    assert!(ips.iter().any(|ip| ip == "198.51.100.77"), "{ips:?}");
    sys.stop().await;

    // Reached directly from an address it does not trust, a subgraph
    // ignores the forwarding header.
    let sys = System::start_with(kit::testing::TestSystem::embedded(), true, |c| {
        c.subgraph.trusted_proxies = vec!["192.0.2.1/32".into()];
        c.router.rate_limit.auth.per_minute = 1_000;
    })
    .await;
    sys.client()
        .post(sys.process_url("users", "/graphql"))
        .header("x-forwarded-for", "198.51.100.66")
        .json(&bad_login)
        .send()
        .await
        .unwrap();
    let admin = sys.token_of("ADMIN").await;
    let ips = audit_ips(&sys, admin).await;
    assert!(!ips.is_empty());
    assert!(
        ips.iter().all(|ip| ip == "127.0.0.1" || ip == "::1"),
        "{ips:?}"
    );
    sys.stop().await;
}

#[tokio::test]
async fn csrf_prevention_holds_for_sse_and_websockets() {
    for sys in System::all(false).await {
        let l = sys.label;
        // A simple request (text/plain, no preflight header) a cross-site
        // page could send: refused before anything runs.
        let r = sys
            .client()
            .post(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .header("content-type", "text/plain")
            .body(json!({"query": "mutation { logoutAll }"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "[{l}] SSE as a simple request");
        let r = sys
            .client()
            .get(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .query(&[("query", "{ movies(first: 1) { totalCount } }")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "[{l}] SSE GET without a preflight header");

        // A page of another origin may not open a socket; the router's own may.
        let url = sys.url("/graphql").replacen("http://", "ws://", 1);
        let host = url
            .trim_start_matches("ws://")
            .trim_end_matches("/graphql")
            .to_string();
        for (origin, ok) in [
            ("https://evil.example".to_string(), false),
            (format!("http://{host}"), true),
        ] {
            let mut request = url.as_str().into_client_request().unwrap();
            let h = request.headers_mut();
            h.insert(
                "sec-websocket-protocol",
                "graphql-transport-ws".parse().unwrap(),
            );
            h.insert("origin", origin.parse().unwrap());
            let opened = tokio_tungstenite::connect_async(request).await;
            assert_eq!(opened.is_ok(), ok, "[{l}] origin {origin}");
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn wrong_passwords_from_one_address_never_lock_the_owner_out_from_another() {
    const PASSWORD: &str = "correct horse battery staple 42";
    for sys in System::all_with(false, |c| {
        behind_a_trusted_proxy(c);
        c.router.rate_limit.auth.per_minute = 10_000;
        c.auth.sign_in.account_ceiling = 55;
    })
    .await
    {
        let l = sys.label;
        sys.register("owner").await;
        let login = |password: &str| {
            json!({
                "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                "variables": {"i": {"login": "owner", "password": password}},
            })
        };
        let attacker = "203.0.113.50";
        let mut codes = Vec::new();
        for _ in 0..8 {
            let r: Value = post_as(&sys, attacker, login("wrong password 1"))
                .await
                .json()
                .await
                .unwrap();
            codes.push(code(&r).to_string());
        }
        assert!(
            codes[..5].iter().all(|c| c == "UNAUTHENTICATED"),
            "[{l}] {codes:?}"
        );
        assert!(
            codes[5..].iter().all(|c| c == "RATE_LIMITED"),
            "[{l}] {codes:?}"
        );
        // The attacker's address waits even with the right password...
        let r: Value = post_as(&sys, attacker, login(PASSWORD))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(code(&r), "RATE_LIMITED", "[{l}] {r}");
        // ...while the owner, elsewhere, signs in.
        let r: Value = post_as(&sys, "198.51.100.200", login(PASSWORD))
            .await
            .json()
            .await
            .unwrap();
        assert!(r["data"]["login"]["accessToken"].is_string(), "[{l}] {r}");

        // Fifty wrong guesses at once from fifty addresses: every one counts
        // (5 are counted already, and the account's ceiling is 55: one lost
        // count and the owner would still get in).
        let guesses: Vec<_> = (0..50)
            .map(|i| {
                let client = sys.client().clone();
                let url = sys.url("/graphql");
                let body = login("wrong password 2");
                tokio::spawn(async move {
                    client
                        .post(url)
                        .header("x-forwarded-for", format!("192.0.2.{}", i + 1))
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                })
            })
            .collect();
        for g in guesses {
            g.await.unwrap();
        }
        let r: Value = post_as(&sys, "198.51.100.201", login(PASSWORD))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            code(&r),
            "RATE_LIMITED",
            "[{l}] the ceiling was reached: {r}"
        );

        // A password reset always works, and the account signs in again.
        let r = sys
            .gql(
                None,
                "mutation($e: String!) { requestPasswordReset(email: $e) }",
                json!({"e": "owner@example.com"}),
            )
            .await;
        assert_eq!(r["data"]["requestPasswordReset"], true, "[{l}] {r}");
        let token =
            e2e::mailed_code(sys.data_dir(), "owner@example.com", "Reset").expect("a reset mail");
        let new_password = "another horse battery staple 43";
        let r = sys
            .gql(
                None,
                "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
                json!({"t": token, "p": new_password}),
            )
            .await;
        assert!(r.get("errors").is_none(), "[{l}] {r}");
        let r: Value = post_as(&sys, "198.51.100.202", login(new_password))
            .await
            .json()
            .await
            .unwrap();
        assert!(r["data"]["login"]["accessToken"].is_string(), "[{l}] {r}");
        sys.stop().await;
    }
}

/// The router's `marquee_router_subscription_topics_opened_total`.
async fn topics_opened(sys: &System) -> u64 {
    let text = sys
        .client()
        .get(sys.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("marquee_router_subscription_topics_opened_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn a_subscription_refused_by_its_check_opens_no_topic() {
    for sys in System::all(false).await {
        let l = sys.label;
        let (token, _) = sys.register("lurker").await;
        let before = topics_opened(&sys).await;
        let mut ws = socket_as(&sys, "203.0.113.9").await;
        send(
            &mut ws,
            json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
        )
        .await;
        assert_eq!(
            next_message(&mut ws).await.unwrap()["type"],
            "connection_ack"
        );
        for i in 0..20 {
            send(
                &mut ws,
                json!({"type": "subscribe", "id": format!("s{i}"), "payload": {
                    "query": "subscription($r: ID!) { chatMessageAdded(roomId: $r) { body } }",
                    "variables": {"r": uuid::Uuid::now_v7().to_string()},
                }}),
            )
            .await;
            let m = next_message(&mut ws).await.unwrap();
            assert_eq!(m["type"], "error", "[{l}] {m}");
        }
        assert_eq!(
            topics_opened(&sys).await,
            before,
            "[{l}] made-up rooms opened bus subscriptions"
        );
        sys.stop().await;
    }
}
