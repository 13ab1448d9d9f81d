//! Likes of posts, comments and reviews: `likedByMe` for any of them, and
//! the like mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use kit::Error;

use super::loaders::Liked;
use super::{gid, id_of, loader, signed_in, social, viewer_id};
use crate::store::Target;

/// Whether the caller liked `target` (false when signed out).
pub(super) async fn liked_by_me(ctx: &Context<'_>, target: Target) -> async_graphql::Result<bool> {
    match viewer_id(ctx) {
        None => Ok(false),
        Some(v) => Ok(loader(ctx)
            .load_one(Liked(v, target))
            .await?
            .unwrap_or(false)),
    }
}

/// A like's target's figures after the change.
#[derive(SimpleObject)]
pub struct LikeStatus {
    pub target_id: ID,
    pub like_count: i64,
    pub liked_by_me: bool,
}

/// Exactly one of the three.
#[derive(InputObject)]
pub struct LikeTarget {
    pub post_id: Option<ID>,
    pub comment_id: Option<ID>,
    pub review_id: Option<ID>,
}

impl LikeTarget {
    fn parse(&self) -> Result<Target, Error> {
        match (&self.post_id, &self.comment_id, &self.review_id) {
            (Some(p), None, None) => Ok(Target::Post(id_of("target.postId", p)?)),
            (None, Some(c), None) => Ok(Target::Comment(id_of("target.commentId", c)?)),
            (None, None, Some(r)) => Ok(Target::Review(id_of("target.reviewId", r)?)),
            _ => Err(Error::bad_input(
                "target",
                "give exactly one of postId, commentId and reviewId",
            )),
        }
    }
}

#[derive(Default)]
pub struct LikeMutation;

#[Object]
impl LikeMutation {
    async fn like(
        &self,
        ctx: &Context<'_>,
        target: LikeTarget,
    ) -> async_graphql::Result<LikeStatus> {
        let me = signed_in(ctx)?;
        let t = target.parse()?;
        let like_count = social(ctx).like(me, t).await?;
        Ok(LikeStatus {
            target_id: gid(t.id()),
            like_count,
            liked_by_me: true,
        })
    }

    async fn unlike(
        &self,
        ctx: &Context<'_>,
        target: LikeTarget,
    ) -> async_graphql::Result<LikeStatus> {
        let me = signed_in(ctx)?;
        let t = target.parse()?;
        let like_count = social(ctx).unlike(me, t).await?;
        Ok(LikeStatus {
            target_id: gid(t.id()),
            like_count,
            liked_by_me: false,
        })
    }
}
