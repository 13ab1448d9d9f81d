//! Moderation's decisions applied where the content lives: hiding,
//! restoring and deleting posts, comments and reviews, and hiding a banned
//! account's content (restored when it is reinstated). Each runs in the
//! consumer's transaction, once per event (kit's processed-events table);
//! the statements are conditional, so a decision applied twice changes
//! nothing either. A hidden comment leaves its post's or review's count.

use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::model::{chat_message, comment, post, review};
use super::{Social, Target};

/// What moderation decided about one post, comment or review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Hide,
    Delete,
    Restore,
}

impl Social {
    /// Applies `decision` to `target`.
    pub async fn moderate(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
        decision: Decision,
    ) -> Result<(), Error> {
        let (mark, from): (Option<&str>, &[&str]) = match decision {
            Decision::Hide => (Some("HIDE"), &[]),
            Decision::Delete => (Some("DELETE"), &["HIDE"]),
            Decision::Restore => (None, &["HIDE", "DELETE"]),
        };
        match target {
            Target::Post(id) => {
                let mut q = post::Entity::update_many()
                    .col_expr(post::Column::Hidden, Expr::value(mark))
                    .filter(post::Column::Id.eq(id));
                q = match mark {
                    Some(_) => q.filter(
                        post::Column::Hidden
                            .is_null()
                            .or(post::Column::Hidden.is_in(from.iter().copied())),
                    ),
                    None => q.filter(post::Column::Hidden.is_in(from.iter().copied())),
                };
                q.exec(txn).await?;
            }
            Target::Review(id) => {
                let mut q = review::Entity::update_many()
                    .col_expr(review::Column::Hidden, Expr::value(mark))
                    .filter(review::Column::Id.eq(id));
                q = match mark {
                    Some(_) => q.filter(
                        review::Column::Hidden
                            .is_null()
                            .or(review::Column::Hidden.is_in(from.iter().copied())),
                    ),
                    None => q.filter(review::Column::Hidden.is_in(from.iter().copied())),
                };
                q.exec(txn).await?;
            }
            Target::Comment(id) => {
                let Some(c) = comment::Entity::find_by_id(id).one(txn).await? else {
                    return Ok(());
                };
                let was_visible = c.hidden.is_none();
                let mut q = comment::Entity::update_many()
                    .col_expr(comment::Column::Hidden, Expr::value(mark))
                    .filter(comment::Column::Id.eq(id));
                q = match mark {
                    Some(_) => q.filter(
                        comment::Column::Hidden
                            .is_null()
                            .or(comment::Column::Hidden.is_in(from.iter().copied())),
                    ),
                    None => q.filter(comment::Column::Hidden.is_in(from.iter().copied())),
                };
                let n = q.exec(txn).await?.rows_affected;
                // The counts pages show follow: a hidden comment is not counted.
                let delta = match (n > 0, was_visible, mark.is_some()) {
                    (true, true, true) => -1,
                    (true, false, false) => 1,
                    _ => 0,
                };
                if delta != 0 {
                    self.count_comment(txn, &c, delta).await?;
                }
            }
        }
        Ok(())
    }

    /// `delta` is an `i32` like the `1` that `add_comment` binds into the
    /// same statements: PostgreSQL's prepared statements keep the parameter
    /// type of their first use, and an `i64` here would be refused.
    async fn count_comment(
        &self,
        txn: &DatabaseTransaction,
        c: &comment::Model,
        delta: i32,
    ) -> Result<(), Error> {
        if let Some(p) = c.post_id {
            post::Entity::update_many()
                .col_expr(
                    post::Column::CommentCount,
                    Expr::col(post::Column::CommentCount).add(delta),
                )
                .filter(post::Column::Id.eq(p))
                .exec(txn)
                .await?;
        }
        if let Some(r) = c.review_id {
            review::Entity::update_many()
                .col_expr(
                    review::Column::CommentCount,
                    Expr::col(review::Column::CommentCount).add(delta),
                )
                .filter(review::Column::Id.eq(r))
                .exec(txn)
                .await?;
        }
        if let Some(parent) = c.parent_id {
            comment::Entity::update_many()
                .col_expr(
                    comment::Column::ReplyCount,
                    Expr::col(comment::Column::ReplyCount).add(delta),
                )
                .filter(comment::Column::Id.eq(parent))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    /// Applies `decision` to chat message `id`.
    pub async fn moderate_message(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
        decision: Decision,
    ) -> Result<(), Error> {
        let q = chat_message::Entity::update_many().filter(chat_message::Column::Id.eq(id));
        let q = match decision {
            Decision::Hide => q
                .col_expr(chat_message::Column::Hidden, Expr::value("HIDE"))
                .filter(chat_message::Column::Hidden.is_null()),
            Decision::Delete => q
                .col_expr(chat_message::Column::Hidden, Expr::value("DELETE"))
                .filter(
                    chat_message::Column::Hidden
                        .is_null()
                        .or(chat_message::Column::Hidden.eq("HIDE")),
                ),
            Decision::Restore => q
                .col_expr(
                    chat_message::Column::Hidden,
                    Expr::value(Option::<String>::None),
                )
                .filter(chat_message::Column::Hidden.is_in(["HIDE", "DELETE"])),
        };
        q.exec(txn).await?;
        Ok(())
    }

    /// Hides (`banned`) or restores everything `user` wrote that a ban hid.
    pub async fn moderate_author(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        banned: bool,
    ) -> Result<(), Error> {
        let (mark, from): (Option<&str>, Option<&str>) = if banned {
            (Some("BAN"), None)
        } else {
            (None, Some("BAN"))
        };
        macro_rules! apply {
            ($ent:ident) => {{
                let q = $ent::Entity::update_many()
                    .col_expr($ent::Column::Hidden, Expr::value(mark))
                    .filter($ent::Column::AuthorId.eq(user));
                let q = match from {
                    Some(f) => q.filter($ent::Column::Hidden.eq(f)),
                    None => q.filter($ent::Column::Hidden.is_null()),
                };
                q.exec(txn).await?;
            }};
        }
        apply!(post);
        apply!(comment);
        apply!(review);
        apply!(chat_message);
        Ok(())
    }
}
