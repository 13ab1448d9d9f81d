//! Ratings (one score per user and title, the title's aggregate sent to the
//! content subgraph) and reviews.

use chrono::Utc;
use kit::auth::Claims;
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;

use sea_orm::sea_query::Alias;
use uuid::Uuid;

use super::{first_pages, windowed};

use super::model::*;
use super::{check_score, cursor, me, owner_or_moderator, page, text, Page, ReviewSort, Social};

impl Social {
    /// Sets (`Some`) or removes (`None`) `user`'s rating of `title`, keeps the
    /// title's aggregate exact and publishes it with a version that only grows.
    pub(super) async fn set_rating<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        title: Uuid,
        score: Option<i32>,
    ) -> Result<(), Error> {
        // The aggregate row first: it serializes every rating of this title.
        title_stats::Entity::insert(title_stats::ActiveModel {
            title_id: Set(title),
            rating_sum: Set(0),
            rating_count: Set(0),
            version: Set(0),
        })
        .on_conflict(
            OnConflict::column(title_stats::Column::TitleId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        title_stats::Entity::update_many()
            .col_expr(
                title_stats::Column::Version,
                Expr::col(title_stats::Column::Version).add(1),
            )
            .filter(title_stats::Column::TitleId.eq(title))
            .exec(conn)
            .await?;
        let old = rating::Entity::find_by_id((user, title)).one(conn).await?;
        let now = Utc::now();
        let (sum, count): (i64, i64) = match (&old, score) {
            (None, None) => (0, 0),
            (None, Some(s)) => {
                rating::Entity::insert(rating::ActiveModel {
                    user_id: Set(user),
                    title_id: Set(title),
                    score: Set(s),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec_without_returning(conn)
                .await?;
                (s as i64, 1)
            }
            (Some(o), Some(s)) => {
                rating::Entity::update_many()
                    .col_expr(rating::Column::Score, Expr::value(s))
                    .col_expr(rating::Column::UpdatedAt, Expr::value(now))
                    .filter(rating::Column::UserId.eq(user))
                    .filter(rating::Column::TitleId.eq(title))
                    .exec(conn)
                    .await?;
                ((s - o.score) as i64, 0)
            }
            (Some(o), None) => {
                rating::Entity::delete_many()
                    .filter(rating::Column::UserId.eq(user))
                    .filter(rating::Column::TitleId.eq(title))
                    .exec(conn)
                    .await?;
                (-(o.score as i64), -1)
            }
        };
        title_stats::Entity::update_many()
            .col_expr(
                title_stats::Column::RatingSum,
                Expr::col(title_stats::Column::RatingSum).add(sum),
            )
            .col_expr(
                title_stats::Column::RatingCount,
                Expr::col(title_stats::Column::RatingCount).add(count),
            )
            .filter(title_stats::Column::TitleId.eq(title))
            .exec(conn)
            .await?;
        let stats = title_stats::Entity::find_by_id(title)
            .one(conn)
            .await?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("title stats vanished")))?;
        let average = if stats.rating_count > 0 {
            stats.rating_sum as f64 / stats.rating_count as f64
        } else {
            0.0
        };
        self.event(
            conn,
            "rating_changed",
            user,
            &[],
            json!({
                "titleId": title, "userId": user, "score": score,
                "ratingAverage": average, "ratingSum": stats.rating_sum,
                "ratingCount": stats.rating_count,
                "version": stats.version,
            }),
        )
        .await
    }

    pub async fn rate_title(&self, me: Uuid, title: Uuid, score: i32) -> Result<(), Error> {
        check_score("score", score)?;
        let txn = self.begin().await?;
        self.set_rating(&txn, me, title, Some(score)).await?;
        self.commit(txn).await
    }

    pub async fn remove_rating(&self, me: Uuid, title: Uuid) -> Result<(), Error> {
        let txn = self.begin().await?;
        self.set_rating(&txn, me, title, None).await?;
        self.commit(txn).await
    }

    pub async fn rating_of(&self, user: Uuid, title: Uuid) -> Result<Option<i32>, Error> {
        Ok(rating::Entity::find_by_id((user, title))
            .one(self.db())
            .await?
            .map(|r| r.score))
    }

    pub async fn review(&self, id: Uuid) -> Result<Option<review::Model>, Error> {
        Ok(review::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// One review per user per title; a score given with it is also the
    /// user's rating of the title.
    pub async fn write_review(
        &self,
        me: Uuid,
        title: Uuid,
        body: &str,
        score: Option<i32>,
        contains_spoilers: bool,
    ) -> Result<review::Model, Error> {
        let body = text::body("body", body, text::REVIEW_MAX)?;
        if let Some(s) = score {
            check_score("score", s)?;
        }
        let txn = self.begin().await?;
        // A write first, score or not: SQLite takes its write lock here instead
        // of failing to upgrade a read lock under concurrent writers, and
        // PostgreSQL locks this user's review of the title, if any.
        review::Entity::update_many()
            .col_expr(
                review::Column::AuthorId,
                Expr::col(review::Column::AuthorId).into(),
            )
            .filter(review::Column::AuthorId.eq(me))
            .filter(review::Column::TitleId.eq(title))
            .exec(&txn)
            .await?;
        if let Some(s) = score {
            self.set_rating(&txn, me, title, Some(s)).await?;
        }
        let existing = review::Entity::find()
            .filter(review::Column::AuthorId.eq(me))
            .filter(review::Column::TitleId.eq(title))
            .one(&txn)
            .await?;
        let now = Utc::now();
        let r = match existing {
            Some(r) if r.deleted_at.is_none() => {
                txn.rollback().await?;
                return Err(Error::conflict(
                    "you have already reviewed this title; edit that review instead",
                ));
            }
            // A deleted review's place is taken by the new one.
            Some(old) => {
                review::Entity::delete_by_id(old.id).exec(&txn).await?;
                None
            }
            None => None,
        }
        .unwrap_or(review::Model {
            id: Uuid::now_v7(),
            author_id: me,
            title_id: title,
            body,
            score,
            contains_spoilers,
            like_count: 0,
            comment_count: 0,
            created_at: now,
            edited_at: None,
            deleted_at: None,
            hidden: None,
        });
        let inserted = review::Entity::insert(review::ActiveModel::from(r.clone()))
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Err(e) if kit::db::is_unique_violation(&e) => {
                return Err(Error::conflict(
                    "you have already reviewed this title; edit that review instead",
                ))
            }
            other => other?,
        };
        self.notify_mentions(&txn, &r.body, r.id, me).await?;
        self.event(
            &txn,
            "review_created",
            me,
            &[&title.to_string()],
            json!({
                "reviewId": r.id, "titleId": title, "authorId": me, "score": score,
                "body": r.body, "createdAt": r.created_at,
            }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(r)
    }

    pub(super) async fn live_review(&self, id: Uuid) -> Result<review::Model, Error> {
        self.review(id)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("review"))
    }

    pub async fn edit_review(
        &self,
        claims: &Claims,
        id: Uuid,
        body: Option<&str>,
        score: Option<i32>,
        contains_spoilers: Option<bool>,
    ) -> Result<review::Model, Error> {
        let body = body
            .map(|b| text::body("body", b, text::REVIEW_MAX))
            .transpose()?;
        if let Some(s) = score {
            check_score("score", s)?;
        }
        let r = self.live_review(id).await?;
        let author = me(claims)?;
        if r.author_id != author {
            return Err(Error::forbidden("only the author edits a review"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        let mut q = review::Entity::update_many()
            .col_expr(review::Column::EditedAt, Expr::value(now))
            .filter(review::Column::Id.eq(id));
        if let Some(b) = &body {
            q = q.col_expr(review::Column::Body, Expr::value(b.clone()));
        }
        if let Some(s) = score {
            q = q.col_expr(review::Column::Score, Expr::value(s));
        }
        if let Some(sp) = contains_spoilers {
            q = q.col_expr(review::Column::ContainsSpoilers, Expr::value(sp));
        }
        q.exec(&txn).await?;
        if let Some(s) = score {
            self.set_rating(&txn, author, r.title_id, Some(s)).await?;
        }
        if let Some(b) = &body {
            self.event(
                &txn,
                "review_edited",
                author,
                &[],
                json!({ "reviewId": id, "authorId": author, "body": b, "createdAt": r.created_at }),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(review::Model {
            body: body.unwrap_or(r.body),
            score: score.or(r.score),
            contains_spoilers: contains_spoilers.unwrap_or(r.contains_spoilers),
            edited_at: Some(now),
            ..r
        })
    }

    /// Authors delete their reviews (their rating stays); moderators and
    /// admins remove anyone's.
    pub async fn delete_review(&self, claims: &Claims, id: Uuid) -> Result<(), Error> {
        let r = self.live_review(id).await?;
        owner_or_moderator(claims, r.author_id, "review")?;
        let txn = self.begin().await?;
        review::Entity::update_many()
            .col_expr(review::Column::DeletedAt, Expr::value(Utc::now()))
            .filter(review::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "review_deleted",
            me(claims)?,
            &[],
            json!({ "reviewId": id, "authorId": r.author_id }),
        )
        .await?;
        self.commit(txn).await
    }

    /// Reviews of `title` in `sort` order. NEWEST pages by id; the others by
    /// their figure with the id breaking ties (cursor `figure:id`).
    pub async fn reviews(
        &self,
        title: Uuid,
        sort: ReviewSort,
        n: u64,
        after: Option<&str>,
    ) -> Result<Page<review::Model>, Error> {
        let q = review::Entity::find()
            .filter(review::Column::TitleId.eq(title))
            .filter(review::Column::DeletedAt.is_null())
            .filter(review::Column::Hidden.is_null());
        let figure = |r: &review::Model| match sort {
            ReviewSort::Top => r.like_count,
            ReviewSort::Highest | ReviewSort::Lowest => r.score.unwrap_or(0) as i64,
            ReviewSort::Newest => 0,
        };
        if sort == ReviewSort::Newest {
            return page(
                self.db(),
                q,
                review::Column::Id,
                true,
                n,
                cursor("after", after)?,
                |r| r.id,
            )
            .await;
        }
        let col = match sort {
            ReviewSort::Top => Expr::col(review::Column::LikeCount),
            _ => Expr::expr(Expr::cust("COALESCE(score, 0)")),
        };
        let asc = sort == ReviewSort::Lowest;
        let mut q = q;
        if let Some(raw) = after {
            let (v, id) = raw
                .split_once(':')
                .and_then(|(v, id)| Some((v.parse::<i64>().ok()?, Uuid::parse_str(id).ok()?)))
                .ok_or_else(|| Error::bad_input("after", "not a valid cursor"))?;
            let past = if asc {
                col.clone().gt(v)
            } else {
                col.clone().lt(v)
            };
            q = q.filter(
                Condition::any().add(past).add(
                    Condition::all()
                        .add(col.clone().eq(v))
                        .add(review::Column::Id.lt(id)),
                ),
            );
        }
        let order = if asc {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        };
        let mut rows = q
            .order_by(col.clone(), order)
            .order_by_desc(review::Column::Id)
            .limit(n + 1)
            .all(self.db())
            .await?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(Page::new(rows, after.is_some(), has_next_page, |r| {
            format!("{}:{}", figure(r), r.id)
        }))
    }

    pub async fn user_ratings(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<rating::Model>, Error> {
        let q = rating::Entity::find().filter(rating::Column::UserId.eq(user));
        page(self.db(), q, rating::Column::TitleId, true, n, after, |r| {
            r.title_id
        })
        .await
    }

    /// The reviews of `ids` (deleted ones too; callers filter).
    pub async fn reviews_by_id(&self, ids: &[Uuid]) -> Result<Vec<review::Model>, Error> {
        Ok(review::Entity::find()
            .filter(review::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// The newest `n` reviews of each title, and whether more follow: one
    /// statement for a whole page of titles.
    pub async fn first_reviews(
        &self,
        titles: &[Uuid],
        n: u64,
    ) -> Result<HashMap<Uuid, (Vec<review::Model>, bool)>, Error> {
        let rows: Vec<review::Model> = windowed(
            self.db(),
            "reviews",
            "title_id",
            "id DESC",
            titles.to_vec(),
            Condition::all()
                .add(Expr::col(Alias::new("deleted_at")).is_null())
                .add(Expr::col(Alias::new("hidden")).is_null()),
            n,
        )
        .await?;
        Ok(first_pages(
            titles,
            rows,
            n,
            |r| Some(r.title_id),
            |a, b| b.id.cmp(&a.id),
        ))
    }

    /// The ratings any of `users` gave any of `titles`.
    pub async fn ratings_among(
        &self,
        users: &[Uuid],
        titles: &[Uuid],
    ) -> Result<Vec<rating::Model>, Error> {
        Ok(rating::Entity::find()
            .filter(rating::Column::UserId.is_in(users.iter().copied()))
            .filter(rating::Column::TitleId.is_in(titles.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// How many users gave each title each score: `(title, score, count)`,
    /// scores without ratings left out.
    pub async fn score_counts(&self, titles: &[Uuid]) -> Result<Vec<(Uuid, i32, i64)>, Error> {
        Ok(rating::Entity::find()
            .select_only()
            .column(rating::Column::TitleId)
            .column(rating::Column::Score)
            .column_as(Expr::col(rating::Column::Score).count(), "n")
            .filter(rating::Column::TitleId.is_in(titles.iter().copied()))
            .group_by(rating::Column::TitleId)
            .group_by(rating::Column::Score)
            .into_tuple()
            .all(self.db())
            .await?)
    }
}
