//! SeaORM migrations, one module per subgraph schema. Every subgraph's
//! `Migrator` lists kit's outbox migration first, then its own, oldest first.
//! They are written with sea-query's schema builder so one migration serves
//! SQLite and PostgreSQL.

pub use sea_orm_migration;

pub mod content;
pub mod moderation;
pub mod social;
pub mod users;

use sea_orm_migration::prelude::*;

pub(crate) fn ts(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub(crate) fn ts_null(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}
