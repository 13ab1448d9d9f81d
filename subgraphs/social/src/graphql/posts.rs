//! Posts and reshares: the `Post` type, the feed and a user's posts, and the
//! post mutations.

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Page, Paged};
use uuid::Uuid;

use super::comments::{thread, Comment};
use super::likes::liked_by_me;
use super::loaders::PostKey;
use super::prefetch::prefetch_posts;
use super::titles::Title;
use super::{claims, gid, hidden_authors, id_of, loader, signed_in, social, User};
use crate::store::model::post;
use crate::store::{self, Target};
use kit::auth::viewer;

// The fields before the first resolved one are copied from the row (the
// SDL lists a SimpleObject's own fields before its ComplexObject's).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Post {
    #[graphql(skip)]
    row: post::Model,
    pub id: ID,
    /// Null when the users subgraph cannot answer for the account.
    pub author: Option<User>,
    /// Plain text; empty for a reshare without a comment.
    pub body: String,
    /// The movie or series the post is about.
    pub title_id: Option<ID>,
    /// The movie or series the post is about (null too when content cannot answer).
    pub title: Option<Title>,
}

impl From<post::Model> for Post {
    fn from(row: post::Model) -> Self {
        Self {
            id: gid(row.id),
            author: Some(User { id: row.author_id }),
            body: row.body.clone(),
            title_id: row.title_id.map(gid),
            title: row.title_id.and_then(Title::of),
            row,
        }
    }
}

impl Paged for Post {
    const NAME: &'static str = "Post";
}

#[ComplexObject]
impl Post {
    /// The original, when this post is a reshare (null once it is deleted).
    async fn reshared_post(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Post>> {
        match self.row.reshare_of {
            Some(id) => live_post(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn is_reshare(&self) -> bool {
        self.row.reshare_of.is_some()
    }
    async fn like_count(&self) -> i64 {
        self.row.like_count
    }
    async fn comment_count(&self) -> i64 {
        self.row.comment_count
    }
    async fn share_count(&self) -> i64 {
        self.row.share_count
    }
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Post(self.row.id)).await
    }
    /// Top-level comments, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Comment>> {
        thread(ctx, Target::Post(self.row.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.row.edited_at
    }
    /// Hidden by moderation: only its author and moderators see it.
    async fn hidden(&self) -> bool {
        self.row.hidden.is_some()
    }
}

/// Post `id` through the request's loader, unless it was deleted.
pub(super) async fn live_post(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Post>> {
    Ok(loader(ctx)
        .load_one(PostKey(id))
        .await?
        .filter(|p| p.deleted_at.is_none())
        .map(Post::from))
}

/// Posts of one page as a connection, what their items ask for prefetched.
pub(super) async fn post_page(
    ctx: &Context<'_>,
    page: Page<post::Model>,
) -> async_graphql::Result<Connection<Post>> {
    let models: Vec<post::Model> = page.items.iter().map(|(_, p)| p.clone()).collect();
    prefetch_posts(ctx, ctx.look_ahead().field("edges").field("node"), &models).await?;
    Ok(Connection::from_page(page, Post::from))
}

/// `user`'s posts, newest first, when the caller may see the user's lists.
pub(super) async fn posts_of(
    ctx: &Context<'_>,
    user: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<Post>> {
    let s = social(ctx);
    s.require_lists(viewer(ctx), user).await?;
    let p = s
        .user_posts(
            user,
            page_size(first)?,
            store::cursor("after", after.as_deref())?,
        )
        .await?;
    post_page(ctx, p).await
}

#[derive(InputObject)]
pub struct CreatePostInput {
    pub body: String,
    /// A movie or series the post is about.
    pub title_id: Option<ID>,
}

#[derive(Default)]
pub struct PostQuery;

#[Object]
impl PostQuery {
    /// A post (null when there is none, it was deleted, or one of you
    /// blocked the other).
    async fn post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Post>> {
        let id = id_of("id", &id)?;
        let hidden = hidden_authors(ctx).await?;
        Ok(loader(ctx)
            .load_one(PostKey(id))
            .await?
            .filter(|p| p.deleted_at.is_none() && !hidden.contains(&p.author_id))
            .map(Post::from))
    }

    /// Posts of the people you follow and yours, newest first, with reshares.
    async fn feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Post>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .feed(
                me,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        post_page(ctx, p).await
    }

    async fn user_posts(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Post>> {
        posts_of(ctx, id_of("userId", &user_id)?, first, after).await
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(id.as_str()).ok().map(|id| User { id })
    }

    #[graphql(entity)]
    async fn find_post_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let hidden = hidden_authors(ctx).await?;
        Ok(loader(ctx)
            .load_one(PostKey(id))
            .await?
            .filter(|p| !hidden.contains(&p.author_id))
            .map(Post::from))
    }
}

#[derive(Default)]
pub struct PostMutation;

#[Object]
impl PostMutation {
    async fn create_post(
        &self,
        ctx: &Context<'_>,
        input: CreatePostInput,
    ) -> async_graphql::Result<Post> {
        let me = signed_in(ctx)?;
        let title = input
            .title_id
            .as_ref()
            .map(|t| id_of("input.titleId", t))
            .transpose()?;
        Ok(social(ctx)
            .create_post(me, &input.body, title)
            .await?
            .into())
    }

    async fn edit_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: String,
    ) -> async_graphql::Result<Post> {
        Ok(social(ctx)
            .edit_post(claims(ctx)?, id_of("id", &id)?, &body)
            .await?
            .into())
    }

    async fn delete_post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        social(ctx)
            .delete_post(claims(ctx)?, id_of("id", &id)?)
            .await?;
        Ok(true)
    }

    /// Reshares a post (its original, when it is a reshare), with an optional comment.
    async fn share_post(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
        comment: Option<String>,
    ) -> async_graphql::Result<Post> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .share_post(me, id_of("postId", &post_id)?, comment.as_deref())
            .await?
            .into())
    }
}
