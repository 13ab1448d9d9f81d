//! One-time tokens by mail: email verification and password reset.

use chrono::{Duration, Utc};
use kit::auth::RequestMeta;
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    Set, TransactionTrait,
};
use serde_json::json;

use super::model::{one_time_token, user};
use super::*;
use crate::events;
use crate::input;
use crate::mail::Message;
use crate::secrets;

impl Accounts {
    /// Writes a single-use token for `user` and mails it.
    pub async fn send_one_time(&self, user: &user::Model, kind: OneTime) -> Result<(), Error> {
        let token = secrets::random_token();
        let ttl = match kind {
            OneTime::Verify => Duration::hours(VERIFY_TTL_HOURS),
            OneTime::Reset => Duration::minutes(RESET_TTL_MINUTES),
        };
        one_time_token::ActiveModel {
            hash: Set(secrets::token_hash(&token)),
            user_id: Set(user.id),
            kind: Set(kind.as_str().to_string()),
            expires_at: Set(Utc::now() + ttl),
            used_at: Set(None),
        }
        .insert(self.db())
        .await?;
        let (subject, body) = match kind {
            OneTime::Verify => (
                "Confirm your email address",
                format!(
                    "Hello {},\n\nconfirm your email address with this code (valid {VERIFY_TTL_HOURS} hours):\n\n{token}\n\nmutation {{ verifyEmail(token: \"{token}\") }}\n",
                    user.display_name
                ),
            ),
            OneTime::Reset => (
                "Reset your password",
                format!(
                    "Hello {},\n\nsomeone asked to reset your password. If it was you, use this code within {RESET_TTL_MINUTES} minutes:\n\n{token}\n\nIf it was not, ignore this message.\n",
                    user.display_name
                ),
            ),
        };
        self.mailer
            .send(Message {
                to: &user.email,
                subject,
                body,
            })
            .await
    }

    /// Marks a one-time token used and returns its account.
    pub(super) async fn redeem(
        &self,
        txn: &DatabaseTransaction,
        token: &str,
        kind: OneTime,
    ) -> Result<user::Model, Error> {
        let bad = || Error::bad_input("token", "this token is not valid or has expired");
        let hash = secrets::token_hash(token.trim());
        let now = Utc::now();
        let Some(row) = one_time_token::Entity::find_by_id(hash.clone())
            .one(txn)
            .await?
        else {
            return Err(bad());
        };
        if row.kind != kind.as_str() || row.used_at.is_some() || row.expires_at <= now {
            return Err(bad());
        }
        let marked = one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::UsedAt, Expr::value(now))
            .filter(one_time_token::Column::Hash.eq(hash))
            .filter(one_time_token::Column::UsedAt.is_null())
            .exec(txn)
            .await?;
        if marked.rows_affected != 1 {
            return Err(bad());
        }
        user::Entity::find_by_id(row.user_id)
            .filter(user::Column::DeletedAt.is_null())
            .one(txn)
            .await?
            .ok_or_else(bad)
    }

    pub async fn verify_email(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<user::Model, Error> {
        let txn = self.db().begin().await?;
        let user = self.redeem(&txn, token, OneTime::Verify).await?;
        let mut active = user.into_active_model();
        active.email_verified = Set(true);
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        self.audit(
            &txn,
            meta,
            Some(user.id),
            Some(user.id),
            "email_verified",
            json!({}),
        )
        .await?;
        self.event(
            &txn,
            events::USER_UPDATED,
            Some(user.id),
            json!({ "userId": user.id, "emailVerified": true }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(user)
    }

    pub async fn request_password_reset(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        // Malformed or unknown: the same answer as a known address.
        let Ok(email) = input::email("email", email) else {
            return Ok(());
        };
        if let Some(user) = self.by_email(&email).await? {
            self.send_one_time(&user, OneTime::Reset).await?;
            self.audit(
                self.db(),
                meta,
                None,
                Some(user.id),
                "password_reset_requested",
                json!({}),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let txn = self.db().begin().await?;
        let user = self.redeem(&txn, token, OneTime::Reset).await?;
        secrets::check_password("newPassword", new_password, &[&user.email, &user.username])?;
        let hash = secrets::hash_password(new_password.to_string()).await?;
        let mut active = user.clone().into_active_model();
        active.password_hash = Set(hash);
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        let sids = self
            .revoke_sessions(&txn, user.id, "password_reset", None)
            .await?;
        self.audit(
            &txn,
            meta,
            Some(user.id),
            Some(user.id),
            "password_reset",
            json!({}),
        )
        .await?;
        txn.commit().await?;
        // The owner's way back in: the account takes sign-ins again at once.
        self.throttle.reset(user.id).await;
        self.revoke_all_cached(&sids).await
    }
}
