//! The `users` schema: accounts, sessions and their refresh tokens, signing
//! keys (private halves encrypted), one-time tokens and the audit log.

use sea_orm_migration::prelude::*;

use crate::{ts, ts_null};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(kit::events::outbox::Migration), Box::new(Initial)]
    }
}

struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261124_000001_users"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Username,
    UsernameKey,
    DisplayName,
    Bio,
    PasswordHash,
    Role,
    EmailVerified,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
    SuspendedUntil,
    SuspensionReason,
    DeletedAt,
    FailedLogins,
    LockedUntil,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Hash,
    SessionId,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Sealed,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum OneTimeTokens {
    Table,
    Hash,
    UserId,
    Kind,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    UserId,
    Action,
    Ip,
    UserAgent,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Users::Email)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Users::Username).string().not_null())
                .col(
                    ColumnDef::new(Users::UsernameKey)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Users::DisplayName).string().not_null())
                .col(ColumnDef::new(Users::Bio).text().null())
                .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                .col(ColumnDef::new(Users::Role).string().not_null())
                .col(
                    ColumnDef::new(Users::EmailVerified)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(Users::CreatedAt))
                .col(ts(Users::UpdatedAt))
                .col(ts_null(Users::LastLoginAt))
                .col(ts_null(Users::SuspendedUntil))
                .col(ColumnDef::new(Users::SuspensionReason).text().null())
                .col(ts_null(Users::DeletedAt))
                .col(
                    ColumnDef::new(Users::FailedLogins)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ts_null(Users::LockedUntil))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("users_created")
                .table(Users::Table)
                .col(Users::CreatedAt)
                .col(Users::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::ExpiresAt))
                .col(ts_null(Sessions::RevokedAt))
                .col(ColumnDef::new(Sessions::RevokedReason).string().null())
                .col(ColumnDef::new(Sessions::Ip).string().null())
                .col(ColumnDef::new(Sessions::UserAgent).string().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RefreshTokens::Hash)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(RefreshTokens::SessionId).uuid().not_null())
                .col(ts(RefreshTokens::CreatedAt))
                .col(ts_null(RefreshTokens::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RefreshTokens::Table, RefreshTokens::SessionId)
                        .to(Sessions::Table, Sessions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(SigningKeys::Kid)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(SigningKeys::Sealed).text().not_null())
                .col(ts(SigningKeys::CreatedAt))
                .col(ts_null(SigningKeys::RetiredAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OneTimeTokens::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(OneTimeTokens::Hash)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(OneTimeTokens::UserId).uuid().not_null())
                .col(ColumnDef::new(OneTimeTokens::Kind).string().not_null())
                .col(ts(OneTimeTokens::ExpiresAt))
                .col(ts_null(OneTimeTokens::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OneTimeTokens::Table, OneTimeTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(ColumnDef::new(AuditLog::Id).uuid().not_null().primary_key())
                .col(ts(AuditLog::At))
                .col(ColumnDef::new(AuditLog::ActorId).uuid().null())
                .col(ColumnDef::new(AuditLog::UserId).uuid().null())
                .col(ColumnDef::new(AuditLog::Action).string().not_null())
                .col(ColumnDef::new(AuditLog::Ip).string().null())
                .col(ColumnDef::new(AuditLog::UserAgent).string().null())
                .col(ColumnDef::new(AuditLog::Detail).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("audit_user")
                .table(AuditLog::Table)
                .col(AuditLog::UserId)
                .col(AuditLog::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditLog::Table.into_iden(),
            OneTimeTokens::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
