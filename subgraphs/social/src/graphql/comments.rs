//! Threaded comments: the `Comment` type, pages of a thread (first pages
//! batched across the whole response), and the comment mutations.

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Page, Paged};
use kit::Error;
use uuid::Uuid;

use super::likes::liked_by_me;
use super::loaders::Thread;
use super::prefetch::prefetch_comments;
use super::{claims, gid, hidden_authors, id_of, loader, signed_in, social, viewing_of, User};
use crate::store::model::comment;
use crate::store::{self, Target};

// The fields before the first resolved one are copied from the row.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Comment {
    #[graphql(skip)]
    row: comment::Model,
    pub id: ID,
    /// Null once the comment is deleted.
    pub author: Option<User>,
    /// Null once the comment is deleted (its replies stay).
    pub body: Option<String>,
    pub deleted: bool,
    /// Hidden by moderation: only its author and moderators see it.
    pub hidden: bool,
    pub post_id: Option<ID>,
    pub review_id: Option<ID>,
    pub parent_id: Option<ID>,
    /// 0 for a comment, 1 for a reply, and so on.
    pub depth: i32,
    pub like_count: i64,
}

impl From<comment::Model> for Comment {
    fn from(row: comment::Model) -> Self {
        let live = row.deleted_at.is_none();
        Self {
            id: gid(row.id),
            author: live.then_some(User { id: row.author_id }),
            body: live.then(|| row.body.clone()),
            deleted: !live,
            hidden: row.hidden.is_some(),
            post_id: row.post_id.map(gid),
            review_id: row.review_id.map(gid),
            parent_id: row.parent_id.map(gid),
            depth: row.depth,
            like_count: row.like_count,
            row,
        }
    }
}

impl Paged for Comment {
    const NAME: &'static str = "Comment";
}

#[ComplexObject]
impl Comment {
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Comment(self.row.id)).await
    }
    async fn reply_count(&self) -> i64 {
        self.row.reply_count
    }
    /// Replies, oldest first.
    async fn replies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Comment>> {
        thread(ctx, Target::Comment(self.row.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.row.edited_at
    }
}

/// Comments under `on` (top level of a post or review, or a comment's
/// replies), oldest first; first pages batch across the whole response.
pub(super) async fn thread(
    ctx: &Context<'_>,
    on: Target,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<Comment>> {
    let n = page_size(first)?;
    // Comments of people the caller blocked or was blocked by are left out.
    let hidden = hidden_authors(ctx).await?;
    let viewing = viewing_of(ctx);
    match after {
        None => {
            let (mut rows, more) = loader(ctx)
                .load_one(Thread(on, n))
                .await?
                .unwrap_or_default();
            rows.retain(|c| !hidden.contains(&c.author_id) && viewing.sees(c.author_id, &c.hidden));
            prefetch_comments(ctx, ctx.look_ahead().field("edges").field("node"), &rows).await?;
            Ok(Connection::from_page(
                Page::new(rows, false, more, |c| c.id.to_string()),
                Comment::from,
            ))
        }
        Some(a) => {
            let parent = matches!(on, Target::Comment(_)).then(|| on.id());
            let mut p = social(ctx)
                .comments(on, parent, n, store::cursor("after", Some(&a))?)
                .await?;
            p.items.retain(|(_, c)| {
                !hidden.contains(&c.author_id) && viewing.sees(c.author_id, &c.hidden)
            });
            let rows: Vec<comment::Model> = p.items.iter().map(|(_, c)| c.clone()).collect();
            prefetch_comments(ctx, ctx.look_ahead().field("edges").field("node"), &rows).await?;
            Ok(Connection::from_page(p, Comment::from))
        }
    }
}

fn thread_target(post: &Option<ID>, review: &Option<ID>) -> Result<Target, Error> {
    match (post, review) {
        (Some(p), None) => Ok(Target::Post(id_of("postId", p)?)),
        (None, Some(r)) => Ok(Target::Review(id_of("reviewId", r)?)),
        _ => Err(Error::bad_input(
            "postId",
            "give exactly one of postId and reviewId",
        )),
    }
}

#[derive(InputObject)]
pub struct AddCommentInput {
    /// Exactly one of `postId` and `reviewId`.
    pub post_id: Option<ID>,
    pub review_id: Option<ID>,
    /// The comment replied to (in the same thread).
    pub parent_id: Option<ID>,
    pub body: String,
}

#[derive(Default)]
pub struct CommentQuery;

#[Object]
impl CommentQuery {
    /// A comment (null when moderation hid it, but for its author and
    /// moderators).
    async fn comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Comment>> {
        let viewing = viewing_of(ctx);
        Ok(social(ctx)
            .comment(id_of("id", &id)?)
            .await?
            .filter(|c| viewing.sees(c.author_id, &c.hidden))
            .map(Comment::from))
    }

    /// Top-level comments of a post or a review, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        post_id: Option<ID>,
        review_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Comment>> {
        let on = thread_target(&post_id, &review_id)?;
        thread(ctx, on, first, after).await
    }

    #[graphql(entity)]
    async fn find_comment_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Comment>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        // Null for a blocked author: a live `commentAdded` is not delivered.
        let hidden = hidden_authors(ctx).await?;
        Ok(social(ctx)
            .comment(id)
            .await?
            .filter(|c| {
                !hidden.contains(&c.author_id) && viewing_of(ctx).sees(c.author_id, &c.hidden)
            })
            .map(Comment::from))
    }
}

#[derive(Default)]
pub struct CommentMutation;

#[Object]
impl CommentMutation {
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> async_graphql::Result<Comment> {
        let me = signed_in(ctx)?;
        let on = thread_target(&input.post_id, &input.review_id)?;
        let parent = input
            .parent_id
            .as_ref()
            .map(|p| id_of("input.parentId", p))
            .transpose()?;
        Ok(social(ctx)
            .add_comment(me, on, parent, &input.body)
            .await?
            .into())
    }

    async fn edit_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: String,
    ) -> async_graphql::Result<Comment> {
        Ok(social(ctx)
            .edit_comment(claims(ctx)?, id_of("id", &id)?, &body)
            .await?
            .into())
    }

    /// Removes the comment's text; the thread and its replies stay.
    async fn delete_comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Comment> {
        Ok(social(ctx)
            .delete_comment(claims(ctx)?, id_of("id", &id)?)
            .await?
            .into())
    }
}
