//! Follows and blocks: the follow lists' node, follow requests (a private
//! account approves its followers), and the mutations of the social graph
//! and of profile privacy.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Paged};

use super::{id_of, signed_in, social, User};
use crate::store::{self, FollowState};

/// Where the caller stands with an account.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum FollowStatus {
    None,
    /// A follow request waits for the (private) account's approval.
    Requested,
    Following,
}

impl From<FollowState> for FollowStatus {
    fn from(s: FollowState) -> Self {
        match s {
            FollowState::None => Self::None,
            FollowState::Requested => Self::Requested,
            FollowState::Following => Self::Following,
        }
    }
}

/// Someone asking to follow you.
#[derive(SimpleObject)]
pub struct FollowRequest {
    /// Null when the users subgraph cannot answer for the account.
    pub user: Option<User>,
    pub requested_at: DateTime<Utc>,
}

impl Paged for FollowRequest {
    const NAME: &'static str = "FollowRequest";
}

#[derive(Default)]
pub struct FollowQuery;

#[Object]
impl FollowQuery {
    /// Requests to follow you (a private account), newest first.
    async fn follow_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<FollowRequest>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .incoming_follow_requests(
                me,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, |r| FollowRequest {
            user: Some(User { id: r.requester_id }),
            requested_at: r.created_at,
        }))
    }
}

/// One account in a followers or following list.
#[derive(SimpleObject)]
pub struct FollowNode {
    /// Null when the users subgraph cannot answer for the account.
    pub user: Option<User>,
    pub followed_at: DateTime<Utc>,
}

impl Paged for FollowNode {
    const NAME: &'static str = "Follow";
}

#[derive(Default)]
pub struct FollowMutation;

#[Object]
impl FollowMutation {
    /// Follows a user (again: no change); a private account is asked first
    /// (see `followStatus`). Returns them.
    async fn follow(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<Option<User>> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).follow(me, target).await?;
        Ok(Some(User { id: target }))
    }

    /// Lets `userId`, who asked, follow you. Returns them.
    async fn approve_follow_request(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let me = signed_in(ctx)?;
        let requester = id_of("userId", &user_id)?;
        social(ctx).approve_follow_request(me, requester).await?;
        Ok(Some(User { id: requester }))
    }

    /// Turns down `userId`'s request to follow you. Returns them.
    async fn decline_follow_request(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let me = signed_in(ctx)?;
        let requester = id_of("userId", &user_id)?;
        social(ctx).decline_follow_request(me, requester).await?;
        Ok(Some(User { id: requester }))
    }

    /// Withdraws your request to follow `userId`. Returns them.
    async fn cancel_follow_request(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).cancel_follow_request(me, target).await?;
        Ok(Some(User { id: target }))
    }

    async fn unfollow(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).unfollow(me, target).await?;
        Ok(Some(User { id: target }))
    }

    /// Blocks a user: follows both ways end; neither can follow, comment on,
    /// like or message the other.
    async fn block_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        social(ctx).block(me, id_of("userId", &user_id)?).await?;
        Ok(true)
    }

    async fn unblock_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx).unblock(me, id_of("userId", &user_id)?).await?)
    }

    /// Shows your lists (followers, following, posts, watchlist, ratings) to
    /// your followers only (new followers then ask first), or to everyone
    /// again (pending requests are approved).
    async fn set_profile_private(
        &self,
        ctx: &Context<'_>,
        private: bool,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        social(ctx).set_private(me, private).await?;
        Ok(private)
    }
}
