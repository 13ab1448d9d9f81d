//! The events of the social subgraph. It publishes through the outbox, in
//! the transaction of the write that causes them (`store`): `social.
//! post_created`, `comment_created`, `liked`, `followed`, `rating_changed`,
//! `review_created`, `watchlist_changed`, `chat_message_sent`,
//! `chat_members_added`, `chat_member_removed`, `notification_created`, ...
//! It consumes the users subgraph's account events (`UserEvents`) and the
//! moderation subgraph's decisions (`ModerationEvents`).

use std::sync::Arc;

use async_trait::async_trait;
use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::store::{Decision, Social, Target};

/// The events of the users subgraph this one follows.
pub const USER_EVENTS: [&str; 3] = ["user_registered", "user_updated", "user_deleted"];

/// Applies the users subgraph's events to the social graph.
pub struct UserEvents(pub Arc<Social>);

#[async_trait]
impl Handler for UserEvents {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let user = event
            .payload
            .get("userId")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| anyhow::anyhow!("{} without a userId", event.event_type))?;
        let username = event.payload.get("username").and_then(|v| v.as_str());
        let done = match event.event_type.as_str() {
            "users.user_registered" => self.0.upsert_profile(txn, user, username).await,
            "users.user_updated" if username.is_some() => {
                self.0.upsert_profile(txn, user, username).await
            }
            "users.user_deleted" => self.0.forget_user(txn, user).await,
            _ => Ok(()),
        };
        done.map_err(|e| match e.cause() {
            Some(c) => anyhow::anyhow!("{}: {c:#}", e.message),
            None => anyhow::anyhow!("{}", e.message),
        })
    }
}

/// The decisions of the moderation subgraph this one carries out.
pub const MODERATION_EVENTS: [&str; 5] = [
    "content_hidden",
    "content_restored",
    "content_deleted",
    "user_banned",
    "user_reinstated",
];

/// Hides, restores and deletes content as moderation decides.
pub struct ModerationEvents(pub Arc<Social>);

fn uuid_at(event: &Event, member: &str) -> anyhow::Result<Uuid> {
    event
        .payload
        .get(member)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| anyhow::anyhow!("{} without a {member}", event.event_type))
}

#[async_trait]
impl Handler for ModerationEvents {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let decision = match event.event_type.as_str() {
            "moderation.content_hidden" => Decision::Hide,
            "moderation.content_deleted" => Decision::Delete,
            "moderation.content_restored" => Decision::Restore,
            "moderation.user_banned" | "moderation.user_reinstated" => {
                let user = uuid_at(event, "userId")?;
                let banned = event.event_type == "moderation.user_banned";
                return self
                    .0
                    .moderate_author(txn, user, banned)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message));
            }
            _ => return Ok(()),
        };
        let id = uuid_at(event, "targetId")?;
        let target = match event.payload.get("targetKind").and_then(|k| k.as_str()) {
            Some("POST") => Target::Post(id),
            Some("COMMENT") => Target::Comment(id),
            Some("REVIEW") => Target::Review(id),
            Some("CHAT_MESSAGE") => {
                return self
                    .0
                    .moderate_message(txn, id, decision)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message))
            }
            // Accounts are not hidden here.
            _ => return Ok(()),
        };
        self.0
            .moderate(txn, target, decision)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))
    }
}

/// Starts the durable consumers of the users and moderation subgraphs' events.
pub fn spawn_consumers(social: &Arc<Social>) {
    let s = &social.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = ConsumerOptions {
        name: "social-users".into(),
        filters: USER_EVENTS
            .iter()
            .map(|e| format!("{prefix}.users.{e}"))
            .collect(),
        subject_prefix: prefix,
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    s.tasks.spawn(run_consumer(
        s.bus.clone(),
        s.db.clone(),
        options,
        Arc::new(UserEvents(social.clone())),
        s.shutdown.clone(),
    ));
    let prefix = s.config.bus.subject_prefix.clone();
    let options = ConsumerOptions {
        name: "social-moderation".into(),
        filters: MODERATION_EVENTS
            .iter()
            .map(|e| format!("{prefix}.moderation.{e}"))
            .collect(),
        subject_prefix: prefix,
        max_deliver: s.config.bus.max_deliver.max(1) as u64,
    };
    s.tasks.spawn(run_consumer(
        s.bus.clone(),
        s.db.clone(),
        options,
        Arc::new(ModerationEvents(social.clone())),
        s.shutdown.clone(),
    ));
}
