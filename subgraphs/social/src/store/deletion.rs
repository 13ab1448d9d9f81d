//! What a deleted account leaves behind here.

use chrono::Utc;
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use super::model::*;
use super::Social;

impl Social {
    /// What `users.user_deleted` does here: the account's follows, blocks,
    /// likes, ratings, lists, notifications and chat memberships go (counters
    /// and title aggregates follow); its posts, comments and reviews stay in
    /// their threads with their text removed.
    pub async fn forget_user(&self, txn: &DatabaseTransaction, user: Uuid) -> Result<(), Error> {
        let now = Utc::now();
        for (kind, table) in [
            ("POST", "posts"),
            ("COMMENT", "comments"),
            ("REVIEW", "reviews"),
        ] {
            let liked = Query::select()
                .column(like::Column::TargetId)
                .from(like::Entity)
                .and_where(Expr::col(like::Column::UserId).eq(user))
                .and_where(Expr::col(like::Column::TargetKind).eq(kind))
                .to_owned();
            let stmt = Query::update()
                .table(sea_orm::sea_query::Alias::new(table))
                .value(
                    sea_orm::sea_query::Alias::new("like_count"),
                    Expr::col(sea_orm::sea_query::Alias::new("like_count")).sub(1),
                )
                .and_where(Expr::col(sea_orm::sea_query::Alias::new("id")).in_subquery(liked))
                .to_owned();
            txn.execute(txn.get_database_backend().build(&stmt)).await?;
        }
        like::Entity::delete_many()
            .filter(like::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        let rated: Vec<Uuid> = rating::Entity::find()
            .filter(rating::Column::UserId.eq(user))
            .all(txn)
            .await?
            .into_iter()
            .map(|r| r.title_id)
            .collect();
        for title in rated {
            self.set_rating(txn, user, title, None).await?;
        }
        follow::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(follow::Column::FollowerId.eq(user))
                    .add(follow::Column::FolloweeId.eq(user)),
            )
            .exec(txn)
            .await?;
        block::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(block::Column::BlockerId.eq(user))
                    .add(block::Column::BlockedId.eq(user)),
            )
            .exec(txn)
            .await?;
        watchlist::Entity::delete_many()
            .filter(watchlist::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        watch_history::Entity::delete_many()
            .filter(watch_history::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        notification::Entity::delete_many()
            .filter(notification::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        chat_member::Entity::delete_many()
            .filter(chat_member::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        post::Entity::update_many()
            .col_expr(post::Column::DeletedAt, Expr::value(now))
            .col_expr(post::Column::Body, Expr::value(""))
            .filter(post::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::DeletedAt, Expr::value(now))
            .col_expr(comment::Column::Body, Expr::value(""))
            .filter(comment::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        review::Entity::update_many()
            .col_expr(review::Column::DeletedAt, Expr::value(now))
            .col_expr(review::Column::Body, Expr::value(""))
            .filter(review::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        chat_message::Entity::update_many()
            .col_expr(chat_message::Column::Body, Expr::value(""))
            .filter(chat_message::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        profile::Entity::insert(profile::ActiveModel {
            user_id: Set(user),
            username: Set(None),
            username_key: Set(None),
            private: Set(true),
            deleted: Set(true),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(profile::Column::UserId)
                .update_columns([
                    profile::Column::Username,
                    profile::Column::UsernameKey,
                    profile::Column::Private,
                    profile::Column::Deleted,
                    profile::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }
}
