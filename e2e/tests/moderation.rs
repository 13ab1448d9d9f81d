//! Moderation through the router, on the embedded backends and on
//! PostgreSQL, Redis and NATS: a listed word in leetspeak hides a post and
//! queues it; three reports, a hide, an appeal upheld by an admin, each seen
//! by the author and by others as they should; a suspension that closes the
//! user's socket and stops their token; every step in the moderation log;
//! `reportFiled` for moderators only; the legacy REST routes.

use std::time::Duration;

use e2e::System;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for a message before failing instead of hanging
/// (a bound on a broken run, not a measured latency).
const PATIENCE: Duration = Duration::from_secs(30);

async fn systems() -> Vec<System> {
    System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws client, initialised as `token`.
async fn socket(sys: &System, token: &str) -> Socket {
    let url = sys.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the router accepts the WebSocket");
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await;
    let ack = next(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message; `Value::Null` once the socket closes.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message before the patience runs out");
        match m {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(frame))) => {
                return json!({"closed": frame.map(|f| u16::from(f.code))})
            }
            Some(Ok(_)) => continue,
            _ => return json!({"closed": null}),
        }
    }
}

/// Subscribes and waits for the pong sent after it (the router answers
/// once the subscription listens); returns a refusal's message if any.
async fn subscribe(ws: &mut Socket, id: &str, query: &str) -> Option<Value> {
    send(
        ws,
        json!({"type": "subscribe", "id": id, "payload": {"query": query}}),
    )
    .await;
    send(ws, json!({"type": "ping", "payload": {"after": id}})).await;
    loop {
        let m = next(ws).await;
        if m["type"] == "error" {
            return Some(m);
        }
        if m["type"] == "pong" && m["payload"]["after"] == id {
            return None;
        }
    }
}

