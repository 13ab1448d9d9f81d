//! What the users subgraph publishes: each event is written to the outbox by
//! the store in the transaction of the write it describes, and leaves as
//! `users.<name>` (social follows registrations, renames and deletions).
//! It consumes the moderation subgraph's suspensions, bans and
//! reinstatements (`ModerationEvents`), carried out through its own
//! suspension (sessions revoked; the router then closes the sockets).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kit::events::{run_consumer, ConsumerOptions, Event, Handler};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::store::Accounts;

/// A new account: `userId`, `username`, `displayName`.
pub const USER_REGISTERED: &str = "user_registered";
/// A changed profile or a verified address: `userId` and what changed.
pub const USER_UPDATED: &str = "user_updated";
/// An anonymized account: `userId`.
pub const USER_DELETED: &str = "user_deleted";
/// A new role: `userId`, `role`, `previous`.
pub const ROLE_CHANGED: &str = "role_changed";
/// A suspension: `userId`, `until`, `reason`.
pub const USER_SUSPENDED: &str = "user_suspended";

/// The moderation subgraph's decisions about accounts this one carries out.
pub const MODERATION_EVENTS: [&str; 3] = ["user_suspended", "user_banned", "user_reinstated"];

/// Suspends, bans and reinstates accounts as moderation decides.
pub struct ModerationEvents(pub Arc<Accounts>);

#[async_trait]
impl Handler for ModerationEvents {
    async fn handle(&self, event: &Event, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        let user = event
            .payload
            .get("userId")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| anyhow::anyhow!("{} without a userId", event.event_type))?;
        let moderator = event.actor.as_deref().and_then(|a| Uuid::parse_str(a).ok());
        let reason = event
            .payload
            .get("reason")
            .and_then(|v| v.as_str())
            .unwrap_or("moderation");
        let done = match event.event_type.as_str() {
            "moderation.user_suspended" => {
                let until = event
                    .payload
                    .get("until")
                    .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
                    .ok_or_else(|| anyhow::anyhow!("a suspension without an end"))?;
                self.0
                    .suspend_for_moderation(txn, user, Some(until), reason, moderator)
                    .await
            }
            "moderation.user_banned" => {
                self.0
                    .suspend_for_moderation(txn, user, None, reason, moderator)
                    .await
            }
            "moderation.user_reinstated" => {
                self.0.reinstate_for_moderation(txn, user, moderator).await
            }
            _ => Ok(()),
        };
        done.map_err(|e| match e.cause() {
            Some(c) => anyhow::anyhow!("{}: {c:#}", e.message),
            None => anyhow::anyhow!("{}", e.message),
        })
    }
}

/// Starts the durable consumer of the moderation subgraph's account decisions.
pub fn spawn_consumers(accounts: &Arc<Accounts>) {
    let s = &accounts.services;
    let prefix = s.config.bus.subject_prefix.clone();
    let options = ConsumerOptions {
        name: "users-moderation".into(),
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
        Arc::new(ModerationEvents(accounts.clone())),
        s.shutdown.clone(),
    ));
}
