//! The users subgraph's GraphQL schema (Federation v2): the `User` entity
//! keyed by `id`, batched through a DataLoader; private fields carry
//! `@requiresScopes` for the router and are checked again here (only the
//! account itself and admins see them).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    ComplexObject, Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use kit::auth::{require_role, require_viewer, viewer, RequestMeta, Role};
use kit::graphql::PageInfo;
use kit::Error;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::accounts::{role_of, viewer_id, Accounts, Issued, NewAccount, OneTime};
use crate::model::{audit, user};

pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

pub fn build(accounts: Arc<Accounts>) -> UsersSchema {
    let loader = DataLoader::new(
        UserLoader {
            accounts: accounts.clone(),
        },
        tokio::spawn,
    );
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(5_000)
        .data(accounts)
        .data(loader)
        .finish()
}

/// The SDL the router composes (no runtime state needed).
pub fn sdl() -> String {
    kit::graphql::federated_sdl(
        &Schema::build(Query, Mutation, EmptySubscription)
            .enable_federation()
            .finish(),
    )
}

fn accounts<'a>(ctx: &Context<'a>) -> &'a Arc<Accounts> {
    ctx.data_unchecked::<Arc<Accounts>>()
}

fn meta<'a>(ctx: &Context<'a>) -> RequestMeta {
    ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default()
}

fn parse_id(field: &str, id: &ID) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid user id"))
}

pub struct UserLoader {
    accounts: Arc<Accounts>,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .all(&self.accounts.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// A platform account.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct User {
    #[graphql(skip)]
    row: user::Model,
    pub id: ID,
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            row,
        }
    }
}

impl User {
    /// Private fields (nullable, so a refused one nulls only itself): the
    /// account itself or an admin.
    fn private(&self, ctx: &Context<'_>) -> Result<(), Error> {
        let v = require_viewer(ctx)?;
        if v.sub == self.row.id.to_string() || v.has_role(Role::Admin) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only the account itself and admins see this field",
            ))
        }
    }

    fn admin(&self, ctx: &Context<'_>) -> Result<(), Error> {
        require_role(ctx, Role::Admin).map(|_| ())
    }
}

#[ComplexObject]
impl User {
    /// Unique, `[a-z0-9_]{3,30}`.
    async fn username(&self) -> &str {
        &self.row.username
    }

    async fn display_name(&self) -> &str {
        &self.row.display_name
    }

    async fn bio(&self) -> Option<&str> {
        self.row.bio.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// True once the account was deleted (its public fields are anonymized).
    async fn deleted(&self) -> bool {
        self.row.deleted_at.is_some()
    }

    #[graphql(requires_scopes = "user")]
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.private(ctx)?;
        Ok(Some(&self.row.email))
    }

    #[graphql(requires_scopes = "user")]
    async fn email_verified(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        self.private(ctx)?;
        Ok(Some(self.row.email_verified))
    }

    #[graphql(requires_scopes = "user")]
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Role>> {
        self.private(ctx)?;
        Ok(Some(role_of(&self.row.role)))
    }

    #[graphql(requires_scopes = "user")]
    async fn last_login_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        self.private(ctx)?;
        Ok(self.row.last_login_at)
    }

    /// Admins only.
    #[graphql(requires_scopes = "admin")]
    async fn suspended_until(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        self.admin(ctx)?;
        Ok(self.row.suspended_until)
    }

    /// Admins only.
    #[graphql(requires_scopes = "admin")]
    async fn suspension_reason(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.admin(ctx)?;
        Ok(self.row.suspension_reason.as_deref())
    }
}

/// A signed-in session: a short-lived access token (send it as
/// `Authorization: Bearer`) and a single-use refresh token for the next pair.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    pub user: User,
}

