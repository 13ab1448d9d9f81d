//! Threaded comments under posts and reviews: writes (depth, counters,
//! notifications), pages of a thread.

use chrono::Utc;
use kit::auth::Claims;
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::json;
use std::collections::HashMap;

use sea_orm::sea_query::Alias;
use uuid::Uuid;

use super::{first_pages, windowed};

use super::model::*;
use super::{me, owner_or_moderator, page, text, Notify, Page, Social, Target, MAX_DEPTH};

impl Social {
    pub async fn comment(&self, id: Uuid) -> Result<Option<comment::Model>, Error> {
        Ok(comment::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// The author of what a comment or like targets, or `NOT_FOUND`.
    pub(super) async fn author_of(&self, target: Target) -> Result<Uuid, Error> {
        let author = match target {
            Target::Post(id) => self
                .post(id)
                .await?
                .filter(|p| p.deleted_at.is_none())
                .map(|p| p.author_id),
            Target::Comment(id) => self
                .comment(id)
                .await?
                .filter(|c| c.deleted_at.is_none())
                .map(|c| c.author_id),
            Target::Review(id) => self
                .review(id)
                .await?
                .filter(|r| r.deleted_at.is_none())
                .map(|r| r.author_id),
        };
        author.ok_or_else(|| Error::not_found(target.kind().to_lowercase()))
    }

    /// A comment on a post or a review, or a reply to `parent` in that thread.
    pub async fn add_comment(
        &self,
        me: Uuid,
        on: Target,
        parent: Option<Uuid>,
        body: &str,
    ) -> Result<comment::Model, Error> {
        let body = text::body("body", body, text::COMMENT_MAX)?;
        let owner = self.author_of(on).await?;
        self.refuse_if_blocked(me, owner, "comment here").await?;
        let (post_id, review_id) = match on {
            Target::Post(id) => (Some(id), None),
            Target::Review(id) => (None, Some(id)),
            Target::Comment(_) => {
                return Err(Error::bad_input(
                    "input",
                    "comment on a post or a review; reply with parentId",
                ))
            }
        };
        let parent = match parent {
            None => None,
            Some(pid) => {
                let p = self
                    .comment(pid)
                    .await?
                    .filter(|c| c.post_id == post_id && c.review_id == review_id)
                    .ok_or_else(|| Error::not_found("parent comment").with_field("parentId"))?;
                if p.depth + 1 > MAX_DEPTH {
                    return Err(Error::bad_input(
                        "parentId",
                        format!(
                            "replies nest {MAX_DEPTH} deep at most; reply higher up the thread"
                        ),
                    ));
                }
                self.refuse_if_blocked(me, p.author_id, "reply to this comment")
                    .await?;
                Some(p)
            }
        };
        let c = comment::Model {
            id: Uuid::now_v7(),
            post_id,
            review_id,
            parent_id: parent.as_ref().map(|p| p.id),
            depth: parent.as_ref().map_or(0, |p| p.depth + 1),
            author_id: me,
            body,
            like_count: 0,
            reply_count: 0,
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: None,
            hidden: None,
        };
        let txn = self.begin().await?;
        comment::Entity::insert(comment::ActiveModel::from(c.clone()))
            .exec_without_returning(&txn)
            .await?;
        match on {
            Target::Post(id) => {
                post::Entity::update_many()
                    .col_expr(
                        post::Column::CommentCount,
                        Expr::col(post::Column::CommentCount).add(1),
                    )
                    .filter(post::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
            }
            _ => {
                review::Entity::update_many()
                    .col_expr(
                        review::Column::CommentCount,
                        Expr::col(review::Column::CommentCount).add(1),
                    )
                    .filter(review::Column::Id.eq(on.id()))
                    .exec(&txn)
                    .await?;
            }
        }
        if let Some(p) = &parent {
            comment::Entity::update_many()
                .col_expr(
                    comment::Column::ReplyCount,
                    Expr::col(comment::Column::ReplyCount).add(1),
                )
                .filter(comment::Column::Id.eq(p.id))
                .exec(&txn)
                .await?;
            self.notify(&txn, p.author_id, Notify::CommentReplied, Some(p.id), me)
                .await?;
        }
        let commented = if matches!(on, Target::Post(_)) {
            Notify::PostCommented
        } else {
            Notify::ReviewCommented
        };
        if parent.as_ref().map(|p| p.author_id) != Some(owner) {
            self.notify(&txn, owner, commented, Some(on.id()), me)
                .await?;
        }
        self.notify_mentions(&txn, &c.body, c.id, me).await?;
        self.event(
            &txn,
            "comment_created",
            me,
            &[&on.id().to_string()],
            json!({
                "commentId": c.id, "postId": post_id, "reviewId": review_id,
                "parentId": c.parent_id, "authorId": me, "body": c.body,
                "createdAt": c.created_at,
            }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(c)
    }

    pub(super) async fn live_comment(&self, id: Uuid) -> Result<comment::Model, Error> {
        self.comment(id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("comment"))
    }

    pub async fn edit_comment(
        &self,
        claims: &Claims,
        id: Uuid,
        body: &str,
    ) -> Result<comment::Model, Error> {
        let body = text::body("body", body, text::COMMENT_MAX)?;
        let c = self.live_comment(id).await?;
        if c.author_id != me(claims)? {
            return Err(Error::forbidden("only the author edits a comment"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::Body, Expr::value(body.clone()))
            .col_expr(comment::Column::EditedAt, Expr::value(now))
            .filter(comment::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "comment_edited",
            c.author_id,
            &[],
            json!({ "commentId": id, "authorId": c.author_id, "body": body, "createdAt": c.created_at }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(comment::Model {
            body,
            edited_at: Some(now),
            ..c
        })
    }

    /// The comment's text goes; its place in the thread (and its replies) stay.
    pub async fn delete_comment(&self, claims: &Claims, id: Uuid) -> Result<comment::Model, Error> {
        let c = self.live_comment(id).await?;
        owner_or_moderator(claims, c.author_id, "comment")?;
        let now = Utc::now();
        let txn = self.begin().await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::DeletedAt, Expr::value(now))
            .col_expr(comment::Column::Body, Expr::value(""))
            .filter(comment::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "comment_deleted",
            me(claims)?,
            &[],
            json!({ "commentId": id, "authorId": c.author_id }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(comment::Model {
            body: String::new(),
            deleted_at: Some(now),
            ..c
        })
    }

    /// Top-level comments of a post or review (or the replies to `parent`),
    /// oldest first.
    pub async fn comments(
        &self,
        on: Target,
        parent: Option<Uuid>,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<comment::Model>, Error> {
        let mut q = comment::Entity::find();
        q = match (parent, on) {
            (Some(p), _) => q.filter(comment::Column::ParentId.eq(p)),
            (None, Target::Post(id)) => q
                .filter(comment::Column::PostId.eq(id))
                .filter(comment::Column::ParentId.is_null()),
            (None, Target::Review(id)) => q
                .filter(comment::Column::ReviewId.eq(id))
                .filter(comment::Column::ParentId.is_null()),
            (None, Target::Comment(id)) => q.filter(comment::Column::ParentId.eq(id)),
        };
        page(self.db(), q, comment::Column::Id, false, n, after, |c| c.id).await
    }

    /// The first `n` comments (oldest first) under each of `parents`, all
    /// of one kind (top level of posts or reviews, or replies to comments),
    /// and whether more follow: one statement for all of them.
    pub async fn first_comments(
        &self,
        kind: &str,
        parents: &[Uuid],
        n: u64,
    ) -> Result<HashMap<Uuid, (Vec<comment::Model>, bool)>, Error> {
        let top_level = || Condition::all().add(Expr::col(Alias::new("parent_id")).is_null());
        let (column, filter) = match kind {
            "POST" => ("post_id", top_level()),
            "REVIEW" => ("review_id", top_level()),
            _ => ("parent_id", Condition::all()),
        };
        let rows: Vec<comment::Model> = windowed(
            self.db(),
            "comments",
            column,
            "id",
            parents.to_vec(),
            filter,
            n,
        )
        .await?;
        let parent = |c: &comment::Model| match kind {
            "POST" => c.post_id,
            "REVIEW" => c.review_id,
            _ => c.parent_id,
        };
        Ok(first_pages(parents, rows, n, parent, |a, b| {
            a.id.cmp(&b.id)
        }))
    }
}
