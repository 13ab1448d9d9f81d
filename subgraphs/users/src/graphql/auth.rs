//! Sign-up, sign-in, sessions, email verification and passwords.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use kit::auth::{require_viewer, viewer, Role};

use super::{accounts, meta, User};
use crate::store::{viewer_id, Issued, NewAccount, OneTime};

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

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account and signs it in; a verification code is mailed.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
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
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
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
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
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
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
        Ok(accounts(ctx).verify_email(&token, &meta(ctx)).await?.into())
    }

    async fn resend_verification_email(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let v = require_viewer(ctx)?;
        let a = accounts(ctx);
        a.admit_auth(&meta(ctx), Some(v)).await?;
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
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
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
        accounts(ctx).admit_auth(&meta(ctx), viewer(ctx)).await?;
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
}