impl From<Issued> for AuthPayload {
    fn from(i: Issued) -> Self {
        Self {
            access_token: i.access_token,
            refresh_token: i.refresh_token,
            expires_in: i.expires_in,
            user: i.user.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct UserEdge {
    pub cursor: String,
    pub node: User,
}

#[derive(SimpleObject)]
pub struct UserConnection {
    pub edges: Vec<UserEdge>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

/// One audited action.
#[derive(SimpleObject)]
pub struct AuditEntry {
    pub id: ID,
    pub at: DateTime<Utc>,
    pub action: String,
    /// Who did it (absent for anonymous attempts).
    pub actor_id: Option<ID>,
    /// Whose account it concerns.
    pub user_id: Option<ID>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The action's particulars as JSON (never secrets).
    pub detail: async_graphql::Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct AuditEdge {
    pub cursor: String,
    pub node: AuditEntry,
}

#[derive(SimpleObject)]
pub struct AuditConnection {
    pub edges: Vec<AuditEdge>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub username: String,
    pub password: String,
    /// Defaults to the username.
    pub display_name: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    /// Email address or username.
    pub login: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    pub display_name: Option<String>,
    /// An empty string clears the bio.
    pub bio: Option<String>,
}

#[derive(InputObject, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// Usernames containing this text.
    pub search: Option<String>,
    /// Only suspended (true) or only unsuspended (false) accounts.
    pub suspended: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Entries about this account.
    pub user_id: Option<ID>,
    pub action: Option<String>,
}

fn page_size(first: Option<i32>) -> Result<u64, Error> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(Error::bad_input(
            "first",
            format!("first must be between 1 and {MAX_PAGE}"),
        )),
    }
}

fn user_cursor(u: &user::Model) -> String {
    B64.encode(format!("{}|{}", u.created_at.timestamp_micros(), u.id))
}

fn parse_user_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    let bad = || Error::bad_input("after", "not a cursor from this list");
    let text = String::from_utf8(B64.decode(c).map_err(|_| bad())?).map_err(|_| bad())?;
    let (t, id) = text.split_once('|').ok_or_else(bad)?;
    let micros: i64 = t.parse().map_err(|_| bad())?;
    Ok((
        DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
}

pub struct Query;

#[Object]
impl Query {
    /// The signed-in account, or null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(v) = viewer(ctx) else {
            return Ok(None);
        };
        Ok(accounts(ctx).find(viewer_id(v)?).await?.map(User::from))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let id = parse_id("id", &id)?;
        let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
        Ok(loader
            .load_one(id)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .map(User::from))
    }

    async fn user_by_username(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<Option<User>> {
        Ok(accounts(ctx).by_username(&username).await?.map(User::from))
    }

    /// Every account, oldest first (admins). Nullable, so that a refused
    /// request keeps its other fields.
    #[graphql(requires_scopes = "admin")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<UserConnection>> {
        require_role(ctx, Role::Admin)?;
        let n = page_size(first)?;
        let filter = filter.unwrap_or_default();
        let mut cond = Condition::all().add(user::Column::DeletedAt.is_null());
        if let Some(role) = filter.role {
            cond = cond.add(user::Column::Role.eq(role.as_str()));
        }
        if let Some(s) = filter.search.as_deref() {
            let s: String = s
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(30)
                .collect();
            if !s.is_empty() {
                cond = cond.add(user::Column::UsernameKey.contains(&s));
            }
        }
        match filter.suspended {
            Some(true) => cond = cond.add(user::Column::SuspendedUntil.gt(Utc::now())),
            Some(false) => {
                cond = cond.add(
                    Condition::any()
                        .add(user::Column::SuspendedUntil.is_null())
                        .add(user::Column::SuspendedUntil.lte(Utc::now())),
                )
            }
            None => {}
        }
        let db = &accounts(ctx).services.db;
        let total_count = user::Entity::find()
            .filter(cond.clone())
            .count(db)
            .await
            .map_err(Error::from)?;
        let mut page_cond = cond;
        if let Some(after) = after.as_deref() {
            let (t, id) = parse_user_cursor(after)?;
            page_cond = page_cond.add(
                Condition::any().add(user::Column::CreatedAt.gt(t)).add(
                    Condition::all()
                        .add(user::Column::CreatedAt.eq(t))
                        .add(user::Column::Id.gt(id)),
                ),
            );
        }
        let mut rows = user::Entity::find()
            .filter(page_cond)
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .limit(n + 1)
            .all(db)
            .await
            .map_err(Error::from)?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let edges: Vec<UserEdge> = rows
            .into_iter()
            .map(|u| UserEdge {
                cursor: user_cursor(&u),
                node: u.into(),
            })
            .collect();
        Ok(Some(UserConnection {
            page_info: PageInfo::new(
                edges.iter().map(|e| e.cursor.as_str()),
                after.is_some(),
                has_next_page,
            ),
            edges,
            total_count,
        }))
    }

    /// Audited actions, newest first (admins; nullable like `users`).
    #[graphql(requires_scopes = "admin")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<AuditConnection>> {
        require_role(ctx, Role::Admin)?;
        let n = page_size(first)?;
        let filter = filter.unwrap_or_default();
        let mut cond = Condition::all();
        if let Some(id) = &filter.user_id {
            cond = cond.add(audit::Column::UserId.eq(parse_id("filter.userId", id)?));
        }
        if let Some(a) = filter.action {
            cond = cond.add(audit::Column::Action.eq(a));
        }
        let db = &accounts(ctx).services.db;
        let total_count = audit::Entity::find()
            .filter(cond.clone())
            .count(db)
            .await
            .map_err(Error::from)?;
        if let Some(after) = after.as_deref() {
            let id = Uuid::parse_str(after)
                .map_err(|_| Error::bad_input("after", "not a cursor from this list"))?;
            cond = cond.add(audit::Column::Id.lt(id));
        }
        let mut rows = audit::Entity::find()
            .filter(cond)
            .order_by_desc(audit::Column::Id)
            .limit(n + 1)
            .all(db)
            .await
            .map_err(Error::from)?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let edges: Vec<AuditEdge> = rows
            .into_iter()
            .map(|a| AuditEdge {
                cursor: a.id.to_string(),
                node: AuditEntry {
                    id: ID(a.id.to_string()),
                    at: a.at,
                    action: a.action,
                    actor_id: a.actor_id.map(|i| ID(i.to_string())),
                    user_id: a.user_id.map(|i| ID(i.to_string())),
                    ip: a.ip,
                    user_agent: a.user_agent,
                    detail: async_graphql::Json(
                        serde_json::from_str(&a.detail).unwrap_or(serde_json::Value::Null),
                    ),
                },
            })
            .collect();
        Ok(Some(AuditConnection {
            page_info: PageInfo::new(
                edges.iter().map(|e| e.cursor.as_str()),
                after.is_some(),
                has_next_page,
            ),
            edges,
            total_count,
        }))
    }

    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
        Ok(loader.load_one(id).await?.map(User::from))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates an account and signs it in; a verification code is mailed.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let new = NewAccount {
            email: &input.email,
            username: &input.username,
            password: &input.password,
            display_name: input.display_name.as_deref(),
        };
        Ok(accounts(ctx)
            .register(new, Role::User, &meta(ctx))
            .await?
            .into())
    }

    /// Signs in with an email address or username.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(accounts(ctx)
            .login(&input.login, &input.password, &meta(ctx))
            .await?
            .into())
    }

    /// Trades a refresh token for a new pair; each refresh token works once.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(accounts(ctx).refresh(&token, &meta(ctx)).await?.into())
    }

    /// Ends the session of `refreshToken`; its access tokens stop working at once.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx)
            .logout(&refresh_token, viewer(ctx), &meta(ctx))
            .await?;
        Ok(true)
    }

    /// Ends every session of the signed-in account.
    async fn logout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let v = require_viewer(ctx)?;
        accounts(ctx).logout_all(v, &meta(ctx)).await?;
        Ok(true)
    }

    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<User> {
        Ok(accounts(ctx).verify_email(&token, &meta(ctx)).await?.into())
    }

    async fn resend_verification_email(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let v = require_viewer(ctx)?;
        let a = accounts(ctx);
        let user = a.get(viewer_id(v)?).await?;
        if !user.email_verified {
            a.send_one_time(&user, OneTime::Verify).await?;
        }
        Ok(true)
    }

    /// Always true, whether or not the address has an account.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx)
            .request_password_reset(&email, &meta(ctx))
            .await?;
        Ok(true)
    }

    /// Sets a new password with a mailed reset code; every session ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx)
            .reset_password(&token, &new_password, &meta(ctx))
            .await?;
        Ok(true)
    }

    /// Every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        new: String,
    ) -> async_graphql::Result<bool> {
        let v = require_viewer(ctx)?;
        accounts(ctx)
            .change_password(v, &current, &new, &meta(ctx))
            .await?;
        Ok(true)
    }

    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<User> {
        let v = require_viewer(ctx)?;
        Ok(accounts(ctx)
            .update_profile(
                v,
                input.display_name.as_deref(),
                input.bio.as_deref(),
                &meta(ctx),
            )
            .await?
            .into())
    }

    /// Anonymizes the account and ends its sessions.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        password: String,
    ) -> async_graphql::Result<bool> {
        let v = require_viewer(ctx)?;
        accounts(ctx)
            .delete_account(v, &password, &meta(ctx))
            .await?;
        Ok(true)
    }

    /// Takes effect on the account's next token.
    #[graphql(requires_scopes = "admin")]
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<User> {
        let admin = require_role(ctx, Role::Admin)?;
        let target = parse_id("userId", &user_id)?;
        Ok(accounts(ctx)
            .set_role(admin, target, role, &meta(ctx))
            .await?
            .into())
    }

    /// Signs the account out everywhere and refuses sign-in until `until`.
    #[graphql(requires_scopes = "admin")]
    async fn suspend_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        until: DateTime<Utc>,
        reason: String,
    ) -> async_graphql::Result<User> {
        let admin = require_role(ctx, Role::Admin)?;
        let target = parse_id("userId", &user_id)?;
        Ok(accounts(ctx)
            .suspend(admin, target, until, &reason, &meta(ctx))
            .await?
            .into())
    }
}
