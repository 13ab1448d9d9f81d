//! Subscriptions through the router with real clients, on every backend this
//! run has (the in-process bus, then NATS): graphql-transport-ws over a
//! WebSocket and GraphQL over SSE, fed by the social subgraph's events and
//! resolved with fields of the users subgraph; subscribe-time refusals; the
//! protocol's close codes.

use std::time::Duration;

use e2e::System;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for a message before failing instead of hanging
/// (a bound on a broken run, not a measured latency).
const PATIENCE: Duration = Duration::from_secs(15);

async fn systems() -> Vec<System> {
    System::all_with(false, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

/// A chat room `token`'s user makes with `members` (named: a group room).
async fn create_room(sys: &System, token: &str, members: &[&str], name: Option<&str>) -> String {
    let d = sys
        .data(
            Some(token),
            "mutation($m: [ID!]!, $n: String) { createChatRoom(memberIds: $m, name: $n) { id } }",
            json!({"m": members, "n": name}),
        )
        .await;
    d["createChatRoom"]["id"].as_str().unwrap().to_string()
}

/// `token`'s user says `body` in `room`.
async fn say(sys: &System, token: &str, room: &str, body: &str) {
    sys.data(
        Some(token),
        "mutation($r: ID!, $b: String!) { sendChatMessage(roomId: $r, body: $b) { id } }",
        json!({"r": room, "b": body}),
    )
    .await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws client.
struct Ws {
    socket: Socket,
    label: &'static str,
    /// Messages that arrived while `subscribe` waited for its pong.
    early: std::collections::VecDeque<Value>,
}

impl Ws {
    /// Opens a socket on the router's `/graphql` without `connection_init`.
    async fn open(sys: &System) -> Self {
        let url = sys.url("/graphql").replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the router accepts the WebSocket");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Self {
            socket,
            label: sys.label,
            early: Default::default(),
        }
    }

    /// Opens and initialises a connection as `token` (anonymous without).
    async fn connect(sys: &System, token: Option<&str>) -> Self {
        let mut ws = Self::open(sys).await;
        let payload = match token {
            Some(t) => json!({"authorization": format!("Bearer {t}")}),
            None => json!({}),
        };
        ws.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        let ack = ws.recv().await;
        assert_eq!(ack["type"], "connection_ack", "[{}] {ack}", ws.label);
        ws
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Sends `subscribe`, then waits for the answer to a `ping` sent after
    /// it: the router answers it once the subscription listens.
    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}}))
            .await;
        self.send(json!({"type": "ping", "payload": {"after": id}}))
            .await;
        let mut early = Vec::new();
        loop {
            let m = self.recv().await;
            if m["type"] == "pong" && m["payload"]["after"] == id {
                self.early.extend(early);
                return;
            }
            assert_ne!(m["type"], "error", "[{}] {id} was refused: {m}", self.label);
            early.push(m);
        }
    }

    /// The next protocol message (a close fails the test).
    async fn recv(&mut self) -> Value {
        if let Some(m) = self.early.pop_front() {
            return m;
        }
        loop {
            let m = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("[{}] no message arrived", self.label))
                .expect("the socket is open")
                .expect("a message");
            match m {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(frame) => panic!("[{}] the router closed: {frame:?}", self.label),
                _ => continue,
            }
        }
    }

    /// `closed` without its own time limit.
    async fn closed_eventually(&mut self) -> (u16, String) {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("[{}] closed without a code: {other:?}", self.label),
            }
        }
    }

    /// The close code and reason the router ends the socket with.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            let m = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("[{}] the socket stayed open", self.label));
            match m {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("[{}] closed without a code: {other:?}", self.label),
            }
        }
    }
}

/// An SSE stream (distinct connections mode) read event by event.
struct Sse {
    response: reqwest::Response,
    buffer: String,
    label: &'static str,
}

impl Sse {
    async fn post(
        sys: &System,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        let mut request = sys
            .client()
            .post(sys.url("/graphql"))
            .header("accept", "text/event-stream")
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send().await.expect("the router answers")
    }

    /// Subscribes; the router answers once the subscription listens.
    async fn subscribe(sys: &System, token: &str, query: &str, variables: Value) -> Self {
        let response = Self::post(sys, Some(token), query, variables).await;
        assert_eq!(response.status(), 200, "[{}]", sys.label);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Self {
            response,
            buffer: String::new(),
            label: sys.label,
        }
    }

