//! Likes of posts, comments and reviews: one per user and target, the
//! target's counter changed in the same transaction.

use chrono::Utc;
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

use uuid::Uuid;

use super::model::*;
use super::{Notify, Social, Target};

impl Social {
    /// `me` likes `target`; a second like changes nothing. Returns the
    /// target's like count.
    pub async fn like(&self, me: Uuid, target: Target) -> Result<i64, Error> {
        let author = self.author_of(target).await?;
        self.refuse_if_blocked(me, author, "like this").await?;
        let txn = self.begin().await?;
        let inserted = like::Entity::insert(like::ActiveModel {
            user_id: Set(me),
            target_kind: Set(target.kind().to_string()),
            target_id: Set(target.id()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                like::Column::UserId,
                like::Column::TargetKind,
                like::Column::TargetId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted > 0 {
            self.bump_likes(&txn, target, 1).await?;
            self.notify(&txn, author, Notify::liked(target), Some(target.id()), me)
                .await?;
            self.event(
                &txn,
                "liked",
                me,
                &[],
                json!({ "userId": me, "targetKind": target.kind(), "targetId": target.id(), "authorId": author }),
            )
            .await?;
        }
        let count = self.like_count(&txn, target).await?;
        self.commit(txn).await?;
        Ok(count)
    }

    pub async fn unlike(&self, me: Uuid, target: Target) -> Result<i64, Error> {
        let txn = self.begin().await?;
        let gone = like::Entity::delete_many()
            .filter(like::Column::UserId.eq(me))
            .filter(like::Column::TargetKind.eq(target.kind()))
            .filter(like::Column::TargetId.eq(target.id()))
            .exec(&txn)
            .await?
            .rows_affected;
        if gone > 0 {
            self.bump_likes(&txn, target, -1).await?;
            self.event(
                &txn,
                "unliked",
                me,
                &[],
                json!({ "userId": me, "targetKind": target.kind(), "targetId": target.id() }),
            )
            .await?;
        }
        let count = self.like_count(&txn, target).await?;
        self.commit(txn).await?;
        Ok(count)
    }

    pub(super) async fn bump_likes<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
        by: i64,
    ) -> Result<(), Error> {
        match target {
            Target::Post(id) => {
                post::Entity::update_many()
                    .col_expr(
                        post::Column::LikeCount,
                        Expr::col(post::Column::LikeCount).add(by),
                    )
                    .filter(post::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
            Target::Comment(id) => {
                comment::Entity::update_many()
                    .col_expr(
                        comment::Column::LikeCount,
                        Expr::col(comment::Column::LikeCount).add(by),
                    )
                    .filter(comment::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
            Target::Review(id) => {
                review::Entity::update_many()
                    .col_expr(
                        review::Column::LikeCount,
                        Expr::col(review::Column::LikeCount).add(by),
                    )
                    .filter(review::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn like_count<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
    ) -> Result<i64, Error> {
        let n = match target {
            Target::Post(id) => post::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|p| p.like_count),
            Target::Comment(id) => comment::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|c| c.like_count),
            Target::Review(id) => review::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|r| r.like_count),
        };
        n.ok_or_else(|| Error::not_found(target.kind().to_lowercase()))
    }

    /// The likes any of `users` gave any of the targets `ids` (of any kind).
    pub async fn likes_among(
        &self,
        users: &[Uuid],
        ids: &[Uuid],
    ) -> Result<Vec<like::Model>, Error> {
        Ok(like::Entity::find()
            .filter(like::Column::UserId.is_in(users.iter().copied()))
            .filter(like::Column::TargetId.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }
}