async fn report(sys: &System, token: &str, target: Value, reason: &str) -> String {
    let d = sys
        .data(
            Some(token),
            "mutation($i: ReportContentInput!) { reportContent(input: $i) { id } }",
            json!({"i": {"target": target, "reason": reason}}),
        )
        .await;
    d["reportContent"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn reports_hides_appeals_suspensions_and_the_log_through_the_router() {
    for sys in systems().await {
        let l = sys.label;
        let admin = sys.token_of("ADMIN").await;
        let moderator = sys.token_of("MODERATOR").await;
        sys.data(
            Some(&admin),
            "mutation { addModerationWords(words: [\"idiot\"]) { words } }",
            json!({}),
        )
        .await;
        let (author, author_id) = sys.register("mod_author").await;
        let (other, _) = sys.register("mod_other").await;

        // A listed word in leetspeak: hidden automatically, in the queue.
        let d = sys
            .data(
                Some(&author),
                "mutation { createPost(input: {body: \"what a 1d!0t\"}) { id } }",
                json!({}),
            )
            .await;
        let post = d["createPost"]["id"].as_str().unwrap().to_string();
        sys.eventually(
            Some(&moderator),
            "{ moderationQueue { edges { node { automatic post { id body } } } } }",
            json!({}),
            |r| {
                r["data"]["moderationQueue"]["edges"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["node"]["post"]["id"] == post.as_str()))
            },
        )
        .await;
        let seen = "query($p: ID!) { post(id: $p) { id hidden } }";
        sys.eventually(Some(&other), seen, json!({"p": post}), |r| {
            r["data"]["post"].is_null()
        })
        .await;
        let own = sys.data(Some(&author), seen, json!({"p": post})).await;
        assert_eq!(own["post"]["hidden"], true, "[{l}]");

        // Three reports on a comment; a moderator hides it.
        let d = sys
            .data(
                Some(&other),
                "mutation { createPost(input: {body: \"a fine film\"}) { id } }",
                json!({}),
            )
            .await;
        let film = d["createPost"]["id"].as_str().unwrap().to_string();
        let d = sys
            .data(
                Some(&author),
                "mutation($p: ID!) { addComment(input: {postId: $p, body: \"rude words\"}) { id } }",
                json!({"p": film}),
            )
            .await;
        let comment = d["addComment"]["id"].as_str().unwrap().to_string();
        let mut first = String::new();
        for name in ["mod_r1", "mod_r2", "mod_r3"] {
            let (t, _) = sys.register(name).await;
            let id = report(&sys, &t, json!({"commentId": comment}), "HARASSMENT").await;
            if first.is_empty() {
                first = id;
            }
        }
        let d = sys
            .eventually(
                Some(&moderator),
                "query($r: ID!) { report(id: $r) { reporterCount targetAuthor { id } comment { id body } } }",
                json!({"r": first}),
                |r| !r["data"]["report"]["targetAuthor"].is_null(),
            )
            .await;
        assert_eq!(d["data"]["report"]["reporterCount"], 3, "[{l}]");
        assert_eq!(d["data"]["report"]["comment"]["body"], "rude words");
        sys.data(
            Some(&moderator),
            "mutation($r: ID!) { resolveReport(id: $r, action: {kind: HIDE, note: \"abuse\"}) { status } }",
            json!({"r": first}),
        )
        .await;
        let one = "query($c: ID!) { comment(id: $c) { id hidden } }";
        sys.eventually(Some(&other), one, json!({"c": comment}), |r| {
            r["data"]["comment"].is_null()
        })
        .await;
        let mine = sys.data(Some(&author), one, json!({"c": comment})).await;
        assert_eq!(mine["comment"]["hidden"], true, "[{l}]");
        let thread =
            "query($p: ID!) { post(id: $p) { commentCount comments { edges { node { id } } } } }";
        let others = sys.data(Some(&other), thread, json!({"p": film})).await;
        assert_eq!(others["post"]["commentCount"], 0, "[{l}]");

        // The author appeals; an admin upholds; the comment is back.
        let d = sys
            .data(
                Some(&author),
                "{ myModerationActions { edges { node { id kind targetId } } } }",
                json!({}),
            )
            .await;
        let action = d["myModerationActions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["targetId"] == comment.as_str())
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .expect("the hide is among my actions");
        let d = sys
            .data(
                Some(&author),
                "mutation($a: ID!) { appeal(actionId: $a, text: \"it was a quote\") { id } }",
                json!({"a": action}),
            )
            .await;
        let appeal = d["appeal"]["id"].as_str().unwrap().to_string();
        sys.data(
            Some(&admin),
            "mutation($a: ID!) { decideAppeal(id: $a, uphold: true) { status } }",
            json!({"a": appeal}),
        )
        .await;
        sys.eventually(Some(&other), one, json!({"c": comment}), |r| {
            r["data"]["comment"]["hidden"] == false
        })
        .await;

        // A suspension closes the user's socket and stops their token.
        let mut ws = socket(&sys, &author).await;
        assert!(
            subscribe(&mut ws, "n", "subscription { notificationAdded { id } }")
                .await
                .is_none()
        );
        let r = report(&sys, &other, json!({"userId": author_id}), "SPAM").await;
        sys.data(
            Some(&moderator),
            "mutation($r: ID!) { resolveReport(id: $r, action: {kind: SUSPEND, durationHours: 24}) { status } }",
            json!({"r": r}),
        )
        .await;
        let closed = loop {
            let m = next(&mut ws).await;
            if m.get("closed").is_some() {
                break m;
            }
        };
        assert_eq!(closed["closed"], 4403, "[{l}] {closed}");
        let refused = sys.gql(Some(&author), "{ me { id } }", json!({})).await;
        assert!(refused.get("errors").is_some(), "[{l}] {refused}");

        // Every step is in the log.
        let d = sys
            .data(
                Some(&moderator),
                "{ moderationLog(first: 50) { edges { node { kind stateBefore stateAfter } } } }",
                json!({}),
            )
            .await;
        let kinds: Vec<String> = d["moderationLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap().to_string())
            .collect();
        for want in ["AUTO_HIDE", "HIDE", "APPEAL_UPHELD", "SUSPEND"] {
            assert!(
                kinds.iter().any(|k| k == want),
                "[{l}] {want} not in {kinds:?}"
            );
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn report_filed_reaches_moderators_and_a_user_is_refused() {
    for sys in systems().await {
        let l = sys.label;
        let moderator = sys.token_of("MODERATOR").await;
        let (user, _) = sys.register("mod_sub_user").await;
        let (target, target_id) = sys.register("mod_sub_target").await;
        let _ = target;
        let query = "subscription { reportFiled { id reason user { id } } }";
        let mut refused = socket(&sys, &user).await;
        let answer = subscribe(&mut refused, "r", query).await;
        assert!(answer.is_some(), "[{l}] a user's reportFiled was accepted");
        let mut ws = socket(&sys, &moderator).await;
        assert_eq!(subscribe(&mut ws, "r", query).await, None, "[{l}]");
        let id = report(&sys, &user, json!({"userId": target_id}), "SPAM").await;
        let m = next(&mut ws).await;
        assert_eq!(m["type"], "next", "[{l}] {m}");
        assert_eq!(m["payload"]["data"]["reportFiled"]["id"], id.as_str());
        assert_eq!(
            m["payload"]["data"]["reportFiled"]["user"]["id"],
            target_id.as_str()
        );
        sys.stop().await;
    }
}

#[tokio::test]
async fn the_legacy_rest_routes_report_list_resolve_and_appeal() {
    for sys in systems().await {
        let l = sys.label;
        let moderator = sys.token_of("MODERATOR").await;
        let (user, _) = sys.register("mod_rest_user").await;
        let (target, target_id) = sys.register("mod_rest_target").await;
        let c = sys.client();
        let filed = c
            .post(sys.url("/api/v1/reports"))
            .bearer_auth(&user)
            .json(&json!({"target": {"userId": target_id}, "reason": "SPAM", "details": "bot"}))
            .send()
            .await
            .unwrap();
        assert_eq!(filed.status(), 201, "[{l}]");
        let body: Value = filed.json().await.unwrap();
        let report = body["data"]["id"].as_str().unwrap().to_string();
        let refused = c
            .get(sys.url("/api/v1/moderation/queue"))
            .bearer_auth(&user)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "[{l}]");
        let queue: Value = c
            .get(sys.url("/api/v1/moderation/queue?limit=10"))
            .bearer_auth(&moderator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(queue["success"], true, "[{l}] {queue}");
        assert!(queue["data"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"] == report.as_str())));
        let resolved: Value = c
            .post(sys.url(&format!("/api/v1/moderation/reports/{report}/resolve")))
            .bearer_auth(&moderator)
            .json(&json!({"kind": "WARN", "note": "no bots"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(resolved["data"]["status"], "RESOLVED", "[{l}] {resolved}");
        let action = resolved["data"]["action"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let appealed = c
            .post(sys.url("/api/v1/appeals"))
            .bearer_auth(&target)
            .json(&json!({"actionId": action, "text": "I am not a bot"}))
            .send()
            .await
            .unwrap();
        assert_eq!(appealed.status(), 201, "[{l}]");
        let spec: Value = c
            .get(sys.url("/api-docs/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in [
            "/api/v1/reports",
            "/api/v1/moderation/queue",
            "/api/v1/moderation/reports/{id}/resolve",
            "/api/v1/appeals",
        ] {
            assert!(
                spec["paths"].get(path).is_some(),
                "[{l}] {path} is not documented"
            );
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn the_demo_data_puts_reports_flags_and_an_action_in_the_queue() {
    for sys in systems().await {
        let l = sys.label;
        let moderator = sys.token_of("MODERATOR").await;
        let d = sys
            .data(
                Some(&moderator),
                "{ moderationQueue { totalCount edges { node { reason automatic post { body } } } }
                   flags { edges { node { rule } } }
                   moderationLog { edges { node { kind } } } }",
                json!({}),
            )
            .await;
        assert!(
            d["moderationQueue"]["totalCount"].as_i64() >= Some(2),
            "[{l}] {d}"
        );
        let rules: Vec<&str> = d["flags"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["node"]["rule"].as_str())
            .collect();
        assert!(rules.contains(&"LINKS"), "[{l}] {rules:?}");
        let kinds: Vec<&str> = d["moderationLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["node"]["kind"].as_str())
            .collect();
        assert!(kinds.contains(&"HIDE"), "[{l}] {kinds:?}");
        sys.stop().await;
    }
}