    /// The next event's name and data (comments, i.e. keep-alives, skipped).
    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if event.is_empty() && data.is_empty() {
                    continue;
                }
                return (event, data);
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("[{}] no event arrived", self.label))
                .expect("the stream is readable")
                .unwrap_or_else(|| panic!("[{}] the stream ended", self.label));
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn a_follow_reaches_the_followed_user_as_a_notification_over_websocket() {
    for sys in systems().await {
        let l = sys.label;
        let (a, _) = sys.register("ash").await;
        let (b, b_id) = sys.register("bishop").await;
        let mut ws = Ws::connect(&sys, Some(&b)).await;
        ws.subscribe(
            "n",
            "subscription { notificationAdded { kind actorCount read actor { username } } }",
            json!({}),
        )
        .await;
        ws.subscribe(
            "u",
            "subscription { unreadNotificationCountChanged }",
            json!({}),
        )
        .await;
        ws.subscribe(
            "f",
            "subscription { followerAdded { username } }",
            json!({}),
        )
        .await;
        sys.data(
            Some(&a),
            "mutation($u: ID!) { follow(userId: $u) { id } }",
            json!({"u": b_id}),
        )
        .await;
        let mut got = std::collections::BTreeMap::new();
        while got.len() < 3 {
            let m = ws.recv().await;
            assert_eq!(m["type"], "next", "[{l}] {m}");
            assert!(m["payload"].get("errors").is_none(), "[{l}] {m}");
            assert!(
                m["payload"]["extensions"]["eventId"].is_string(),
                "[{l}] {m}"
            );
            let id = m["id"].as_str().unwrap().to_string();
            assert!(!got.contains_key(&id), "[{l}] {id} delivered twice: {m}");
            got.insert(id, m["payload"]["data"].clone());
        }
        assert_eq!(
            got["n"],
            json!({"notificationAdded": {"kind": "FOLLOWED", "actorCount": 1, "read": false, "actor": {"username": "ash"}}}),
            "[{l}]"
        );
        assert_eq!(
            got["u"],
            json!({"unreadNotificationCountChanged": 1}),
            "[{l}]"
        );
        assert_eq!(
            got["f"],
            json!({"followerAdded": {"username": "ash"}}),
            "[{l}]"
        );

        // Reading them is a change of the count too; a's own socket hears
        // nothing of b's notifications.
        let mut other = Ws::connect(&sys, Some(&a)).await;
        other
            .subscribe(
                "n",
                "subscription { notificationAdded { kind } }",
                json!({}),
            )
            .await;
        sys.data(
            Some(&b),
            "mutation { markNotificationsRead(all: true) }",
            json!({}),
        )
        .await;
        let m = ws.recv().await;
        assert_eq!(m["id"], "u", "[{l}] {m}");
        assert_eq!(
            m["payload"]["data"],
            json!({"unreadNotificationCountChanged": 0}),
            "[{l}]"
        );
        // A ping round trip after the change: nothing for `a` came before it.
        other.send(json!({"type": "ping"})).await;
        assert_eq!(other.recv().await["type"], "pong", "[{l}]");

        // complete stops one operation; the socket keeps serving the others.
        ws.send(json!({"type": "complete", "id": "n"})).await;
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong", "[{l}]");
        sys.stop().await;
    }
}

