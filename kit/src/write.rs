//! The two ends of every subgraph write: its events go into the outbox in the
//! write's own transaction (so a change and its event are never apart), and
//! the commit wakes the outbox relay (the events leave now, not at its next
//! poll) and bumps the cache tags whose cached answers the write made stale.

use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::events::enqueue;
use crate::{Error, Services};

impl Services {
    /// Writes the event `<subgraph>.<name>` (its subject extended by
    /// `routed` tokens, e.g. a user or room id) to the outbox on `conn`.
    pub async fn record_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<String>,
        payload: serde_json::Value,
        routed: &[&str],
    ) -> Result<(), Error> {
        let event = self.event(name, actor, payload).routed(routed);
        enqueue(conn, &event).await?;
        Ok(())
    }

    /// Commits `txn`, wakes the outbox relay and bumps every tag in `tags`.
    pub async fn commit(&self, txn: DatabaseTransaction, tags: &[&str]) -> Result<(), Error> {
        txn.commit().await?;
        self.relay.waker().notify_one();
        for tag in tags {
            self.bump_tag(tag).await;
        }
        Ok(())
    }

    /// Orphans the answers cached under `tag`. A cache that fails is logged,
    /// not fatal: the write is committed and its cached answers expire.
    pub async fn bump_tag(&self, tag: &str) {
        if let Err(e) = self.cache.bump_tag(tag).await {
            tracing::warn!(error = %e, tag, subgraph = self.name, "cannot invalidate cached answers");
        }
    }
}
