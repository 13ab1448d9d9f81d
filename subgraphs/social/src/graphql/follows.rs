//! Follows and blocks: the follow lists' node and the mutations of the
//! social graph and of profile privacy.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::Paged;

use super::{id_of, signed_in, social, User};

/// One account in a followers or following list.
#[derive(SimpleObject)]
pub struct FollowNode {
    pub user: User,
    pub followed_at: DateTime<Utc>,
}

impl Paged for FollowNode {
    const NAME: &'static str = "Follow";
}

#[derive(Default)]
pub struct FollowMutation;

#[Object]
impl FollowMutation {
    /// Follows a user (again: no change). Returns them.
    async fn follow(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).follow(me, target).await?;
        Ok(User { id: target })
    }

    async fn unfollow(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).unfollow(me, target).await?;
        Ok(User { id: target })
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
    /// your followers only, or to everyone again.
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
