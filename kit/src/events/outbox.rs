//! The transactional outbox: `enqueue` writes an event in the caller's
//! transaction; the `Relay` publishes unpublished rows in insertion order and
//! marks them sent. On PostgreSQL one relay at a time holds an advisory lock, so
//! several processes of one subgraph never reorder a subject.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{BusError, Event, SharedBus};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        #[sea_orm(unique)]
        pub event_id: Uuid,
        pub subject: String,
        /// The whole envelope as JSON.
        pub body: String,
        pub created_at: ChronoDateTimeUtc,
        pub published_at: Option<ChronoDateTimeUtc>,
        pub attempts: i32,
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod processed {
    use sea_orm::entity::prelude::*;

    /// Events a consumer has handled, so a redelivery is a no-op.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "processed_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        pub processed_at: ChronoDateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Writes `event` to the outbox on `conn`, which should be the transaction
/// that makes the change the event describes.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, event: &Event) -> Result<(), DbErr> {
    entity::ActiveModel {
        event_id: Set(event.id),
        subject: Set(event.subject.clone()),
        body: Set(String::from_utf8(event.to_bytes()).expect("serde_json writes UTF-8")),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map(|_| ())
}

/// Rows not yet published (for health and tests).
pub async fn pending_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .count(conn)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Publishes the outbox of one subgraph.
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    bus: SharedBus,
    wake: Arc<Notify>,
    interval: Duration,
    batch: u64,
}

impl Relay {
    pub fn new(db: DatabaseConnection, bus: SharedBus, interval: Duration) -> Self {
        Self {
            db,
            bus,
            wake: Arc::new(Notify::new()),
            interval,
            batch: 100,
        }
    }

    /// Call `notify_one()` on this after committing an outbox row to publish at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Publishes every pending row in order; stops at the first bus failure
    /// (later rows must not overtake it). Returns how many were published.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let (published, full) = self.publish_batch().await?;
            total += published;
            if !full {
                return Ok(total);
            }
        }
    }

    async fn publish_batch(&self) -> Result<(usize, bool), RelayError> {
        let txn = self.db.begin().await?;
        if crate::db::is_postgres(&txn) {
            let locked = txn
                .query_one(Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT pg_try_advisory_xact_lock(hashtext('marquee-outbox:' || current_schema())) AS locked",
                ))
                .await?
                .and_then(|row| row.try_get::<bool>("", "locked").ok())
                .unwrap_or(false);
            if !locked {
                // Another process is relaying this schema.
                return Ok((0, false));
            }
        }
        let rows = entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .order_by_asc(entity::Column::Seq)
            .limit(self.batch)
            .all(&txn)
            .await?;
        let full = rows.len() as u64 == self.batch;
        let mut published = 0;
        let mut failure = None;
        for row in rows {
            let event = match Event::from_bytes(row.body.as_bytes()) {
                Ok(e) => e,
                Err(e) => {
                    failure = Some(RelayError::Bus(e));
                    break;
                }
            };
            match self.bus.publish(&event).await {
                Ok(()) => {
                    entity::Entity::update_many()
                        .col_expr(entity::Column::PublishedAt, Expr::value(Utc::now()))
                        .col_expr(
                            entity::Column::Attempts,
                            Expr::col(entity::Column::Attempts).add(1),
                        )
                        .filter(entity::Column::Seq.eq(row.seq))
                        .exec(&txn)
                        .await?;
                    published += 1;
                }
                Err(e) => {
                    entity::Entity::update_many()
                        .col_expr(
                            entity::Column::Attempts,
                            Expr::col(entity::Column::Attempts).add(1),
                        )
                        .col_expr(entity::Column::LastError, Expr::value(e.to_string()))
                        .filter(entity::Column::Seq.eq(row.seq))
                        .exec(&txn)
                        .await?;
                    failure = Some(e.into());
                    break;
                }
            }
        }
        txn.commit().await?;
        if published > 0 {
            metrics::counter!("marquee_outbox_published_total").increment(published as u64);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok((published, full)),
        }
    }

    /// Runs until `shutdown`, then publishes what is left once more.
    /// Failures back off exponentially up to 30 s.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::ZERO;
        loop {
            match self.publish_pending().await {
                Ok(_) => backoff = Duration::ZERO,
                Err(e) => {
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(200), Duration::from_secs(30));
                    metrics::counter!("marquee_outbox_publish_failures_total").increment(1);
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay could not publish");
                }
            }
            let wait = if backoff.is_zero() {
                self.interval
            } else {
                backoff
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified(), if backoff.is_zero() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        match self.publish_pending().await {
            Ok(n) if n > 0 => tracing::info!(published = n, "outbox flushed on shutdown"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "outbox not fully flushed on shutdown; it resumes on the next start")
            }
        }
    }
}

pub use migration::Migration;

mod migration {
    use sea_orm_migration::prelude::*;

    /// The outbox and processed-events tables; every subgraph's migrator lists it first.
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261124_000000_kit_outbox"
        }
    }

    #[derive(DeriveIden)]
    enum Outbox {
        Table,
        Seq,
        EventId,
        Subject,
        Body,
        CreatedAt,
        PublishedAt,
        Attempts,
        LastError,
    }

    #[derive(DeriveIden)]
    enum ProcessedEvents {
        Table,
        Consumer,
        EventId,
        ProcessedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Outbox::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(Outbox::Seq)
                                .big_integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(
                            ColumnDef::new(Outbox::EventId)
                                .uuid()
                                .not_null()
                                .unique_key(),
                        )
                        .col(ColumnDef::new(Outbox::Subject).string().not_null())
                        .col(ColumnDef::new(Outbox::Body).text().not_null())
                        .col(
                            ColumnDef::new(Outbox::CreatedAt)
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .col(
                            ColumnDef::new(Outbox::PublishedAt)
                                .timestamp_with_time_zone()
                                .null(),
                        )
                        .col(
                            ColumnDef::new(Outbox::Attempts)
                                .integer()
                                .not_null()
                                .default(0),
                        )
                        .col(ColumnDef::new(Outbox::LastError).text().null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("outbox_unpublished")
                        .table(Outbox::Table)
                        .col(Outbox::PublishedAt)
                        .col(Outbox::Seq)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(ProcessedEvents::Table)
                        .if_not_exists()
                        .col(
                            ColumnDef::new(ProcessedEvents::Consumer)
                                .string()
                                .not_null(),
                        )
                        .col(ColumnDef::new(ProcessedEvents::EventId).uuid().not_null())
                        .col(
                            ColumnDef::new(ProcessedEvents::ProcessedAt)
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .primary_key(
                            Index::create()
                                .col(ProcessedEvents::Consumer)
                                .col(ProcessedEvents::EventId),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(ProcessedEvents::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(Outbox::Table).to_owned())
                .await
        }
    }
}
