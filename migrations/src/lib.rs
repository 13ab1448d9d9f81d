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

/// Column definitions the subgraphs' migrations share.
pub(crate) mod columns {
    use sea_orm_migration::prelude::{Alias, ColumnDef};

    pub(crate) fn a(name: &str) -> Alias {
        Alias::new(name)
    }

    pub(crate) fn uuid(name: &str) -> ColumnDef {
        ColumnDef::new(a(name)).uuid().not_null().to_owned()
    }

    pub(crate) fn uuid_null(name: &str) -> ColumnDef {
        ColumnDef::new(a(name)).uuid().null().to_owned()
    }

    pub(crate) fn text(name: &str) -> ColumnDef {
        ColumnDef::new(a(name)).text().not_null().to_owned()
    }

    pub(crate) fn string(name: &str) -> ColumnDef {
        ColumnDef::new(a(name)).string().not_null().to_owned()
    }

    pub(crate) fn int(name: &str) -> ColumnDef {
        ColumnDef::new(a(name))
            .integer()
            .not_null()
            .default(0)
            .to_owned()
    }

    pub(crate) fn big(name: &str) -> ColumnDef {
        ColumnDef::new(a(name))
            .big_integer()
            .not_null()
            .default(0)
            .to_owned()
    }

    pub(crate) fn flag(name: &str) -> ColumnDef {
        ColumnDef::new(a(name))
            .boolean()
            .not_null()
            .default(false)
            .to_owned()
    }
}
