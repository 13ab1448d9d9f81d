//! GraphQL over WebSocket, `graphql-transport-ws` (graphql-ws's PROTOCOL.md):
//! `connection_init` within 10 s (its payload may carry
//! `{"authorization": "Bearer <token>"}`), `connection_ack`, `ping`/`pong`,
//! `subscribe` → `next`* then `complete` (or `error`), `complete` from the
//! client stops one operation. Protocol faults close the socket with the
//! protocol's codes: 4400 bad message, 4401 subscribe before ack, 4403 bad,
//! expired or revoked token (checked at `connection_init`, when it expires and
//! every `RECHECK`, so a logout or suspension ends the socket),
//! 4406 wrong subprotocol, 4408 no `connection_init` in time, 4409 duplicate
//! operation id, 4429 second `connection_init`, 4500 internal error.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue};
use kit::auth::Claims;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{Live, Started};
use crate::admission::Transport;
use crate::engine::GraphqlRequest;
use crate::policy::Caller;
use crate::response::GraphqlError;

pub(crate) const PROTOCOL: &str = "graphql-transport-ws";
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a signed-in socket's token is verified again, so a logout or a
/// suspension (the session revoked) ends the socket too.
pub(crate) const RECHECK: Duration = Duration::from_secs(10);
/// Operations one socket may run at once.
const MAX_OPERATIONS: usize = 100;
/// Largest client message accepted.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: GraphqlRequest,
    },
    Complete {
        id: String,
    },
}

/// Why the server ends a socket.
struct Close(u16, String);

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        // A close frame's reason fits in 123 bytes (RFC 6455, 5.5).
        let mut reason = reason.into();
        if reason.len() > 123 {
            let mut end = 120;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            reason.push_str("...");
        }
        Self(code, reason)
    }
}

