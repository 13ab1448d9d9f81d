//! The events of the moderation subgraph. It publishes through the outbox,
//! in the transaction of the write that causes them (`store`):
//! `moderation.report_filed`, `appeal_filed`, and the actions that other
//! subgraphs carry out: `content_hidden`, `content_restored`,
//! `content_deleted` (social), `user_warned`, `user_suspended`,
//! `user_banned`, `user_reinstated` (users; social hides and restores a
//! banned account's content). It consumes social's text events (every post,
//! comment, review and chat message written, edited or deleted, with its
//! text) for the flag rules, and users' registrations for account age.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::store::content::Written;
use crate::store::{Moderation, Target};

/// The social events whose text the flag rules read, with the payload member
/// that holds the id and the kind of target. Events routed by a key (a post,
/// a room, a title) are matched with and without it.
pub const SOCIAL_EVENTS: [(&str, &str, &str); 10] = [
    ("post_created", "postId", "POST"),
    ("post_edited", "postId", "POST"),
    ("post_deleted", "postId", "POST"),
    ("comment_created", "commentId", "COMMENT"),
    ("comment_edited", "commentId", "COMMENT"),
    ("comment_deleted", "commentId", "COMMENT"),
    ("review_created", "reviewId", "REVIEW"),
    ("review_edited", "reviewId", "REVIEW"),
    ("review_deleted", "reviewId", "REVIEW"),
    ("chat_message_sent", "messageId", "CHAT_MESSAGE"),
];

/// Applies social's and users' events to moderation's copies.
pub struct Incoming(pub Arc<Moderation>);

fn uuid_at(event: &Event, member: &str) -> anyhow::Result<Uuid> {
    event
        .payload
        .get(member)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| anyhow::anyhow!("{} without a {member}", event.event_type))
}

#[async_trait]
impl Handler for Incoming {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let Some(name) = event.event_type.strip_prefix("social.") else {
            if event.event_type == "users.user_registered" {
                let user = uuid_at(event, "userId")?;
                self.0
                    .account_registered(txn, user, event.occurred_at)
                    .await
                    .map_err(as_anyhow)?;
            }
            return Ok(());
        };
        let Some((_, member, kind)) = SOCIAL_EVENTS.iter().find(|(n, _, _)| *n == name) else {
            return Ok(());
        };
        let id = uuid_at(event, member)?;
        let target = Target::of(kind, id).expect("the table's kinds are target kinds");
        if name.ends_with("_deleted") {
            return self.0.content_deleted(txn, target).await.map_err(as_anyhow);
        }
        // An event from before social carried text has nothing to read.
        let Some(body) = event.payload.get("body").and_then(|b| b.as_str()) else {
            return Ok(());
        };
        let author = uuid_at(event, "authorId")?;
        let at = event
            .payload
            .get("createdAt")
            .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
            .unwrap_or(event.occurred_at);
        self.0
            .ingest(
                txn,
                Written {
                    target,
                    author,
                    body: body.to_string(),
                    at,
                },
            )
            .await
            .map_err(as_anyhow)?;
        Ok(())
    }
}

fn as_anyhow(e: kit::Error) -> anyhow::Error {
    match e.cause() {
        Some(c) => anyhow::anyhow!("{}: {c:#}", e.message),
        None => anyhow::anyhow!("{}", e.message),
    }
}

/// The subjects the consumer reads under `prefix`.
pub fn filters(prefix: &str) -> Vec<String> {
    let mut out = vec![format!("{prefix}.users.user_registered")];
    for (name, _, _) in SOCIAL_EVENTS {
        out.push(format!("{prefix}.social.{name}"));
        out.push(format!("{prefix}.social.{name}.>"));
    }
    out
}

/// Starts the durable consumer of social's and users' events.
pub fn spawn_consumers(moderation: &Arc<Moderation>) {
    let s = &moderation.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = ConsumerOptions {
        name: "moderation-content".into(),
        filters: filters(&prefix),
        subject_prefix: prefix,
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    s.tasks.spawn(run_consumer(
        s.bus.clone(),
        s.db.clone(),
        options,
        Arc::new(Incoming(moderation.clone())),
        s.shutdown.clone(),
    ));
}
