//! Page prefetch: a list resolver loads, for its whole page at once, what
//! its items' fields will ask the loaders for, so items resolved after the
//! loader's short wait do not start batches of their own.

use async_graphql::{Context, Lookahead};
use kit::paging::page_size;
use uuid::Uuid;

use super::loaders::{FollowCount, Follows, Liked, Thread};
use super::{loader, viewer_id};
use crate::store::model::{comment, post};
use crate::store::Target;

/// The first-page sizes the selections of a list field ask for (`comments`,
/// `replies`); a selection paging past the first page (`after`) is loaded by
/// its own resolver.
fn first_pages(field: &Lookahead<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    for f in field.selection_fields() {
        let Ok(args) = f.arguments() else { continue };
        let arg = |name: &str| {
            args.iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, v)| v.clone())
        };
        if arg("after").is_some_and(|v| v != async_graphql::Value::Null) {
            continue;
        }
        let first = match arg("first") {
            Some(async_graphql::Value::Number(n)) => n.as_i64().map(|n| n as i32),
            _ => None,
        };
        if let Ok(n) = page_size(first) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Loads what the posts of one page will ask the loaders for (the caller's
/// like flags, the authors' figures, the first page of comments and, below
/// them, replies) with one batch per kind for the whole page; each post's
/// own resolvers then answer from the request's cache. Without it, items
/// resolved after the loader's short wait would start batches of their own.
pub(super) async fn prefetch_posts(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    posts: &[post::Model],
) -> async_graphql::Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let l = loader(ctx);
    let viewer = viewer_id(ctx);
    if let (Some(v), true) = (viewer, node.field("likedByMe").exists()) {
        l.load_many(posts.iter().map(|p| Liked(v, Target::Post(p.id))))
            .await?;
    }
    prefetch_users(ctx, node.field("author"), posts.iter().map(|p| p.author_id)).await?;
    let comments = node.field("comments");
    for n in first_pages(&comments) {
        let pages = l
            .load_many(posts.iter().map(|p| Thread(Target::Post(p.id), n)))
            .await?;
        let all: Vec<comment::Model> = pages.into_values().flat_map(|(c, _)| c).collect();
        prefetch_comments(ctx, comments.field("edges").field("node"), &all).await?;
    }
    Ok(())
}

/// `prefetch_posts` for a page of comments: like flags, authors, and the
/// first page of replies, level by level.
pub(super) fn prefetch_comments<'a>(
    ctx: &'a Context<'_>,
    node: Lookahead<'a>,
    comments: &'a [comment::Model],
) -> futures::future::BoxFuture<'a, async_graphql::Result<()>> {
    Box::pin(async move {
        if comments.is_empty() {
            return Ok(());
        }
        let l = loader(ctx);
        if let (Some(v), true) = (viewer_id(ctx), node.field("likedByMe").exists()) {
            l.load_many(comments.iter().map(|c| Liked(v, Target::Comment(c.id))))
                .await?;
        }
        prefetch_users(
            ctx,
            node.field("author"),
            comments
                .iter()
                .filter(|c| c.deleted_at.is_none())
                .map(|c| c.author_id),
        )
        .await?;
        let replies = node.field("replies");
        for n in first_pages(&replies) {
            let pages = l
                .load_many(comments.iter().map(|c| Thread(Target::Comment(c.id), n)))
                .await?;
            let all: Vec<comment::Model> = pages.into_values().flat_map(|(c, _)| c).collect();
            prefetch_comments(ctx, replies.field("edges").field("node"), &all).await?;
        }
        Ok(())
    })
}

/// The social figures of `User`s a page shows (as authors): follower and
/// following counts, and whether the caller follows them.
async fn prefetch_users(
    ctx: &Context<'_>,
    user: Lookahead<'_>,
    ids: impl Iterator<Item = Uuid>,
) -> async_graphql::Result<()> {
    if !user.exists() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort();
    ids.dedup();
    let l = loader(ctx);
    if user.field("followerCount").exists() {
        l.load_many(ids.iter().map(|u| FollowCount(*u, true)))
            .await?;
    }
    if user.field("followingCount").exists() {
        l.load_many(ids.iter().map(|u| FollowCount(*u, false)))
            .await?;
    }
    if let (Some(v), true) = (viewer_id(ctx), user.field("followedByMe").exists()) {
        l.load_many(ids.iter().map(|u| Follows(v, *u))).await?;
    }
    Ok(())
}
