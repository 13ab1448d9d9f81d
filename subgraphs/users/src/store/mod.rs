//! What the users subgraph does, apart from its GraphQL face, split by area
//! (one `impl Accounts` block each); every SQL statement of the subgraph
//! lives here: accounts, sign-in with a slow-down per account and address, sessions with
//! rotating refresh tokens and reuse detection, one-time tokens by mail,
//! roles, suspension, deletion (anonymization), the account and audit lists,
//! audit rows and outbox events written in the same transaction as the change
//! they describe, and the signing keys (`keys`).

mod admin;
pub mod keys;
mod lists;
pub mod model;
mod one_time;
mod profile;
mod registration;
mod sessions;
pub mod throttle;

use std::sync::Arc;

use chrono::Utc;
use kit::auth::{Claims, RequestMeta, Role};
use kit::{Error, ErrorCode, Services};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use uuid::Uuid;

use crate::mail::Mailer;
use keys::KeyRing;
use model::{audit, user};

pub use lists::{AuditListFilter, UserListFilter};

const VERIFY_TTL_HOURS: i64 = 48;
const RESET_TTL_MINUTES: i64 = 60;

pub fn role_of(s: &str) -> Role {
    match s {
        "ADMIN" => Role::Admin,
        "MODERATOR" => Role::Moderator,
        _ => Role::User,
    }
}

/// A signed-in session as the client receives it.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: user::Model,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OneTime {
    Verify,
    Reset,
}

impl OneTime {
    fn as_str(self) -> &'static str {
        match self {
            OneTime::Verify => "VERIFY",
            OneTime::Reset => "RESET",
        }
    }
}

pub struct Accounts {
    pub services: Services,
    pub keys: Arc<KeyRing>,
    pub mailer: Mailer,
    /// Wrong passwords, counted per account and client address.
    pub throttle: throttle::Throttle,
}

pub struct NewAccount<'a> {
    pub email: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub display_name: Option<&'a str>,
}

fn invalid_login() -> Error {
    Error::new(
        ErrorCode::Unauthenticated,
        "the login or the password is wrong",
    )
}

fn invalid_refresh() -> Error {
    Error::new(
        ErrorCode::Unauthenticated,
        "the refresh token is not valid; sign in again",
    )
}

impl Accounts {
    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    /// Commits `txn` and wakes the relay so its events leave at once.
    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        self.services.commit(txn, &[]).await
    }

    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        self.services
            .record_event(conn, name, actor.map(|a| a.to_string()), payload, &[])
            .await
    }

    pub async fn audit<C: ConnectionTrait>(
        &self,
        conn: &C,
        meta: &RequestMeta,
        actor: Option<Uuid>,
        target: Option<Uuid>,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), Error> {
        audit::ActiveModel {
            id: Set(Uuid::now_v7()),
            at: Set(Utc::now()),
            actor_id: Set(actor),
            user_id: Set(target),
            action: Set(action.to_string()),
            ip: Set(meta.client_ip.clone()),
            user_agent: Set(meta.user_agent.clone()),
            detail: Set(detail.to_string()),
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    pub async fn find(&self, id: Uuid) -> Result<Option<user::Model>, Error> {
        Ok(user::Entity::find_by_id(id)
            .filter(user::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }

    pub async fn get(&self, id: Uuid) -> Result<user::Model, Error> {
        self.find(id).await?.ok_or_else(|| Error::not_found("user"))
    }

    pub async fn by_username(&self, name: &str) -> Result<Option<user::Model>, Error> {
        Ok(user::Entity::find()
            .filter(user::Column::UsernameKey.eq(name.trim().to_lowercase()))
            .filter(user::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }

    pub(super) async fn by_email(&self, email: &str) -> Result<Option<user::Model>, Error> {
        Ok(user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .filter(user::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }
}

pub fn viewer_id(viewer: &Claims) -> Result<Uuid, Error> {
    Uuid::parse_str(&viewer.sub).map_err(|_| Error::unauthenticated())
}
