//! The users subgraph's `User`, with the social graph and the lists this
//! subgraph adds to it (lists of private profiles: followers only).

use async_graphql::{Context, Object, ID};
use kit::auth::viewer;
use kit::paging::{page_size, Connection};
use uuid::Uuid;

use super::follows::{FollowNode, FollowStatus};
use super::loaders::{FollowCount, FollowStateOf, Follows, ProfileKey};
use super::posts::{posts_of, Post};
use super::reviews::Rating;
use super::watchlist::{watchlist_of, WatchlistEntry};
use super::{gid, loader, social, viewer_id};
use crate::store;

/// An account of the users subgraph, with its social graph and lists.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        gid(self.id)
    }

    async fn follower_count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        Ok(Some(
            loader(ctx)
                .load_one(FollowCount(self.id, true))
                .await?
                .unwrap_or(0),
        ))
    }

    async fn following_count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        Ok(Some(
            loader(ctx)
                .load_one(FollowCount(self.id, false))
                .await?
                .unwrap_or(0),
        ))
    }

    /// Whether the caller follows this account (false when signed out).
    async fn followed_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        match viewer_id(ctx) {
            None => Ok(Some(false)),
            Some(v) => Ok(Some(
                loader(ctx)
                    .load_one(Follows(v, self.id))
                    .await?
                    .unwrap_or(false),
            )),
        }
    }

    /// Where the caller stands with this account (null when signed out).
    async fn follow_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<FollowStatus>> {
        match viewer_id(ctx) {
            None => Ok(None),
            Some(v) => Ok(loader(ctx)
                .load_one(FollowStateOf(v, self.id))
                .await?
                .map(FollowStatus::from)),
        }
    }

    /// Whether this account shows its lists to followers only.
    async fn profile_private(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(Some(
            loader(ctx)
                .load_one(ProfileKey(self.id))
                .await?
                .is_some_and(|p| p.private),
        ))
    }

    /// Followers, newest first (private profiles: followers only see them).
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<FollowNode>>> {
        self.follow_list(ctx, true, first, after).await
    }

    /// Accounts this one follows, newest first.
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<FollowNode>>> {
        self.follow_list(ctx, false, first, after).await
    }

    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Post>>> {
        Ok(Some(posts_of(ctx, self.id, first, after).await?))
    }

    async fn watchlist(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<WatchlistEntry>>> {
        Ok(Some(watchlist_of(ctx, self.id, first, after).await?))
    }

    async fn ratings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Rating>>> {
        let s = social(ctx);
        s.require_lists(viewer(ctx), self.id).await?;
        let p = s
            .user_ratings(
                self.id,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(p, Rating::from)))
    }
}

impl User {
    async fn follow_list(
        &self,
        ctx: &Context<'_>,
        followers: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<FollowNode>>> {
        let s = social(ctx);
        s.require_lists(viewer(ctx), self.id).await?;
        let p = s
            .follows(
                self.id,
                followers,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(p, |f| FollowNode {
            user: Some(User {
                id: if followers {
                    f.follower_id
                } else {
                    f.followee_id
                },
            }),
            followed_at: f.created_at,
        })))
    }
}
