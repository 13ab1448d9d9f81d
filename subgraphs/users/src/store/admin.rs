//! What admins do to accounts: roles and suspension.

use chrono::{DateTime, Utc};
use kit::auth::{Claims, RequestMeta, Role};
use kit::Error;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::model::user;
use super::*;
use crate::events;
use crate::input;

impl Accounts {
    pub async fn set_role(
        &self,
        admin: &Claims,
        target: Uuid,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<user::Model, Error> {
        let actor = viewer_id(admin)?;
        if actor == target {
            return Err(Error::bad_input(
                "userId",
                "admins cannot change their own role",
            ));
        }
        let user = self.get(target).await?;
        let previous = user.role.clone();
        let txn = self.db().begin().await?;
        let mut active = user.into_active_model();
        active.role = Set(role.as_str().to_string());
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        self.audit(
            &txn,
            meta,
            Some(actor),
            Some(target),
            "role_change",
            json!({ "from": previous, "to": role.as_str() }),
        )
        .await?;
        self.event(
            &txn,
            events::ROLE_CHANGED,
            Some(actor),
            json!({ "userId": target, "role": role.as_str(), "previous": previous }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(user)
    }

    pub async fn suspend(
        &self,
        admin: &Claims,
        target: Uuid,
        until: DateTime<Utc>,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<user::Model, Error> {
        let actor = viewer_id(admin)?;
        if actor == target {
            return Err(Error::bad_input(
                "userId",
                "admins cannot suspend themselves",
            ));
        }
        if until <= Utc::now() {
            return Err(Error::bad_input(
                "until",
                "the suspension must end in the future",
            ));
        }
        let reason = input::clean_text(reason, false);
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::bad_input(
                "reason",
                "give a reason of 1 to 500 characters",
            ));
        }
        let user = self.get(target).await?;
        let txn = self.db().begin().await?;
        let mut active = user.into_active_model();
        active.suspended_until = Set(Some(until));
        active.suspension_reason = Set(Some(reason.clone()));
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        let sids = self
            .revoke_sessions(&txn, target, "suspended", None)
            .await?;
        self.audit(
            &txn,
            meta,
            Some(actor),
            Some(target),
            "suspension",
            json!({ "until": until, "reason": reason }),
        )
        .await?;
        self.event(
            &txn,
            events::USER_SUSPENDED,
            Some(actor),
            json!({ "userId": target, "until": until, "reason": reason }),
        )
        .await?;
        self.commit(txn).await?;
        self.revoke_all_cached(&sids).await?;
        Ok(user)
    }

    /// Suspends `target` as the moderation subgraph decided (`until` None:
    /// a ban, a suspension without an end), in the consumer's transaction:
    /// the same suspension as an admin's, sessions revoked. Admins are not
    /// suspended this way. Applying it twice changes nothing more.
    pub async fn suspend_for_moderation(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        target: Uuid,
        until: Option<DateTime<Utc>>,
        reason: &str,
        moderator: Option<Uuid>,
    ) -> Result<(), Error> {
        let Some(user) = self.find(target).await? else {
            return Ok(());
        };
        if user.role == Role::Admin.as_str() {
            tracing::warn!(user = %target, "moderation cannot suspend an admin; ignored");
            return Ok(());
        }
        // A ban lasts until the end of the calendar.
        let until = match until {
            Some(t) => t,
            None => chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .expect("9999-12-31 is a date"),
        };
        let reason = input::clean_text(reason, false);
        let mut active = user.into_active_model();
        active.suspended_until = Set(Some(until));
        active.suspension_reason = Set(Some(reason.chars().take(500).collect()));
        active.updated_at = Set(Utc::now());
        active.update(txn).await?;
        let sids = self.revoke_sessions(txn, target, "suspended", None).await?;
        self.audit(
            txn,
            &RequestMeta::default(),
            moderator,
            Some(target),
            "suspension",
            json!({ "until": until, "reason": reason, "by": "moderation" }),
        )
        .await?;
        // Before the commit: a failed commit is retried, and a revoked
        // session of a suspended account stays revoked either way.
        self.revoke_all_cached(&sids).await
    }

    /// Ends `target`'s suspension as the moderation subgraph decided (an
    /// upheld appeal).
    pub async fn reinstate_for_moderation(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        target: Uuid,
        moderator: Option<Uuid>,
    ) -> Result<(), Error> {
        let Some(user) = self.find(target).await? else {
            return Ok(());
        };
        if user.suspended_until.is_none() {
            return Ok(());
        }
        let mut active = user.into_active_model();
        active.suspended_until = Set(None);
        active.suspension_reason = Set(None);
        active.updated_at = Set(Utc::now());
        active.update(txn).await?;
        self.audit(
            txn,
            &RequestMeta::default(),
            moderator,
            Some(target),
            "reinstatement",
            json!({ "by": "moderation" }),
        )
        .await
    }
}
