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
}