#[tokio::test]
async fn two_members_chat_live_and_a_non_member_is_refused() {
    for sys in systems().await {
        let l = sys.label;
        let (a, a_id) = sys.register("ripley").await;
        let (b, b_id) = sys.register("hicks").await;
        let (c, _) = sys.register("burke").await;
        let room = create_room(&sys, &a, &[&b_id], None).await;
        let messages = "subscription($r: ID!) { chatMessageAdded(roomId: $r) { body roomId author { id username } } }";

        let mut ws_a = Ws::connect(&sys, Some(&a)).await;
        ws_a.subscribe("m", messages, json!({"r": room})).await;
        let mut ws_b = Ws::connect(&sys, Some(&b)).await;
        ws_b.subscribe("m", messages, json!({"r": room})).await;
        ws_b.subscribe(
            "t",
            "subscription($r: ID!) { chatTyping(roomId: $r) { roomId user { username } } }",
            json!({"r": room}),
        )
        .await;
        let mut sse_b = Sse::subscribe(&sys, &b, messages, json!({"r": room})).await;

        sys.data(
            Some(&a),
            "mutation($r: ID!) { sendChatTyping(roomId: $r) { at } }",
            json!({"r": room}),
        )
        .await;
        let typing = ws_b.recv().await;
        assert_eq!(typing["id"], "t", "[{l}] {typing}");
        assert_eq!(
            typing["payload"]["data"]["chatTyping"],
            json!({"roomId": room, "user": {"username": "ripley"}}),
            "[{l}]"
        );

        say(&sys, &a, &room, "get away from her").await;
        let expected = json!({"chatMessageAdded": {
            "body": "get away from her", "roomId": room,
            "author": {"id": a_id, "username": "ripley"},
        }});
        for ws in [&mut ws_a, &mut ws_b] {
            let m = ws.recv().await;
            assert_eq!(
                (&m["type"], &m["id"]),
                (&json!("next"), &json!("m")),
                "[{l}] {m}"
            );
            assert_eq!(m["payload"]["data"], expected, "[{l}]");
        }
        let (event, data) = sse_b.next().await;
        assert_eq!(event, "next", "[{l}] {data}");
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["data"], expected, "[{l}]");

        say(&sys, &b, &room, "affirmative").await;
        let m = ws_a.recv().await;
        assert_eq!(
            m["payload"]["data"]["chatMessageAdded"]["author"]["username"], "hicks",
            "[{l}] {m}"
        );

        // Not a member: refused at subscribe time, on both transports.
        let mut ws_c = Ws::connect(&sys, Some(&c)).await;
        ws_c.send(json!({"type": "subscribe", "id": "x", "payload": {"query": messages, "variables": {"r": room}}}))
            .await;
        let m = ws_c.recv().await;
        assert_eq!(
            (&m["type"], &m["id"]),
            (&json!("error"), &json!("x")),
            "[{l}] {m}"
        );
        assert_eq!(
            m["payload"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] {m}"
        );
        let r = Sse::post(&sys, Some(&c), messages, json!({"r": room})).await;
        assert_eq!(r.status(), 403, "[{l}]");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] {body}"
        );
        // The refused id is free again; typing is members-only too.
        ws_c.send(json!({"type": "subscribe", "id": "x", "payload": {"query": "subscription($r: ID!) { chatTyping(roomId: $r) { at } }", "variables": {"r": room}}}))
            .await;
        assert_eq!(ws_c.recv().await["type"], "error", "[{l}]");
        let r = sys
            .gql(
                Some(&c),
                "mutation($r: ID!) { sendChatTyping(roomId: $r) { at } }",
                json!({"r": room}),
            )
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] {r}"
        );
        // Open streams would hold the server's graceful shutdown.
        drop((ws_a, ws_b, ws_c, sse_b));
        sys.stop().await;
    }
}

