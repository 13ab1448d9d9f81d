//! Views, social activity and the trending score (see the module `store`
//! for the formula); the social subgraph's rating aggregates.

use chrono::{DateTime, Utc};
use kit::cache::Quota;
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{title, view};
use super::*;

impl Catalog {
    /// Adds social activity on `title_id` at `at` to its trending scores, as
    /// `weight` views would (see the crate README): called by the consumer of
    /// the social subgraph's events, in its transaction, so a redelivered
    /// event counts once. Returns whether the title exists.
    pub async fn add_activity<C: ConnectionTrait>(
        &self,
        conn: &C,
        title_id: Uuid,
        weight: f64,
        at: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let mut fresh = title::Entity::find_by_id(title_id);
        if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            fresh = fresh.lock_exclusive();
        }
        let Some(m) = fresh.one(conn).await? else {
            return Ok(false);
        };
        // `weight` views at `t` add weight·2^(t/h): log2(weight) more in log space.
        let t = at.timestamp() as f64;
        let w = weight.max(f64::MIN_POSITIVE).log2();
        title::Entity::update_many()
            .col_expr(
                title::Column::TrendDay,
                Expr::value(add_view(m.trend_day, t / DAY_HALF_LIFE_SECS + w)),
            )
            .col_expr(
                title::Column::TrendWeek,
                Expr::value(add_view(m.trend_week, t / WEEK_HALF_LIFE_SECS + w)),
            )
            .filter(title::Column::Id.eq(title_id))
            .exec(conn)
            .await?;
        Ok(true)
    }

    /// Joins the social subgraph's rating aggregate for `title` (version
    /// `version`) with the title's own figures; an older or repeated
    /// aggregate changes nothing. Returns whether the title changed.
    pub async fn apply_social_rating<C: ConnectionTrait>(
        &self,
        conn: &C,
        title_id: Uuid,
        social_sum: i64,
        social_count: i64,
        version: i64,
    ) -> Result<bool, Error> {
        let Some(t) = title::Entity::find_by_id(title_id).one(conn).await? else {
            // Ratings of a title the catalog does not have: nothing to show them on.
            return Ok(false);
        };
        if t.rating_version >= version {
            return Ok(false);
        }
        let count = t.rating_base_count + social_count.max(0);
        let average = if count > 0 {
            (t.rating_base_sum + social_sum.max(0) as f64) / count as f64
        } else {
            0.0
        };
        let changed = title::Entity::update_many()
            .col_expr(title::Column::RatingAverage, Expr::value(average))
            .col_expr(title::Column::RatingCount, Expr::value(count))
            .col_expr(title::Column::RatingVersion, Expr::value(version))
            .filter(title::Column::Id.eq(title_id))
            .filter(title::Column::RatingVersion.lt(version))
            .exec(conn)
            .await?
            .rows_affected;
        Ok(changed > 0)
    }

    pub async fn trending(
        &self,
        week: bool,
        kind: Option<&str>,
        n: u64,
    ) -> Result<Vec<title::Model>, Error> {
        let col = if week {
            title::Column::TrendWeek
        } else {
            title::Column::TrendDay
        };
        let load = async {
            Ok(title::Entity::find()
                .filter(title::Column::DeletedAt.is_null())
                .apply_if(kind, |q, k| q.filter(title::Column::Kind.eq(k)))
                .order_by_desc(col)
                .order_by_asc(title::Column::Id)
                .limit(n)
                .all(self.db())
                .await?)
        };
        let key = format!("trending:{week}:{kind:?}:{n}");
        // Keyed by both tags: a write or a counted view refreshes it.
        let views = self.services.cache.tag_version(VIEWS).await.unwrap_or(-1);
        self.cached(CATALOG, &format!("{key}:{views}"), LIST_TTL, load)
            .await
    }

    /// Counts a view once per viewer, title and hour; returns whether it counted.
    pub async fn record_view(
        &self,
        title_id: Uuid,
        viewer: String,
        user: Option<Uuid>,
    ) -> Result<bool, Error> {
        let m = self.get_title(title_id).await?;
        if m.deleted_at.is_some() {
            return Err(Error::not_found("title"));
        }
        // Per viewer, on top of the router's per-client API limit: a burst of
        // views from one viewer cannot push a title up the trending list.
        let key = format!("views:{viewer}");
        match self
            .services
            .cache
            .gcra(&key, Quota::per_minute(VIEWS_PER_MINUTE))
            .await
        {
            Ok(d) if !d.allowed => {
                return Err(Error::new(
                    kit::error::ErrorCode::RateLimited,
                    format!(
                        "too many views; try again in {} s",
                        d.retry_after.as_secs().max(1)
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "view limit unavailable; counting the view"),
        }
        let now = Utc::now();
        let txn = self.db().begin().await?;
        let inserted = view::ActiveModel {
            viewer: Set(viewer),
            title_id: Set(title_id),
            hour: Set(now.timestamp() / 3600),
            user_id: Set(user),
            at: Set(now),
        }
        .insert(&txn)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if kit::db::is_unique_violation(&e) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        // Re-read inside the transaction, locked on PostgreSQL (SQLite
        // serializes writers), so concurrent views add up.
        let mut fresh = title::Entity::find_by_id(title_id);
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            fresh = fresh.lock_exclusive();
        }
        let m = fresh
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("movie"))?;
        let t = now.timestamp() as f64;
        title::Entity::update_many()
            .col_expr(
                title::Column::TrendDay,
                Expr::value(add_view(m.trend_day, t / DAY_HALF_LIFE_SECS)),
            )
            .col_expr(
                title::Column::TrendWeek,
                Expr::value(add_view(m.trend_week, t / WEEK_HALF_LIFE_SECS)),
            )
            .filter(title::Column::Id.eq(title_id))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "viewed",
            user.map(|u| u.to_string()),
            json!({ "titleId": title_id, "kind": "MOVIE" }),
        )
        .await?;
        self.committed(txn, VIEWS).await?;
        Ok(true)
    }

    /// Movies `user` viewed, newest first.
    pub async fn recently_viewed(&self, user: Uuid, n: u64) -> Result<Vec<title::Model>, Error> {
        let views = view::Entity::find()
            .filter(view::Column::UserId.eq(user))
            .order_by_desc(view::Column::At)
            .limit(n * 4)
            .all(self.db())
            .await?;
        let mut ids = Vec::new();
        for v in views {
            if !ids.contains(&v.title_id) {
                ids.push(v.title_id);
            }
        }
        ids.truncate(n as usize);
        let movies: std::collections::HashMap<Uuid, title::Model> = title::Entity::find()
            .filter(title::Column::Id.is_in(ids.clone()))
            .filter(title::Column::DeletedAt.is_null())
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| movies.get(&id).cloned())
            .collect())
    }
}

/// `log2(2^old + 2^now)` without overflow; 0 means "no views yet".
pub fn add_view(old: f64, now: f64) -> f64 {
    if old == 0.0 {
        return now;
    }
    let (hi, lo) = if old > now { (old, now) } else { (now, old) };
    hi + (1.0 + (lo - hi).exp2()).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trending_adds_up_in_log_space() {
        let a = add_view(0.0, 100.0);
        assert_eq!(a, 100.0);
        let b = add_view(a, 100.0);
        assert!((b - 101.0).abs() < 1e-9, "two views now = 2^101");
        // One view a half-life ago is worth half a view now.
        let c = add_view(99.0, 100.0);
        assert!((c - (100.0 + 1.5f64.log2())).abs() < 1e-9);
    }
}
