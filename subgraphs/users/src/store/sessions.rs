//! Sign-in (wrong passwords slow down their address, see `throttle`),
//! sessions with rotating refresh
//! tokens and reuse detection, sign-out.

use chrono::{Duration, Utc};
use kit::auth::{Claims, RequestMeta};
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{refresh_token, session, user};
use super::*;
use crate::secrets;

impl Accounts {
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<Issued, Error> {
        let login = login.trim().to_lowercase();
        if login.is_empty() || password.len() > secrets::MAX_PASSWORD * 4 {
            return Err(invalid_login());
        }
        let found = if login.contains('@') {
            self.by_email(&login).await?
        } else {
            self.by_username(&login).await?
        };
        let now = Utc::now();
        let ip = meta.client_ip.as_deref();
        if let Some(u) = &found {
            self.throttle.check(u.id, ip).await?;
        }
        let ok = secrets::verify_password(
            password.to_string(),
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
        let Some(user) = found else {
            self.audit(
                self.db(),
                meta,
                None,
                None,
                "login_failed",
                json!({ "reason": "unknown_login" }),
            )
            .await?;
            return Err(invalid_login());
        };
        if !ok {
            self.throttle.failed(user.id, ip).await;
            let txn = self.db().begin().await?;
            // Counted in the database too (for operators), atomically.
            user::Entity::update_many()
                .col_expr(
                    user::Column::FailedLogins,
                    Expr::col(user::Column::FailedLogins).add(1),
                )
                .filter(user::Column::Id.eq(user.id))
                .exec(&txn)
                .await?;
            self.audit(
                &txn,
                meta,
                None,
                Some(user.id),
                "login_failed",
                json!({ "reason": "wrong_password" }),
            )
            .await?;
            txn.commit().await?;
            return Err(invalid_login());
        }
        self.throttle.succeeded(user.id, ip).await;
        if let Some(until) = user.suspended_until.filter(|t| *t > now) {
            return Err(Error::forbidden(format!(
                "this account is suspended until {}",
                until.to_rfc3339()
            )));
        }
        let mut active = user.clone().into_active_model();
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        active.last_login_at = Set(Some(now));
        let user = active.update(self.db()).await?;
        self.audit(
            self.db(),
            meta,
            Some(user.id),
            Some(user.id),
            "login",
            json!({}),
        )
        .await?;
        self.open_session(user, meta).await
    }

    pub(super) async fn open_session(
        &self,
        user: user::Model,
        meta: &RequestMeta,
    ) -> Result<Issued, Error> {
        let now = Utc::now();
        let sid = Uuid::new_v4();
        let refresh = secrets::random_token();
        let txn = self.db().begin().await?;
        session::ActiveModel {
            id: Set(sid),
            user_id: Set(user.id),
            created_at: Set(now),
            expires_at: Set(now + self.refresh_ttl()),
            revoked_at: Set(None),
            revoked_reason: Set(None),
            ip: Set(meta.client_ip.clone()),
            user_agent: Set(meta.user_agent.clone()),
        }
        .insert(&txn)
        .await?;
        refresh_token::ActiveModel {
            hash: Set(secrets::token_hash(&refresh)),
            session_id: Set(sid),
            created_at: Set(now),
            used_at: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        self.issue(user, sid, refresh).await
    }

    pub(super) fn refresh_ttl(&self) -> Duration {
        Duration::days(self.services.config.auth.refresh_token_ttl_days as i64)
    }

    pub(super) async fn issue(
        &self,
        user: user::Model,
        sid: Uuid,
        refresh_token: String,
    ) -> Result<Issued, Error> {
        let auth = &self.services.config.auth;
        let now = Utc::now().timestamp();
        let role = role_of(&user.role);
        let claims = Claims {
            sub: user.id.to_string(),
            role,
            scopes: role.scopes(),
            sid: sid.to_string(),
            iss: auth.issuer.clone(),
            aud: auth.audience.clone(),
            exp: now + auth.access_token_ttl_secs as i64,
            iat: now,
            nbf: None,
            jti: Uuid::new_v4().to_string(),
        };
        let key = self.keys.signing().await.map_err(Error::internal)?;
        let access_token = key.sign(&claims).map_err(Error::internal)?;
        Ok(Issued {
            access_token,
            refresh_token,
            expires_in: auth.access_token_ttl_secs,
            user,
        })
    }

    /// Lists `sid` as revoked in the cache for as long as its access tokens live.
    pub(super) async fn revoke_in_cache(&self, sid: Uuid) -> Result<(), Error> {
        let auth = &self.services.config.auth;
        let ttl = std::time::Duration::from_secs(auth.access_token_ttl_secs + auth.leeway_secs);
        kit::auth::revoke_session(&self.services.shared_cache, &sid.to_string(), ttl)
            .await
            .map_err(|e| Error::unavailable("cache", e))
    }

    pub(super) async fn revoke_sessions<C: ConnectionTrait>(
        &self,
        conn: &C,
        user_id: Uuid,
        reason: &str,
        keep: Option<Uuid>,
    ) -> Result<Vec<Uuid>, Error> {
        let mut q = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null());
        if let Some(k) = keep {
            q = q.filter(session::Column::Id.ne(k));
        }
        let ids: Vec<Uuid> = q.all(conn).await?.into_iter().map(|s| s.id).collect();
        if !ids.is_empty() {
            session::Entity::update_many()
                .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
                .col_expr(session::Column::RevokedReason, Expr::value(reason))
                .filter(session::Column::Id.is_in(ids.clone()))
                .exec(conn)
                .await?;
        }
        Ok(ids)
    }

    pub(super) async fn revoke_all_cached(&self, sids: &[Uuid]) -> Result<(), Error> {
        for sid in sids {
            self.revoke_in_cache(*sid).await?;
        }
        Ok(())
    }

    /// Trades a refresh token for a new pair. A token that was already traded
    /// is theft (or a replay): its whole session is revoked.
    pub async fn refresh(&self, token: &str, meta: &RequestMeta) -> Result<Issued, Error> {
        let hash = secrets::token_hash(token.trim());
        let Some(row) = refresh_token::Entity::find_by_id(hash.clone())
            .one(self.db())
            .await?
        else {
            return Err(invalid_refresh());
        };
        let Some(sess) = session::Entity::find_by_id(row.session_id)
            .one(self.db())
            .await?
        else {
            return Err(invalid_refresh());
        };
        let now = Utc::now();
        if row.used_at.is_some() {
            self.reuse_detected(&sess, meta).await?;
            return Err(invalid_refresh());
        }
        if sess.revoked_at.is_some() || sess.expires_at <= now {
            return Err(invalid_refresh());
        }
        let user = match self.find(sess.user_id).await? {
            Some(u) if u.suspended_until.is_none_or(|t| t <= now) => u,
            _ => return Err(invalid_refresh()),
        };
        let next = secrets::random_token();
        let txn = self.db().begin().await?;
        // Only one of two racing refreshes with the same token wins.
        let marked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Hash.eq(hash))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            txn.rollback().await?;
            self.reuse_detected(&sess, meta).await?;
            return Err(invalid_refresh());
        }
        refresh_token::ActiveModel {
            hash: Set(secrets::token_hash(&next)),
            session_id: Set(sess.id),
            created_at: Set(now),
            used_at: Set(None),
        }
        .insert(&txn)
        .await?;
        session::Entity::update_many()
            .col_expr(
                session::Column::ExpiresAt,
                Expr::value(now + self.refresh_ttl()),
            )
            .filter(session::Column::Id.eq(sess.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.issue(user, sess.id, next).await
    }

    pub(super) async fn reuse_detected(
        &self,
        sess: &session::Model,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let txn = self.db().begin().await?;
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .col_expr(
                session::Column::RevokedReason,
                Expr::value("refresh_token_reuse"),
            )
            .filter(session::Column::Id.eq(sess.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        self.audit(
            &txn,
            meta,
            None,
            Some(sess.user_id),
            "refresh_token_reuse",
            json!({ "sessionId": sess.id }),
        )
        .await?;
        txn.commit().await?;
        tracing::warn!(user = %sess.user_id, session = %sess.id, "refresh token reused: session revoked");
        self.revoke_in_cache(sess.id).await
    }

    /// Ends the session `refresh_token` belongs to. When a viewer is known,
    /// the token must be theirs.
    pub async fn logout(
        &self,
        token: &str,
        viewer: Option<&Claims>,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let hash = secrets::token_hash(token.trim());
        let Some(row) = refresh_token::Entity::find_by_id(hash)
            .one(self.db())
            .await?
        else {
            return Err(invalid_refresh());
        };
        let Some(sess) = session::Entity::find_by_id(row.session_id)
            .one(self.db())
            .await?
        else {
            return Err(invalid_refresh());
        };
        if let Some(v) = viewer {
            if v.sub != sess.user_id.to_string() {
                return Err(Error::forbidden(
                    "this refresh token belongs to another account",
                ));
            }
        }
        let txn = self.db().begin().await?;
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .col_expr(session::Column::RevokedReason, Expr::value("logout"))
            .filter(session::Column::Id.eq(sess.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        self.audit(
            &txn,
            meta,
            Some(sess.user_id),
            Some(sess.user_id),
            "logout",
            json!({ "sessionId": sess.id }),
        )
        .await?;
        txn.commit().await?;
        self.revoke_in_cache(sess.id).await
    }

    pub async fn logout_all(&self, viewer: &Claims, meta: &RequestMeta) -> Result<usize, Error> {
        let id = viewer_id(viewer)?;
        let txn = self.db().begin().await?;
        let sids = self.revoke_sessions(&txn, id, "logout_all", None).await?;
        self.audit(
            &txn,
            meta,
            Some(id),
            Some(id),
            "logout_all",
            json!({ "sessions": sids.len() }),
        )
        .await?;
        txn.commit().await?;
        self.revoke_all_cached(&sids).await?;
        Ok(sids.len())
    }
}