#[tokio::test]
async fn anonymous_and_malformed_subscriptions_are_refused() {
    for sys in systems().await {
        let l = sys.label;
        // Over HTTP without a stream: told where subscriptions are served.
        let r = sys
            .gql(
                None,
                "subscription { reviewAdded(titleId: \"x\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "[{l}] {r}"
        );

        let mut ws = Ws::connect(&sys, None).await;
        ws.send(json!({"type": "subscribe", "id": "1", "payload": {"query": "subscription { notificationAdded { id } }"}}))
            .await;
        let m = ws.recv().await;
        assert_eq!(m["type"], "error", "[{l}] {m}");
        assert_eq!(
            m["payload"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "[{l}] {m}"
        );
        ws.send(
            json!({"type": "subscribe", "id": "2", "payload": {"query": "subscription { nope }"}}),
        )
        .await;
        let m = ws.recv().await;
        assert_eq!(m["type"], "error", "[{l}] {m}");
        assert_eq!(
            m["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "[{l}] {m}"
        );
        // Queries run over the socket too: one `next`, then `complete`.
        ws.send(json!({"type": "subscribe", "id": "3", "payload": {"query": "{ __typename }"}}))
            .await;
        let m = ws.recv().await;
        assert_eq!(m["payload"]["data"]["__typename"], "Query", "[{l}] {m}");
        assert_eq!(
            ws.recv().await,
            json!({"type": "complete", "id": "3"}),
            "[{l}]"
        );

        let r = Sse::post(
            &sys,
            None,
            "subscription { notificationAdded { id } }",
            json!({}),
        )
        .await;
        assert_eq!(r.status(), 401, "[{l}]");
        sys.stop().await;
    }
}

#[tokio::test]
async fn protocol_faults_close_the_socket_with_their_codes() {
    for sys in systems().await {
        let l = sys.label;
        let subscribe = json!({"type": "subscribe", "id": "1", "payload": {"query": "subscription { reviewAdded(titleId: \"00000000-0000-0000-0000-000000000001\") { id } }"}});

        let mut ws = Ws::open(&sys).await;
        ws.send(subscribe.clone()).await;
        assert_eq!(
            ws.closed().await.0,
            4401,
            "[{l}] subscribe before connection_init"
        );

        let mut ws = Ws::connect(&sys, None).await;
        ws.send(json!({"type": "connection_init"})).await;
        assert_eq!(ws.closed().await.0, 4429, "[{l}] a second connection_init");

        let mut ws = Ws::connect(&sys, None).await;
        ws.subscribe(
            "1",
            subscribe["payload"]["query"].as_str().unwrap(),
            json!({}),
        )
        .await;
        ws.send(subscribe.clone()).await;
        assert_eq!(ws.closed().await.0, 4409, "[{l}] a duplicate id");

        let mut ws = Ws::open(&sys).await;
        ws.send(
            json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}),
        )
        .await;
        assert_eq!(ws.closed().await.0, 4403, "[{l}] a bad token");

        let mut ws = Ws::connect(&sys, None).await;
        ws.send(json!({"type": "no_such_type"})).await;
        assert_eq!(ws.closed().await.0, 4400, "[{l}] an unknown message");

        // Without the subprotocol the socket is refused by code as well.
        let url = sys.url("/graphql").replacen("http://", "ws://", 1);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let close = tokio::time::timeout(PATIENCE, socket.next()).await.unwrap();
        match close {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::from(4406), "[{l}]")
            }
            other => panic!("[{l}] expected a close, got {other:?}"),
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_reconnecting_member_resumes_after_the_last_event_it_received() {
    for mut sys in systems().await {
        let l = sys.label;
        let (a, _) = sys.register("dallas").await;
        let (b, b_id) = sys.register("lambert").await;
        let room = create_room(&sys, &a, &[&b_id], None).await;
        let query = "subscription($r: ID!, $after: ID) { chatMessageAdded(roomId: $r, after: $after) { body } }";
        let body = |m: &Value| m["payload"]["data"]["chatMessageAdded"]["body"].clone();

        let mut ws = Ws::connect(&sys, Some(&b)).await;
        ws.subscribe("m", query, json!({"r": room})).await;
        say(&sys, &a, &room, "one").await;
        say(&sys, &a, &room, "two").await;
        assert_eq!(body(&ws.recv().await), "one", "[{l}]");
        let second = ws.recv().await;
        assert_eq!(body(&second), "two", "[{l}] {second}");
        let cursor = second["payload"]["extensions"]["eventId"].clone();
        drop(ws);

        // A deploy: the router goes and comes back while messages are sent.
        sys.restart_router().await;
        say(&sys, &a, &room, "three").await;
        say(&sys, &a, &room, "four").await;
        let mut ws = Ws::connect(&sys, Some(&b)).await;
        ws.subscribe("m", query, json!({"r": room, "after": cursor}))
            .await;
        say(&sys, &a, &room, "five").await;
        let mut got = Vec::new();
        while got.len() < 3 {
            let m = ws.recv().await;
            assert_eq!(m["type"], "next", "[{l}] {m}");
            got.push(body(&m));
        }
        assert_eq!(got, ["three", "four", "five"], "[{l}]");
        // Nothing else is pending: the next message is the answer to a ping.
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong", "[{l}]");
        drop(ws);
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_member_removed_from_a_room_stops_receiving_it() {
    for sys in systems().await {
        let l = sys.label;
        let (a, _) = sys.register("kane").await;
        let (b, b_id) = sys.register("parker").await;
        let (c, c_id) = sys.register("brett").await;
        let room = create_room(&sys, &a, &[&b_id, &c_id], Some("nostromo")).await;
        let messages = "subscription($r: ID!) { chatMessageAdded(roomId: $r) { body } }";
        let typing = "subscription($r: ID!) { chatTyping(roomId: $r) { user { username } } }";
        let mut ws_b = Ws::connect(&sys, Some(&b)).await;
        ws_b.subscribe("m", messages, json!({"r": room})).await;
        let mut ws_c = Ws::connect(&sys, Some(&c)).await;
        ws_c.subscribe("m", messages, json!({"r": room})).await;
        ws_c.subscribe("t", typing, json!({"r": room})).await;
        let mut sse_c = Sse::subscribe(&sys, &c, messages, json!({"r": room})).await;

        say(&sys, &a, &room, "crew expendable").await;
        for ws in [&mut ws_b, &mut ws_c] {
            let m = ws.recv().await;
            assert_eq!(
                m["payload"]["data"]["chatMessageAdded"]["body"], "crew expendable",
                "[{l}] {m}"
            );
        }
        assert_eq!(sse_c.next().await.0, "next", "[{l}]");

        // Only the creator removes others; a direct room keeps its pair.
        let r = sys
            .gql(
                Some(&b),
                "mutation($r: ID!, $u: ID!) { removeChatMember(roomId: $r, userId: $u) }",
                json!({"r": room, "u": c_id}),
            )
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] {r}"
        );
        let d = sys
            .data(
                Some(&a),
                "mutation($r: ID!, $u: ID!) { removeChatMember(roomId: $r, userId: $u) }",
                json!({"r": room, "u": c_id}),
            )
            .await;
        assert_eq!(d["removeChatMember"], true, "[{l}]");

        // Both of C's operations end with the reason, then complete.
        let mut ended = std::collections::HashSet::new();
        let mut completed = std::collections::HashSet::new();
        while completed.len() < 2 {
            let m = ws_c.recv().await;
            let id = m["id"].as_str().unwrap_or_default().to_string();
            match m["type"].as_str() {
                Some("next") => {
                    assert_eq!(
                        m["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
                        "[{l}] {m}"
                    );
                    ended.insert(id);
                }
                Some("complete") => {
                    assert!(ended.contains(&id), "[{l}] {id} completed without a reason");
                    completed.insert(id);
                }
                _ => panic!("[{l}] {m}"),
            }
        }
        let (event, data) = sse_c.next().await;
        assert_eq!(event, "next", "[{l}] {data}");
        assert!(data.contains("FORBIDDEN"), "[{l}] {data}");
        assert_eq!(sse_c.next().await.0, "complete", "[{l}]");

        say(&sys, &a, &room, "after brett").await;
        let m = ws_b.recv().await;
        assert_eq!(
            m["payload"]["data"]["chatMessageAdded"]["body"], "after brett",
            "[{l}] {m}"
        );
        // C hears nothing more, and may not subscribe again.
        ws_c.send(json!({"type": "ping", "payload": {"n": 1}}))
            .await;
        assert_eq!(ws_c.recv().await["type"], "pong", "[{l}]");
        ws_c.send(json!({"type": "subscribe", "id": "again", "payload": {"query": messages, "variables": {"r": room}}}))
            .await;
        let m = ws_c.recv().await;
        assert_eq!(
            (&m["type"], &m["payload"][0]["extensions"]["code"]),
            (&json!("error"), &json!("FORBIDDEN")),
            "[{l}] {m}"
        );

        // B leaves by themselves; C is added back by the creator.
        let d = sys
            .data(
                Some(&b),
                "mutation($r: ID!) { leaveChatRoom(roomId: $r) }",
                json!({"r": room}),
            )
            .await;
        assert_eq!(d["leaveChatRoom"], true, "[{l}]");
        let d = sys
            .data(
                Some(&a),
                "mutation($r: ID!, $m: [ID!]!) { addChatMembers(roomId: $r, memberIds: $m) { members { username } } }",
                json!({"r": room, "m": [c_id]}),
            )
            .await;
        let mut names: Vec<String> = d["addChatMembers"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["brett", "kane"], "[{l}]");
        let m = ws_b.recv().await;
        assert_eq!(
            m["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] {m}"
        );
        assert_eq!(ws_b.recv().await["type"], "complete", "[{l}]");
        drop((ws_b, ws_c, sse_c));
        sys.stop().await;
    }
}

#[tokio::test]
async fn notifications_and_chat_catch_up_after_nats_restarts() {
    use kit::testing::OwnNats;
    if OwnNats::binary().is_none() {
        assert!(
            !kit::testing::services_required(),
            "nats-server is required to run this test"
        );
        eprintln!("skipping: no nats-server binary");
        return;
    }
    let nats = OwnNats::start(kit::testing::free_port(), tempfile::tempdir().unwrap());
    let url = nats.url();
    let sys = System::start_with(kit::testing::TestSystem::embedded(), false, |c| {
        c.router.rate_limit.auth.per_minute = 10_000;
        c.bus.url = Some(url.clone());
        c.bus.subject_prefix = "restart".into();
        c.bus.stream = "RESTART".into();
    })
    .await;
    let l = "own NATS";
    let (a, _) = sys.register("bishop").await;
    let (b, b_id) = sys.register("vasquez").await;
    let (c, _) = sys.register("gorman").await;
    let room = create_room(&sys, &a, &[&b_id], None).await;
    let mut ws = Ws::connect(&sys, Some(&b)).await;
    ws.subscribe(
        "n",
        "subscription { notificationAdded { kind actor { username } } }",
        json!({}),
    )
    .await;
    ws.subscribe(
        "m",
        "subscription($r: ID!) { chatMessageAdded(roomId: $r) { body } }",
        json!({"r": room}),
    )
    .await;
    say(&sys, &a, &room, "before").await;
    assert_eq!(
        ws.recv().await["payload"]["data"]["chatMessageAdded"]["body"],
        "before",
        "[{l}]"
    );

    // NATS goes away; writes go on and their events wait in the outboxes.
    let (port, dir) = nats.stop();
    for i in 0..3 {
        say(&sys, &a, &room, &format!("while down {i}")).await;
    }
    sys.data(
        Some(&c),
        "mutation($u: ID!) { follow(userId: $u) { id } }",
        json!({"u": b_id}),
    )
    .await;
    let nats = OwnNats::start(port, dir);
    for i in 3..5 {
        say(&sys, &a, &room, &format!("after {i}")).await;
    }

    let mut bodies = Vec::new();
    let mut notifications = Vec::new();
    while bodies.len() < 5 || notifications.is_empty() {
        let m = ws.recv().await;
        assert_eq!(m["type"], "next", "[{l}] {m}");
        match m["id"].as_str() {
            Some("m") => bodies.push(
                m["payload"]["data"]["chatMessageAdded"]["body"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            Some("n") => notifications.push(m["payload"]["data"]["notificationAdded"].clone()),
            _ => panic!("[{l}] {m}"),
        }
    }
    assert_eq!(
        bodies,
        [
            "while down 0",
            "while down 1",
            "while down 2",
            "after 3",
            "after 4"
        ],
        "[{l}] in order, each once"
    );
    assert_eq!(
        notifications,
        [json!({"kind": "FOLLOWED", "actor": {"username": "gorman"}})],
        "[{l}]"
    );
    // No duplicate is on its way: the next message answers a ping.
    tokio::time::sleep(Duration::from_millis(500)).await;
    ws.send(json!({"type": "ping", "payload": {"n": 2}})).await;
    assert_eq!(ws.recv().await["type"], "pong", "[{l}]");
    drop(ws);
    sys.stop().await;
    nats.stop();
}

#[tokio::test]
async fn new_comments_and_reviews_stream_over_sse() {
    for sys in systems().await {
        let l = sys.label;
        let (a, _) = sys.register("vasquez").await;
        let (b, _) = sys.register("frost").await;
        let post = sys
            .data(
                Some(&a),
                "mutation { createPost(input: { body: \"stay frosty\" }) { id } }",
                json!({}),
            )
            .await["createPost"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let title = "00000000-0000-7000-8000-000000000042";
        let mut comments = Sse::subscribe(
            &sys,
            &a,
            "subscription($p: ID!) { commentAdded(postId: $p) { body postId author { username } } }",
            json!({"p": post}),
        )
        .await;
        let mut reviews = Sse::subscribe(
            &sys,
            &a,
            "subscription($t: ID!) { reviewAdded(titleId: $t) { body score author { username } } }",
            json!({"t": title}),
        )
        .await;
        sys.data(
            Some(&b),
            "mutation($p: ID!) { addComment(input: { postId: $p, body: \"affirmative\" }) { id } }",
            json!({"p": post}),
        )
        .await;
        sys.data(
            Some(&b),
            "mutation($t: ID!) { writeReview(input: { titleId: $t, body: \"game over, man\", score: 9 }) { id } }",
            json!({"t": title}),
        )
        .await;
        let (event, data) = comments.next().await;
        assert_eq!(event, "next", "[{l}] {data}");
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            data["data"]["commentAdded"],
            json!({"body": "affirmative", "postId": post, "author": {"username": "frost"}}),
            "[{l}] {data}"
        );
        let (event, data) = reviews.next().await;
        assert_eq!(event, "next", "[{l}] {data}");
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            data["data"]["reviewAdded"],
            json!({"body": "game over, man", "score": 9, "author": {"username": "frost"}}),
            "[{l}] {data}"
        );
        drop((comments, reviews));
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_socket_is_closed_when_its_access_token_expires() {
    let systems = System::all_with(false, |c| c.auth.access_token_ttl_secs = 2).await;
    for sys in systems {
        let l = sys.label;
        let (b, _) = sys.register("gorman").await;
        let mut ws = Ws::open(&sys).await;
        ws.send(
            json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {b}")}}),
        )
        .await;
        // Acknowledged (or already expired on a slow run): closed with 4403 either way.
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 4403, "[{l}] {reason}");
        assert!(reason.contains("expired"), "[{l}] {reason}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn signing_out_everywhere_closes_the_socket() {
    for sys in systems().await {
        let l = sys.label;
        let (b, _) = sys.register("hudson").await;
        let mut ws = Ws::connect(&sys, Some(&b)).await;
        ws.subscribe("n", "subscription { notificationAdded { id } }", json!({}))
            .await;
        let mut sse = Sse::subscribe(
            &sys,
            &b,
            "subscription { notificationAdded { id } }",
            json!({}),
        )
        .await;
        sys.data(Some(&b), "mutation { logoutAll }", json!({}))
            .await;
        // The router verifies a socket's token again every 10 s.
        let (code, reason) = tokio::time::timeout(PATIENCE * 2, ws.closed_eventually())
            .await
            .unwrap_or_else(|_| panic!("[{l}] the socket stayed open"));
        assert_eq!(code, 4403, "[{l}] {reason}");
        // The SSE stream completes at its own check.
        assert_eq!(sse.next().await.0, "complete", "[{l}]");
        drop(sse);
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_suspended_users_socket_is_closed() {
    for sys in System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await {
        let l = sys.label;
        let admin = sys.token_of("ADMIN").await;
        let (b, b_id) = sys.register("frost").await;
        let mut ws = Ws::connect(&sys, Some(&b)).await;
        ws.subscribe("n", "subscription { notificationAdded { id } }", json!({}))
            .await;
        let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        sys.data(
            Some(&admin),
            "mutation($id: ID!, $u: DateTime!) { suspendUser(userId: $id, until: $u, reason: \"spam\") { id } }",
            json!({"id": b_id, "u": until}),
        )
        .await;
        // Suspension revokes the account's sessions, which the router checks
        // on every open socket every 10 s.
        let (code, reason) = tokio::time::timeout(PATIENCE * 2, ws.closed_eventually())
            .await
            .unwrap_or_else(|_| panic!("[{l}] the suspended user's socket stayed open"));
        assert_eq!(code, 4403, "[{l}] {reason}");
        // And the token opens no new one.
        let mut again = Ws::open(&sys).await;
        again
            .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {b}")}}))
            .await;
        assert_eq!(again.closed().await.0, 4403, "[{l}]");
        sys.stop().await;
    }
}

#[tokio::test]
async fn operations_over_a_socket_count_against_the_rate_limits() {
    // The default limits: 5 authentication operations a minute per client.
    for sys in System::all(false).await {
        let l = sys.label;
        let mut ws = Ws::connect(&sys, None).await;
        let login = "mutation { login(input: { login: \"nobody\", password: \"wrong password here\" }) { accessToken } }";
        let mut codes = Vec::new();
        for i in 0..6 {
            let id = format!("l{i}");
            ws.send(json!({"type": "subscribe", "id": id, "payload": {"query": login}}))
                .await;
            let m = ws.recv().await;
            // A refusal before execution is the protocol's `error` message;
            // an operation that ran answers `next` (its errors inside) and `complete`.
            if m["type"] == "error" {
                codes.push(m["payload"][0]["extensions"]["code"].clone());
                continue;
            }
            assert_eq!(m["type"], "next", "[{l}] {m}");
            codes.push(m["payload"]["errors"][0]["extensions"]["code"].clone());
            assert_eq!(ws.recv().await["type"], "complete", "[{l}]");
        }
        assert_eq!(codes[5], "RATE_LIMITED", "[{l}] {codes:?}");
        assert!(
            codes[..5].iter().all(|c| c != "RATE_LIMITED"),
            "[{l}] {codes:?}"
        );
        sys.stop().await;
    }
}
