//! New accounts: validation, the password hash, the first session.

use chrono::{Duration, DurationRound, Utc};
use kit::auth::{RequestMeta, Role};
use kit::Error;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::model::user;
use super::*;
use crate::events;
use crate::input;
use crate::secrets;

impl Accounts {
    pub async fn register(
        &self,
        new: NewAccount<'_>,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<Issued, Error> {
        let user = self.create(new, role, meta).await?;
        self.send_one_time(&user, OneTime::Verify).await?;
        self.open_session(user, meta).await
    }

    /// Validates and inserts an account (no session); the seed uses it too.
    pub async fn create(
        &self,
        new: NewAccount<'_>,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<user::Model, Error> {
        let email = input::email("input.email", new.email)?;
        let username = input::username("input.username", new.username)?;
        let display_name = match new.display_name {
            Some(d) => input::display_name("input.displayName", d)?,
            None => username.clone(),
        };
        secrets::check_password(
            "input.password",
            new.password,
            &[&email, &username, &display_name],
        )?;
        if user::Entity::find()
            .filter(user::Column::Email.eq(email.clone()))
            .one(self.db())
            .await?
            .is_some()
        {
            return Err(
                Error::conflict("an account with this email exists").with_field("input.email")
            );
        }
        if user::Entity::find()
            .filter(user::Column::UsernameKey.eq(username.clone()))
            .one(self.db())
            .await?
            .is_some()
        {
            return Err(Error::conflict("this username is taken").with_field("input.username"));
        }
        let hash = secrets::hash_password(new.password.to_string()).await?;
        // Microseconds, as PostgreSQL keeps them: list cursors carry this value.
        let now = Utc::now()
            .duration_trunc(Duration::microseconds(1))
            .map_err(Error::internal)?;
        let id = Uuid::now_v7();
        let txn = self.db().begin().await?;
        let inserted = user::ActiveModel {
            id: Set(id),
            email: Set(email),
            username: Set(username.clone()),
            username_key: Set(username.clone()),
            display_name: Set(display_name),
            bio: Set(None),
            password_hash: Set(hash),
            role: Set(role.as_str().to_string()),
            email_verified: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
            suspended_until: Set(None),
            suspension_reason: Set(None),
            deleted_at: Set(None),
            failed_logins: Set(0),
            locked_until: Set(None),
        }
        .insert(&txn)
        .await;
        let user = match inserted {
            Ok(u) => u,
            // Lost a race with an identical registration.
            Err(e) if kit::db::is_unique_violation(&e) => {
                return Err(Error::conflict(
                    "an account with this email or username exists",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(
            &txn,
            meta,
            Some(id),
            Some(id),
            "register",
            json!({ "username": username }),
        )
        .await?;
        self.event(
            &txn,
            events::USER_REGISTERED,
            Some(id),
            json!({ "userId": id, "username": user.username, "displayName": user.display_name }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(user)
    }
}
