//! What an account changes about itself: password, profile, deletion (anonymization).

use chrono::Utc;
use kit::auth::{Claims, RequestMeta};
use kit::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{one_time_token, user};
use super::*;
use crate::events;
use crate::input;
use crate::secrets;

impl Accounts {
    pub async fn change_password(
        &self,
        viewer: &Claims,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let user = self.get(viewer_id(viewer)?).await?;
        let ip = meta.client_ip.as_deref();
        self.throttle.check(user.id, ip).await?;
        if !secrets::verify_password(current.to_string(), Some(user.password_hash.clone())).await {
            self.throttle.failed(user.id, ip).await;
            return Err(Error::bad_input("current", "the current password is wrong"));
        }
        secrets::check_password("new", new, &[&user.email, &user.username])?;
        let hash = secrets::hash_password(new.to_string()).await?;
        let txn = self.db().begin().await?;
        let mut active = user.clone().into_active_model();
        active.password_hash = Set(hash);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        let keep = Uuid::parse_str(&viewer.sid).ok();
        let sids = self
            .revoke_sessions(&txn, user.id, "password_change", keep)
            .await?;
        self.audit(
            &txn,
            meta,
            Some(user.id),
            Some(user.id),
            "password_change",
            json!({}),
        )
        .await?;
        txn.commit().await?;
        self.revoke_all_cached(&sids).await
    }

    pub async fn update_profile(
        &self,
        viewer: &Claims,
        display_name: Option<&str>,
        bio: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<user::Model, Error> {
        let user = self.get(viewer_id(viewer)?).await?;
        let mut active = user.into_active_model();
        let mut changed = serde_json::Map::new();
        if let Some(d) = display_name {
            let d = input::display_name("input.displayName", d)?;
            changed.insert("displayName".into(), json!(d));
            active.display_name = Set(d);
        }
        if let Some(b) = bio {
            let b = input::bio("input.bio", b)?;
            changed.insert("bio".into(), json!(b));
            active.bio = Set(b);
        }
        active.updated_at = Set(Utc::now());
        let txn = self.db().begin().await?;
        let user = active.update(&txn).await?;
        self.audit(
            &txn,
            meta,
            Some(user.id),
            Some(user.id),
            "profile_update",
            json!({ "fields": changed.keys().collect::<Vec<_>>() }),
        )
        .await?;
        let mut payload = json!({ "userId": user.id });
        payload.as_object_mut().expect("an object").extend(changed);
        self.event(&txn, events::USER_UPDATED, Some(user.id), payload)
            .await?;
        self.commit(txn).await?;
        Ok(user)
    }

    /// Anonymizes the account (the row stays so references resolve to
    /// "deleted user"), ends its sessions and tells the other subgraphs.
    pub async fn delete_account(
        &self,
        viewer: &Claims,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let user = self.get(viewer_id(viewer)?).await?;
        let ip = meta.client_ip.as_deref();
        self.throttle.check(user.id, ip).await?;
        if !secrets::verify_password(password.to_string(), Some(user.password_hash.clone())).await {
            self.throttle.failed(user.id, ip).await;
            return Err(Error::bad_input("password", "the password is wrong"));
        }
        let short = user.id.simple().to_string();
        let txn = self.db().begin().await?;
        let mut active = user.clone().into_active_model();
        active.email = Set(format!("deleted-{short}@deleted.invalid"));
        active.username = Set(format!("deleted_{}", &short[..12]));
        active.username_key = Set(format!("deleted_{short}"));
        active.display_name = Set("Deleted user".into());
        active.bio = Set(None);
        active.password_hash = Set("!".into());
        active.deleted_at = Set(Some(Utc::now()));
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        let sids = self
            .revoke_sessions(&txn, user.id, "account_deleted", None)
            .await?;
        one_time_token::Entity::delete_many()
            .filter(one_time_token::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
        self.audit(
            &txn,
            meta,
            Some(user.id),
            Some(user.id),
            "account_deleted",
            json!({}),
        )
        .await?;
        self.event(
            &txn,
            events::USER_DELETED,
            Some(user.id),
            json!({ "userId": user.id }),
        )
        .await?;
        self.commit(txn).await?;
        self.revoke_all_cached(&sids).await
    }
}