/// Runs one socket until either side ends it. `headers` are the upgrade
/// request's (an `Authorization` there counts when `connection_init` has none),
/// `forward` what subgraphs get besides the token (request id, trace).
pub(crate) async fn serve(
    live: Arc<Live>,
    socket: WebSocket,
    protocol_ok: bool,
    headers: HeaderMap,
    forward: HeaderMap,
    ip: Option<IpAddr>,
    _slot: super::caps::Slot,
) {
    let (sink, mut incoming) = socket.split();
    let tx = Out(Arc::new(tokio::sync::Mutex::new(sink)));
    let close = if protocol_ok {
        run(&live, &mut incoming, &tx, headers, forward, ip).await
    } else {
        Some(Close::new(4406, "Subprotocol not acceptable"))
    };
    if let Some(Close(code, reason)) = close {
        let _ = tx
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    let _ = tx.0.lock().await.close().await;
}

/// Closes a socket refused by a connection cap with its code.
pub(crate) async fn refuse(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// The socket's sending half, shared by the connection and its operations:
/// whoever has a message writes it (no writer task and channel in between,
/// one wake-up less per delivery); a client that reads slowly slows its own
/// operations down, and one too far behind skips events (see `Subscription`).
#[derive(Clone)]
struct Out(Arc<tokio::sync::Mutex<futures::stream::SplitSink<WebSocket, Message>>>);

impl Out {
    async fn send(&self, message: Message) -> Result<(), axum::Error> {
        self.0.lock().await.send(message).await
    }
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

async fn run(
    live: &Arc<Live>,
    incoming: &mut futures::stream::SplitStream<WebSocket>,
    tx: &Out,
    headers: HeaderMap,
    forward: HeaderMap,
    ip: Option<IpAddr>,
) -> Option<Close> {
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let mut caller: Option<Arc<(Caller, HeaderMap)>> = None;
    // Far in the future until a token with an expiry is accepted.
    let expiry = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(expiry);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    let mut operations: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let outcome = loop {
        tokio::select! {
            _ = &mut init_deadline, if caller.is_none() => {
                break Some(Close::new(4408, "Connection initialisation timeout"));
            }
            _ = &mut expiry => {
                break Some(Close::new(4403, "Forbidden: the access token expired"));
            }
            // A signed-in socket's session is checked again every `RECHECK`.
            _ = recheck.tick(), if caller.as_ref().is_some_and(|c| c.0.claims.is_some()) => {
                let claims = caller.as_ref().and_then(|c| c.0.claims.as_ref());
                if let (Some(claims), Some(verifier)) = (claims, live.verifier()) {
                    if let Err(e) = verifier.still_valid(claims).await {
                        break Some(Close::new(4403, format!("Forbidden: {e}")));
                    }
                }
            }
            Some(id) = done_rx.recv() => {
                operations.remove(&id);
            }
            message = incoming.next() => {
                let raw = match message {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        break Some(Close::new(4400, "Messages are JSON text"));
                    }
                    // Transport-level pings are answered by the WebSocket layer.
                    Some(Ok(_)) => continue,
                };
                if raw.len() > MAX_MESSAGE_BYTES {
                    break Some(Close::new(4400, "Message too large"));
                }
                let message = match serde_json::from_str::<ClientMessage>(&raw) {
                    Ok(m) => m,
                    Err(e) => break Some(Close::new(4400, format!("Invalid message: {e}"))),
                };
                match message {
                    ClientMessage::ConnectionInit { payload } => {
                        if caller.is_some() {
                            break Some(Close::new(4429, "Too many initialisation requests"));
                        }
                        match Box::pin(authenticate(live, payload.as_ref(), &headers)).await {
                            Ok((claims, value)) => {
                                if let Some(exp) = claims.as_ref().map(|c| c.exp) {
                                    let left = exp - chrono_now();
                                    if left <= 0 {
                                        break Some(Close::new(4403, "Forbidden: the access token expired"));
                                    }
                                    expiry.as_mut().reset(
                                        tokio::time::Instant::now() + Duration::from_secs(left as u64),
                                    );
                                }
                                let mut subgraph_headers = forward.clone();
                                if let Some(t) = value {
                                    subgraph_headers.insert(header::AUTHORIZATION, t);
                                }
                                caller = Some(Arc::new((Caller { claims, ip }, subgraph_headers)));
                                if tx.send(text(json!({"type": "connection_ack"}))).await.is_err() {
                                    break None;
                                }
                            }
                            Err(e) => break Some(Close::new(4403, format!("Forbidden: {}", e.message))),
                        }
                    }
                    ClientMessage::Ping { payload } => {
                        let mut pong = json!({"type": "pong"});
                        if let Some(p) = payload {
                            pong["payload"] = p;
                        }
                        if tx.send(text(pong)).await.is_err() {
                            break None;
                        }
                    }
                    ClientMessage::Pong {} => {}
                    ClientMessage::Subscribe { id, payload } => {
                        let Some(who) = caller.clone() else {
                            break Some(Close::new(4401, "Unauthorized"));
                        };
                        if operations.contains_key(&id) {
                            break Some(Close::new(4409, format!("Subscriber for {id} already exists")));
                        }
                        if operations.len() >= MAX_OPERATIONS {
                            let error = GraphqlError::new(
                                kit::ErrorCode::QueryTooComplex,
                                format!("at most {MAX_OPERATIONS} operations at once on one socket"),
                            );
                            let _ = tx.send(text(json!({"type": "error", "id": id, "payload": [error]}))).await;
                            continue;
                        }
                        // Started here, before the next message is read: a
                        // `ping` sent after `subscribe` is answered once the
                        // subscription listens, so a client can wait for it.
                        let (caller, headers) = &*who;
                        // Boxed: the socket's task would otherwise hold room for the
                        // largest future it ever awaits, for as long as it lives.
                        let started = Box::pin(live.start(payload, caller, headers.clone(), Transport::WebSocket)).await;
                        let sent = match started {
                            Err(rejection) => {
                                let errors = rejection.into_errors();
                                tx.send(text(json!({"type": "error", "id": id, "payload": errors}))).await
                            }
                            Ok(Started::Single(response)) => {
                                let next = tx.send(text(json!({"type": "next", "id": id, "payload": response}))).await;
                                match next {
                                    Ok(()) => tx.send(text(json!({"type": "complete", "id": id}))).await,
                                    Err(e) => Err(e),
                                }
                            }
                            Ok(Started::Stream(subscription)) => {
                                let task = tokio::spawn(forward_events(
                                    subscription,
                                    id.clone(),
                                    tx.clone(),
                                    done_tx.clone(),
                                ));
                                operations.insert(id, task);
                                Ok(())
                            }
                        };
                        if sent.is_err() {
                            break None;
                        }
                    }
                    ClientMessage::Complete { id } => {
                        if let Some(task) = operations.remove(&id) {
                            task.abort();
                        }
                    }
                }
            }
        }
    };
    for (_, task) in operations {
        task.abort();
    }
    outcome
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The claims of the token in the `connection_init` payload (or the upgrade
/// request), and the `Authorization` value subgraphs get.
async fn authenticate(
    live: &Live,
    payload: Option<&Value>,
    upgrade_headers: &HeaderMap,
) -> Result<(Option<Claims>, Option<HeaderValue>), GraphqlError> {
    let from_payload = payload.and_then(Value::as_object).and_then(|p| {
        p.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
    });
    let value = match from_payload {
        Some(v) => Some(HeaderValue::from_str(v).map_err(|_| {
            GraphqlError::new(
                kit::ErrorCode::Unauthenticated,
                "the authorization value is not a header value",
            )
        })?),
        None => upgrade_headers.get(header::AUTHORIZATION).cloned(),
    };
    let Some(value) = value else {
        return Ok((None, None));
    };
    let Some(verifier) = live.verifier() else {
        return Ok((None, Some(value)));
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    let claims = crate::policy::identify(verifier, &headers).await?;
    Ok((claims, Some(value)))
}

/// Sends a subscription's events as `next` messages until it ends, then
/// `complete`, and reports its id as done.
async fn forward_events(
    mut subscription: Box<super::Subscription>,
    id: String,
    tx: Out,
    done: mpsc::UnboundedSender<String>,
) {
    // The payload is shared JSON text: spliced in, not parsed again.
    let head = format!(r#"{{"type":"next","id":{},"payload":"#, json!(id));
    while let Some(d) = subscription.next().await {
        let mut message = String::with_capacity(head.len() + d.payload.len() + 1);
        message.push_str(&head);
        message.push_str(&d.payload);
        message.push('}');
        if tx.send(Message::Text(message.into())).await.is_err() || d.ends {
            break;
        }
    }
    let _ = tx.send(text(json!({"type": "complete", "id": id}))).await;
    let _ = done.send(id);
}
