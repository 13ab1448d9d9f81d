//! The catalog's reads and writes, split by area (one `impl Catalog` block
//! each); every SQL statement of the subgraph lives here and nothing here
//! knows GraphQL: filtered, sorted, keyset-paged title lists; writes with
//! validation and outbox events (which the search index follows); search
//! documents; featured windows; views and the trending score.
//!
//! Trending: each view adds 1 to a score that halves every half-life (6 hours
//! for `DAY`, 2 days for `WEEK`). Stored as `log2(score)` measured in
//! half-lives since the epoch, so `trend = log2(2^trend + 2^(now/h))` is an
//! incremental update and ordering by the stored number equals ordering by
//! the decayed score at any moment, without rewriting rows as time passes.

mod featured;
mod filter;
mod indexing;
pub mod model;
mod people;
mod series;
mod titles;
mod trending;

use std::sync::Arc;
use std::time::Duration;

use kit::{Error, Services};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::search::SearchIndex;
use model::title;

pub use filter::Filter;
pub use kit::paging::{page_size, page_size_of, Page, DEFAULT_PAGE, MAX_PAGE};
pub use series::{EpisodeInput, SeasonInput};
pub use titles::TitleInput;
pub use trending::add_view;

pub const MAX_CATEGORIES_PER_TITLE: usize = 10;
pub const DAY_HALF_LIFE_SECS: f64 = 6.0 * 3600.0;
pub const WEEK_HALF_LIFE_SECS: f64 = 48.0 * 3600.0;

/// `titles.kind` of movies.
pub const MOVIE: &str = "MOVIE";
/// `titles.kind` of series.
pub const SERIES: &str = "SERIES";

/// Series statuses (movies are `released` or `planned`).
const STATUSES: [&str; 6] = [
    "released",
    "planned",
    "in_production",
    "returning",
    "ended",
    "canceled",
];

/// Views one viewer may record per minute (each title still counts once an hour).
pub const VIEWS_PER_MINUTE: u32 = 30;

/// Cache tags: every catalog write bumps `CATALOG`; counted views bump `VIEWS`.
const CATALOG: &str = "catalog";
const VIEWS: &str = "views";
const LIST_TTL: Duration = Duration::from_secs(60);

/// The orders of a title list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovieSort {
    PopularityDesc,
    RatingDesc,
    ReleaseDateDesc,
    ReleaseDateAsc,
    TitleAsc,
    TrendingDesc,
}

impl MovieSort {
    fn column(self) -> (title::Column, bool) {
        match self {
            MovieSort::PopularityDesc => (title::Column::Popularity, true),
            MovieSort::RatingDesc => (title::Column::RatingAverage, true),
            MovieSort::ReleaseDateDesc => (title::Column::ReleaseDate, true),
            MovieSort::ReleaseDateAsc => (title::Column::ReleaseDate, false),
            MovieSort::TitleAsc => (title::Column::TitleKey, false),
            MovieSort::TrendingDesc => (title::Column::TrendWeek, true),
        }
    }

    fn key(self, m: &title::Model) -> serde_json::Value {
        match self {
            MovieSort::PopularityDesc => json!(m.popularity),
            MovieSort::RatingDesc => json!(m.rating_average),
            MovieSort::ReleaseDateDesc | MovieSort::ReleaseDateAsc => json!(m.release_date),
            MovieSort::TitleAsc => json!(m.title_key),
            MovieSort::TrendingDesc => json!(m.trend_week),
        }
    }
}

/// Relay paging arguments of one list.
#[derive(Default, Clone, Copy)]
pub struct PageArgs<'a> {
    pub first: Option<i32>,
    pub after: Option<&'a str>,
    pub last: Option<i32>,
    pub before: Option<&'a str>,
}

pub struct Catalog {
    pub services: Services,
    pub search: SearchIndex,
}

impl Catalog {
    /// The catalog over `services` with the search engine its config names
    /// (opened, not yet checked against the catalog: see [`Catalog::prepare_search`]).
    pub fn new(services: Services) -> Result<Arc<Self>, Error> {
        let search = SearchIndex::open(&services.config)?;
        Ok(Arc::new(Self { services, search }))
    }

    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    async fn bump(&self) {
        self.services.bump_tag(CATALOG).await;
    }

    /// Drops every cached catalog answer (after a consumed event changed titles).
    pub async fn invalidate(&self) {
        self.bump().await;
    }

    /// `load()`'s answer from the cache under `key` (versioned by `tag`),
    /// else loaded and kept for `ttl`. A cache that fails is bypassed.
    async fn cached<T, F>(&self, tag: &str, key: &str, ttl: Duration, load: F) -> Result<T, Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let cache = &self.services.cache;
        let key = match cache.versioned_key(tag, key).await {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(error = %e, "catalog cache unavailable");
                None
            }
        };
        if let Some(k) = &key {
            if let Ok(Some(hit)) = cache.get_json::<T>(k).await {
                metrics::counter!("marquee_content_cache_total", "result" => "hit").increment(1);
                return Ok(hit);
            }
        }
        metrics::counter!("marquee_content_cache_total", "result" => "miss").increment(1);
        let value = load.await?;
        if let Some(k) = &key {
            if let Err(e) = cache.set_json(k, &value, ttl).await {
                tracing::warn!(error = %e, "cannot fill the catalog cache");
            }
        }
        Ok(value)
    }

    /// Writes `content.<name>` to the outbox on `conn`.
    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<String>,
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        self.services
            .record_event(conn, name, actor, payload, &[])
            .await
    }

    /// Commits a write: its outbox events go out at once and cached
    /// answers versioned by `tag` are orphaned.
    async fn committed(&self, txn: sea_orm::DatabaseTransaction, tag: &str) -> Result<(), Error> {
        self.services.commit(txn, &[tag]).await
    }
}

pub fn slugify(s: &str) -> String {
    let words = crate::search::words(s);
    let mut slug = words.join("-");
    slug.truncate(80);
    if slug.is_empty() {
        slug = "untitled".into();
    }
    slug
}

fn clean_line(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string();
    if s.is_empty() {
        return Err(Error::bad_input(field, "may not be empty"));
    }
    if s.chars().count() > max {
        return Err(Error::bad_input(field, format!("at most {max} characters")));
    }
    Ok(s)
}

fn clean_text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s: String = raw
        .chars()
        .filter(|&c| !c.is_control() || c == '\n')
        .collect::<String>()
        .trim()
        .to_string();
    if s.chars().count() > max {
        return Err(Error::bad_input(field, format!("at most {max} characters")));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable() {
        assert_eq!(slugify("The Godfather: Part II"), "the-godfather-part-ii");
        assert_eq!(slugify("Amélie"), "amelie");
        assert_eq!(slugify("!!!"), "untitled");
    }
}
