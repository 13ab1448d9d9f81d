//! Posts and reshares: writes with their counters and events, the feed and
//! a user's posts.

use chrono::Utc;
use kit::auth::Claims;
use kit::Error;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;

use uuid::Uuid;

use super::model::*;
use super::{me, owner_or_moderator, page, text, Notify, Page, Social};

impl Social {
    pub async fn post(&self, id: Uuid) -> Result<Option<post::Model>, Error> {
        Ok(post::Entity::find_by_id(id).one(self.db()).await?)
    }

    pub(super) async fn live_post(&self, id: Uuid) -> Result<post::Model, Error> {
        self.post(id)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("post"))
    }

    pub async fn create_post(
        &self,
        me: Uuid,
        body: &str,
        title_id: Option<Uuid>,
    ) -> Result<post::Model, Error> {
        let body = text::body("body", body, text::POST_MAX)?;
        let txn = self.begin().await?;
        let p = self.insert_post(&txn, me, body, title_id, None).await?;
        self.commit(txn).await?;
        Ok(p)
    }

    pub(super) async fn insert_post(
        &self,
        txn: &DatabaseTransaction,
        me: Uuid,
        body: String,
        title_id: Option<Uuid>,
        reshare_of: Option<Uuid>,
    ) -> Result<post::Model, Error> {
        let p = post::Model {
            id: Uuid::now_v7(),
            author_id: me,
            body,
            title_id,
            reshare_of,
            like_count: 0,
            comment_count: 0,
            share_count: 0,
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: None,
            hidden: None,
        };
        post::Entity::insert(post::ActiveModel::from(p.clone()))
            .exec_without_returning(txn)
            .await?;
        self.notify_mentions(txn, &p.body, p.id, me).await?;
        self.event(
            txn,
            "post_created",
            me,
            &[],
            json!({
                "postId": p.id, "authorId": me, "titleId": title_id, "reshareOf": reshare_of,
                "body": p.body, "createdAt": p.created_at,
            }),
        )
        .await?;
        Ok(p)
    }

    /// Reshares `post_id` (its original when it is itself a reshare), with
    /// an optional comment.
    pub async fn share_post(
        &self,
        me: Uuid,
        post_id: Uuid,
        comment: Option<&str>,
    ) -> Result<post::Model, Error> {
        let body = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => text::body("comment", c, text::POST_MAX)?,
            None => String::new(),
        };
        let mut original = self.live_post(post_id).await?;
        if let Some(root) = original.reshare_of {
            original = self.live_post(root).await?;
        }
        self.refuse_if_blocked(me, original.author_id, "reshare this post")
            .await?;
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(
                post::Column::ShareCount,
                Expr::col(post::Column::ShareCount).add(1),
            )
            .filter(post::Column::Id.eq(original.id))
            .exec(&txn)
            .await?;
        let p = self
            .insert_post(&txn, me, body, original.title_id, Some(original.id))
            .await?;
        self.notify(
            &txn,
            original.author_id,
            Notify::PostReshared,
            Some(original.id),
            me,
        )
        .await?;
        self.commit(txn).await?;
        Ok(p)
    }

    pub async fn edit_post(
        &self,
        claims: &Claims,
        id: Uuid,
        body: &str,
    ) -> Result<post::Model, Error> {
        let body = text::body("body", body, text::POST_MAX)?;
        let p = self.live_post(id).await?;
        if p.author_id != me(claims)? {
            return Err(Error::forbidden("only the author edits a post"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(post::Column::Body, Expr::value(body.clone()))
            .col_expr(post::Column::EditedAt, Expr::value(now))
            .filter(post::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        // With the new text: moderation's flag rules read edits too.
        self.event(
            &txn,
            "post_edited",
            p.author_id,
            &[],
            json!({ "postId": id, "authorId": p.author_id, "body": body, "createdAt": p.created_at }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(post::Model {
            body,
            edited_at: Some(now),
            ..p
        })
    }

    /// Authors delete their posts; moderators and admins remove anyone's.
    pub async fn delete_post(&self, claims: &Claims, id: Uuid) -> Result<(), Error> {
        let p = self.live_post(id).await?;
        owner_or_moderator(claims, p.author_id, "post")?;
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(post::Column::DeletedAt, Expr::value(Utc::now()))
            .filter(post::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if let Some(orig) = p.reshare_of {
            post::Entity::update_many()
                .col_expr(
                    post::Column::ShareCount,
                    Expr::col(post::Column::ShareCount).sub(1),
                )
                .filter(post::Column::Id.eq(orig))
                .exec(&txn)
                .await?;
        }
        self.event(
            &txn,
            "post_deleted",
            me(claims)?,
            &[],
            json!({ "postId": id, "authorId": p.author_id }),
        )
        .await?;
        self.commit(txn).await
    }

    /// Posts of the people `me` follows and `me`'s own, newest first.
    pub async fn feed(
        &self,
        me: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<post::Model>, Error> {
        let followed = Query::select()
            .column(follow::Column::FolloweeId)
            .from(follow::Entity)
            .and_where(Expr::col(follow::Column::FollowerId).eq(me))
            .to_owned();
        let q = post::Entity::find()
            .filter(post::Column::DeletedAt.is_null())
            .filter(
                Condition::any()
                    .add(post::Column::Hidden.is_null())
                    .add(post::Column::AuthorId.eq(me)),
            )
            .filter(
                Condition::any()
                    .add(post::Column::AuthorId.eq(me))
                    .add(post::Column::AuthorId.in_subquery(followed)),
            );
        page(self.db(), q, post::Column::Id, true, n, after, |p| p.id).await
    }

    pub async fn user_posts(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<post::Model>, Error> {
        let q = post::Entity::find()
            .filter(post::Column::DeletedAt.is_null())
            .filter(post::Column::Hidden.is_null())
            .filter(post::Column::AuthorId.eq(user));
        page(self.db(), q, post::Column::Id, true, n, after, |p| p.id).await
    }

    /// The posts of `ids` (deleted ones too; callers filter).
    pub async fn posts_by_id(&self, ids: &[Uuid]) -> Result<Vec<post::Model>, Error> {
        Ok(post::Entity::find()
            .filter(post::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }
}
