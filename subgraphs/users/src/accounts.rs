//! What the users subgraph does, apart from its GraphQL face: accounts,
//! sign-in with per-account slow-down, sessions with rotating refresh tokens
//! and reuse detection, one-time tokens by mail, roles, suspension, deletion
//! (anonymization), audit rows and outbox events written in the same
//! transaction as the change they describe.

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use kit::auth::{Claims, RequestMeta, Role};
use kit::{Error, ErrorCode, Services};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::input;
use crate::keys::KeyRing;
use crate::mail::{Mailer, Message};
use crate::model::{audit, one_time_token, refresh_token, session, user};
use crate::secrets;

/// Failed sign-ins an account takes before it is locked for a while.
pub const FREE_FAILURES: i32 = 5;
/// Longest lock after repeated failures.
const MAX_LOCK_SECS: i64 = 15 * 60;
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
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        Ok(())
    }

    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        let event = self
            .services
            .event(name, actor.map(|a| a.to_string()), payload);
        kit::events::outbox::enqueue(conn, &event).await?;
        Ok(())
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

    async fn by_email(&self, email: &str) -> Result<Option<user::Model>, Error> {
        Ok(user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .filter(user::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }

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
            "user_registered",
            Some(id),
            json!({ "userId": id, "username": user.username, "displayName": user.display_name }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(user)
    }

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
        if let Some(u) = &found {
            if let Some(until) = u.locked_until.filter(|t| *t > now) {
                let secs = (until - now).num_seconds().max(1);
                return Err(Error::new(
                    ErrorCode::RateLimited,
                    format!("too many failed sign-ins for this account; try again in {secs} s"),
                ));
            }
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
            let failures = user.failed_logins + 1;
            let locked_until = (failures >= FREE_FAILURES).then(|| {
                let exp = (failures - FREE_FAILURES).min(10) as u32;
                now + Duration::seconds((30i64 << exp).min(MAX_LOCK_SECS))
            });
            let txn = self.db().begin().await?;
            user::Entity::update_many()
                .col_expr(user::Column::FailedLogins, Expr::value(failures))
                .col_expr(user::Column::LockedUntil, Expr::value(locked_until))
                .filter(user::Column::Id.eq(user.id))
                .exec(&txn)
                .await?;
            self.audit(
                &txn,
                meta,
                None,
                Some(user.id),
                "login_failed",
                json!({ "failures": failures }),
            )
            .await?;
            txn.commit().await?;
            return Err(invalid_login());
        }
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

    async fn open_session(&self, user: user::Model, meta: &RequestMeta) -> Result<Issued, Error> {
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

    fn refresh_ttl(&self) -> Duration {
        Duration::days(self.services.config.auth.refresh_token_ttl_days as i64)
    }

    async fn issue(
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
    async fn revoke_in_cache(&self, sid: Uuid) -> Result<(), Error> {
        let auth = &self.services.config.auth;
        let ttl = std::time::Duration::from_secs(auth.access_token_ttl_secs + auth.leeway_secs);
        kit::auth::revoke_session(&self.services.shared_cache, &sid.to_string(), ttl)
            .await
            .map_err(|e| Error::unavailable("cache", e))
    }

    async fn revoke_sessions<C: ConnectionTrait>(
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

    async fn revoke_all_cached(&self, sids: &[Uuid]) -> Result<(), Error> {
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

    async fn reuse_detected(&self, sess: &session::Model, meta: &RequestMeta) -> Result<(), Error> {
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
    async fn redeem(
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
            "user_updated",
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
        self.revoke_all_cached(&sids).await
    }

    pub async fn change_password(
        &self,
        viewer: &Claims,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let user = self.get(viewer_id(viewer)?).await?;
        if !secrets::verify_password(current.to_string(), Some(user.password_hash.clone())).await {
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
        self.event(&txn, "user_updated", Some(user.id), payload)
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
        if !secrets::verify_password(password.to_string(), Some(user.password_hash.clone())).await {
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
            "user_deleted",
            Some(user.id),
            json!({ "userId": user.id }),
        )
        .await?;
        self.commit(txn).await?;
        self.revoke_all_cached(&sids).await
    }

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
            "role_changed",
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
            "user_suspended",
            Some(actor),
            json!({ "userId": target, "until": until, "reason": reason }),
        )
        .await?;
        self.commit(txn).await?;
        self.revoke_all_cached(&sids).await?;
        Ok(user)
    }
}

pub fn viewer_id(viewer: &Claims) -> Result<Uuid, Error> {
    Uuid::parse_str(&viewer.sub).map_err(|_| Error::unauthenticated())
}
