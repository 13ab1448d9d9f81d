//! Relational storage through SeaORM: a SQLite file per subgraph in the data dir
//! (WAL, foreign keys on) by default, or PostgreSQL with one schema per subgraph
//! (`search_path` set on every pooled connection). Migrations run at start.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, SqlxPostgresConnector,
    SqlxSqliteConnector, Statement,
};
use sea_orm_migration::MigratorTrait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;
use url::Url;

use crate::config::DatabaseConfig;

pub use sea_orm::DatabaseConnection as Db;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: cannot open {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database: {0}")]
    Setup(String),
    #[error("database: migrations for `{schema}` failed: {source}")]
    Migrate {
        schema: String,
        #[source]
        source: sea_orm::DbErr,
    },
}

/// Where a subgraph's tables live.
#[derive(Debug, Clone)]
pub enum Target {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL server and the schema to use on it.
    Postgres { url: Url, schema: String },
}

impl Target {
    /// The target for `schema` under `config`: PostgreSQL when a URL is set,
    /// else `<data_dir>/<schema>.db`.
    pub fn for_schema(config: &DatabaseConfig, data_dir: &Path, schema: &str) -> Self {
        match &config.url {
            Some(url) => Target::Postgres {
                url: url.clone(),
                schema: format!("{}{schema}", config.schema_prefix),
            },
            None => Target::Sqlite(data_dir.join(format!("{schema}.db"))),
        }
    }

    /// A description safe to log: no password.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("sqlite file {}", path.display()),
            Target::Postgres { url, schema } => {
                let mut safe = url.clone();
                let _ = safe.set_password(None);
                format!("postgres {safe} schema `{schema}`")
            }
        }
    }
}

/// Opens a pool on `target`; on PostgreSQL the schema is created when missing.
pub async fn connect(
    target: &Target,
    config: &DatabaseConfig,
) -> Result<DatabaseConnection, DbError> {
    let acquire = Duration::from_secs(config.acquire_timeout_secs);
    let connect_err = |source| DbError::Connect {
        target: target.describe(),
        source,
    };
    match target {
        Target::Sqlite(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbError::Setup(format!(
                        "cannot create data directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .disable_statement_logging();
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(acquire)
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
        }
        Target::Postgres { url, schema } => {
            if !is_identifier(schema) {
                return Err(DbError::Setup(format!(
                    "schema name `{schema}` is not a plain identifier"
                )));
            }
            let base = PgConnectOptions::from_str(url.as_str())
                .map_err(connect_err)?
                .disable_statement_logging();
            // Create the schema on a one-off connection, then pin every pooled
            // connection to it.
            {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect_with(&base)
                    .await
                    .map_err(connect_err)?;
                sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .execute(&mut conn)
                    .await
                    .map_err(connect_err)?;
                let _ = conn.close().await;
            }
            let options = base.options([("search_path", schema.as_str())]);
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(acquire)
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
        }
    }
}

/// Opens `target` and brings it up to date with `M`'s migrations (unless disabled).
pub async fn open<M: MigratorTrait>(
    target: &Target,
    config: &DatabaseConfig,
) -> Result<DatabaseConnection, DbError> {
    let db = connect(target, config).await?;
    if config.run_migrations {
        migrate::<M>(&db, target).await?;
    }
    Ok(db)
}

pub async fn migrate<M: MigratorTrait>(
    db: &DatabaseConnection,
    target: &Target,
) -> Result<(), DbError> {
    let schema = match target {
        Target::Sqlite(p) => p.display().to_string(),
        Target::Postgres { schema, .. } => schema.clone(),
    };
    M::up(db, None)
        .await
        .map_err(|source| DbError::Migrate { schema, source })
}

/// True when `s` can be used unquoted-safe inside double quotes as a schema name.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A round trip to the database, for readiness checks.
pub async fn ping(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    db.execute(Statement::from_string(
        db.get_database_backend(),
        "SELECT 1",
    ))
    .await
    .map(|_| ())
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DatabaseBackend::Postgres
}

/// True when `err` is a unique-constraint violation (a duplicate), on either backend.
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
