//! The events of the social subgraph. It publishes through the outbox, in
//! the transaction of the write that causes them (`store`): `social.
//! post_created`, `comment_created`, `liked`, `followed`, `rating_changed`,
//! `review_created`, `watchlist_changed`, `chat_message_sent`,
//! `chat_members_added`, `chat_member_removed`, `notification_created`, ...
//! It consumes the users subgraph's account events (`UserEvents`).

use std::sync::Arc;

use async_trait::async_trait;
use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::store::Social;

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

/// Starts the durable consumer of the users subgraph's events.
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
}
