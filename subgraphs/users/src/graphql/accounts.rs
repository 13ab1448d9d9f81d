//! Accounts: the `User` entity and its loader, the account queries, and
//! what an account or an admin changes about it.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::auth::{require_role, require_viewer, viewer, Role};
use kit::paging::{page_size, Connection, Paged};
use kit::Error;
use uuid::Uuid;

use super::{accounts, meta, parse_id};
use crate::store::model::user;
use crate::store::{role_of, viewer_id, Accounts, UserListFilter};

pub struct UserLoader {
    pub(super) accounts: Arc<Accounts>,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, Self::Error> {
        let rows = self.accounts.users_by_id(keys).await?;
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
    /// Unique, `[a-z0-9_]{3,30}`.
    pub username: String,
    pub display_name: String,
    pub bio: Option<String>,
    pub created_at: DateTime<Utc>,
    /// True once the account was deleted (its public fields are anonymized).
    pub deleted: bool,
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            bio: row.bio.clone(),
            created_at: row.created_at,
            deleted: row.deleted_at.is_some(),
            row,
        }
    }
}

impl Paged for User {
    const NAME: &'static str = "User";
    const COUNTED: bool = true;
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

#[derive(InputObject, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// Usernames containing this text.
    pub search: Option<String>,
    /// Only suspended (true) or only unsuspended (false) accounts.
    pub suspended: Option<bool>,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    pub display_name: Option<String>,
    /// An empty string clears the bio.
    pub bio: Option<String>,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
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
    ) -> async_graphql::Result<Option<Connection<User>>> {
        require_role(ctx, Role::Admin)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let filter = UserListFilter {
            role: f.role,
            search: f.search,
            suspended: f.suspended,
        };
        let page = accounts(ctx).users(filter, n, after.as_deref()).await?;
        Ok(Some(Connection::from_page(page, User::from)))
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

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
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
