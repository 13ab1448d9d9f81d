//! The catalog's reads and writes apart from GraphQL: filtered, sorted,
//! keyset-paged movie lists; writes with validation and outbox events (which
//! the search index follows); search documents; featured windows; views and
//! the trending score.
//!
//! Trending: each view adds 1 to a score that halves every half-life (6 hours
//! for `DAY`, 2 days for `WEEK`). Stored as `log2(score)` measured in
//! half-lives since the epoch, so `trend = log2(2^trend + 2^(now/h))` is an
//! incremental update and ordering by the stored number equals ordering by
//! the decayed score at any moment, without rewriting rows as time passes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kit::cache::Quota;
use kit::{Error, Services};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait, Value,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::{
    category, credit, episode, featured, person, season, title, title_category, view,
};
use crate::search::{Doc, SearchIndex};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
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

/// What a movie list is narrowed to.
#[derive(Default, Clone, Debug)]
pub struct Filter {
    /// `MOVIE` or `SERIES`; none keeps both.
    pub kind: Option<&'static str>,
    pub genres: Vec<String>,
    pub all_genres: bool,
    pub categories: Vec<String>,
    pub year: Option<i32>,
    pub released_from: Option<NaiveDate>,
    pub released_to: Option<NaiveDate>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub min_votes: Option<i64>,
    pub runtime_min: Option<i32>,
    pub runtime_max: Option<i32>,
    pub language: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    /// Whether items come before this page (with `after`: assumed so).
    pub has_previous_page: bool,
    pub total_count: u64,
}

/// Relay paging arguments of one list.
#[derive(Default, Clone, Copy)]
pub struct PageArgs<'a> {
    pub first: Option<i32>,
    pub after: Option<&'a str>,
    pub last: Option<i32>,
    pub before: Option<&'a str>,
}

pub fn page_size(first: Option<i32>) -> Result<u64, Error> {
    page_size_of("first", first)
}

fn page_size_of(field: &str, n: Option<i32>) -> Result<u64, Error> {
    match n {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(Error::bad_input(
            field,
            format!("{field} must be between 1 and {MAX_PAGE}"),
        )),
    }
}

fn slugs(field: &str, list: &[String]) -> Result<Vec<String>, Error> {
    if list.len() > 20 {
        return Err(Error::bad_input(field, "at most 20 slugs"));
    }
    list.iter()
        .map(|s| {
            let s = s.trim().to_lowercase();
            if s.is_empty() || s.len() > 64 {
                Err(Error::bad_input(field, format!("`{s}` is not a slug")))
            } else {
                Ok(s)
            }
        })
        .collect()
}

/// Movies in any (or all) of the categories `slugs`, optionally of one kind.
fn in_categories(slugs: Vec<String>, all: bool, kind: Option<&str>) -> Condition {
    let n = slugs.len();
    let mut sub = Query::select();
    sub.column((title_category::Entity, title_category::Column::TitleId))
        .from(title_category::Entity)
        .inner_join(
            category::Entity,
            Expr::col((category::Entity, category::Column::Id))
                .equals((title_category::Entity, title_category::Column::CategoryId)),
        )
        .and_where(Expr::col((category::Entity, category::Column::Slug)).is_in(slugs));
    if let Some(k) = kind {
        sub.and_where(Expr::col((category::Entity, category::Column::Kind)).eq(k));
    }
    if all {
        sub.group_by_col((title_category::Entity, title_category::Column::TitleId))
            .and_having(Expr::cust(format!(
                "COUNT(DISTINCT \"categories\".\"id\") = {n}"
            )));
    }
    Condition::all().add(title::Column::Id.in_subquery(sub.to_owned()))
}

impl Filter {
    pub fn condition(&self) -> Result<Condition, Error> {
        let mut c = Condition::all().add(title::Column::DeletedAt.is_null());
        if let Some(k) = self.kind {
            c = c.add(title::Column::Kind.eq(k));
        }
        if !self.genres.is_empty() {
            c = c.add(in_categories(
                slugs("filter.genres", &self.genres)?,
                self.all_genres,
                Some("GENRE"),
            ));
        }
        if !self.categories.is_empty() {
            c = c.add(in_categories(
                slugs("filter.categories", &self.categories)?,
                self.all_genres,
                None,
            ));
        }
        if let Some(y) = self.year {
            c = c.add(title::Column::Year.eq(y));
        }
        if let Some(d) = self.released_from {
            c = c.add(title::Column::ReleaseDate.gte(d.to_string()));
        }
        if let Some(d) = self.released_to {
            c = c.add(title::Column::ReleaseDate.lte(d.to_string()));
        }
        for (field, v) in [
            ("filter.ratingMin", self.rating_min),
            ("filter.ratingMax", self.rating_max),
        ] {
            if let Some(v) = v {
                if !(0.0..=10.0).contains(&v) {
                    return Err(Error::bad_input(field, "ratings are between 0 and 10"));
                }
            }
        }
        if let Some(v) = self.rating_min {
            c = c.add(title::Column::RatingAverage.gte(v));
        }
        if let Some(v) = self.rating_max {
            c = c.add(title::Column::RatingAverage.lte(v));
        }
        if let Some(v) = self.min_votes {
            c = c.add(title::Column::RatingCount.gte(v));
        }
        if let Some(v) = self.runtime_min {
            c = c.add(title::Column::Runtime.gte(v));
        }
        if let Some(v) = self.runtime_max {
            c = c.add(title::Column::Runtime.lte(v));
        }
        if let Some(l) = &self.language {
            c = c.add(title::Column::Language.eq(l.trim().to_lowercase()));
        }
        if let Some(s) = &self.status {
            c = c.add(title::Column::Status.eq(s.trim().to_lowercase()));
        }
        Ok(c)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode_cursor(key: serde_json::Value, id: Uuid) -> String {
    B64.encode(json!([key, id]).to_string())
}

fn decode_cursor(field: &str, c: &str) -> Result<(serde_json::Value, Uuid), Error> {
    let bad = || Error::bad_input(field, "not a cursor from this list");
    let bytes = B64.decode(c).map_err(|_| bad())?;
    let (key, id): (serde_json::Value, Uuid) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok((key, id))
}

fn sql_value(v: &serde_json::Value) -> Option<Value> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().map(Value::from),
        serde_json::Value::String(s) => Some(Value::from(s.clone())),
        _ => None,
    }
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

    /// One page of movies matching `filter` in `sort` order: the `first`
    /// after `after`, or the `last` before `before`.
    /// First pages (no cursor) are cached until the next write.
    pub async fn movies(
        &self,
        filter: &Filter,
        sort: MovieSort,
        args: PageArgs<'_>,
    ) -> Result<Page<title::Model>, Error> {
        if args.after.is_some() || args.before.is_some() {
            return self.load_movies(filter, sort, args).await;
        }
        let key = format!("{filter:?}|{sort:?}|{:?}|{:?}", args.first, args.last);
        let key = format!("movies:{}", hex(&Sha256::digest(key.as_bytes())[..12]));
        self.cached(
            CATALOG,
            &key,
            LIST_TTL,
            self.load_movies(filter, sort, args),
        )
        .await
    }

    async fn load_movies(
        &self,
        filter: &Filter,
        sort: MovieSort,
        args: PageArgs<'_>,
    ) -> Result<Page<title::Model>, Error> {
        let backward = args.last.is_some() || args.before.is_some();
        if backward && (args.first.is_some() || args.after.is_some()) {
            return Err(Error::bad_input(
                "last",
                "page with first/after or with last/before, not both",
            ));
        }
        let (n, cursor, field) = if backward {
            (page_size_of("last", args.last)?, args.before, "before")
        } else {
            (page_size_of("first", args.first)?, args.after, "after")
        };
        let cond = filter.condition()?;
        let total_count = title::Entity::find()
            .filter(cond.clone())
            .count(self.db())
            .await?;
        let (col, desc) = sort.column();
        // Walking backward reads the list in reverse from the cursor.
        let scan_desc = desc != backward;
        let mut page = cond;
        if let Some(cursor) = cursor {
            let (key, id) = decode_cursor(field, cursor)?;
            let v = sql_value(&key)
                .ok_or_else(|| Error::bad_input(field, "not a cursor from this list"))?;
            let beyond = if scan_desc {
                Expr::col(col).lt(v.clone())
            } else {
                Expr::col(col).gt(v.clone())
            };
            let tie = if backward {
                title::Column::Id.lt(id)
            } else {
                title::Column::Id.gt(id)
            };
            page = page.add(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(Expr::col(col).eq(v)).add(tie)),
            );
        }
        let q = title::Entity::find().filter(page);
        let q = if scan_desc {
            q.order_by_desc(col)
        } else {
            q.order_by_asc(col)
        };
        let q = if backward {
            q.order_by_desc(title::Column::Id)
        } else {
            q.order_by_asc(title::Column::Id)
        };
        let mut rows = q.limit(n + 1).all(self.db()).await?;
        let more = rows.len() as u64 > n;
        rows.truncate(n as usize);
        if backward {
            rows.reverse();
        }
        Ok(Page {
            items: rows
                .into_iter()
                .map(|m| (encode_cursor(sort.key(&m), m.id), m))
                .collect(),
            has_next_page: if backward { cursor.is_some() } else { more },
            has_previous_page: if backward { more } else { cursor.is_some() },
            total_count,
        })
    }

    /// The live title of `kind` with `slug`.
    pub async fn title_by_slug(
        &self,
        kind: &str,
        slug: &str,
    ) -> Result<Option<title::Model>, Error> {
        Ok(title::Entity::find()
            .filter(title::Column::Kind.eq(kind))
            .filter(title::Column::Slug.eq(slug.trim().to_lowercase()))
            .filter(title::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }

    pub async fn get_title(&self, id: Uuid) -> Result<title::Model, Error> {
        title::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("movie"))
    }

    /// Genre slugs of each movie in `ids`.
    pub async fn genres_of(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, Vec<category::Model>>, Error> {
        let links = title_category::Entity::find()
            .filter(title_category::Column::TitleId.is_in(ids.iter().copied()))
            .all(self.db())
            .await?;
        let cats: std::collections::HashMap<Uuid, category::Model> = category::Entity::find()
            .filter(category::Column::Id.is_in(links.iter().map(|l| l.category_id)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut out: std::collections::HashMap<Uuid, Vec<category::Model>> = Default::default();
        for l in links {
            if let Some(c) = cats.get(&l.category_id) {
                out.entry(l.title_id).or_default().push(c.clone());
            }
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    /// Search documents of the live titles among `ids` (all live titles when
    /// `None`), read through `conn` (a consumer's transaction, or the pool).
    pub async fn docs_of<C: ConnectionTrait>(
        conn: &C,
        ids: Option<&[Uuid]>,
    ) -> Result<Vec<Doc>, Error> {
        let mut q = title::Entity::find().filter(title::Column::DeletedAt.is_null());
        if let Some(ids) = ids {
            q = q.filter(title::Column::Id.is_in(ids.iter().copied()));
        }
        let titles = q.order_by_asc(title::Column::Id).all(conn).await?;
        let categories: HashMap<Uuid, category::Model> = category::Entity::find()
            .all(conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut links: HashMap<Uuid, Vec<&category::Model>> = HashMap::new();
        let ids: Vec<Uuid> = titles.iter().map(|t| t.id).collect();
        for chunk in ids.chunks(500) {
            for l in title_category::Entity::find()
                .filter(title_category::Column::TitleId.is_in(chunk.iter().copied()))
                .all(conn)
                .await?
            {
                if let Some(c) = categories.get(&l.category_id) {
                    links.entry(l.title_id).or_default().push(c);
                }
            }
        }
        Ok(titles
            .into_iter()
            .map(|m| {
                let cats = links.remove(&m.id).unwrap_or_default();
                let mut genres: Vec<String> = cats
                    .iter()
                    .filter(|c| c.kind == "GENRE")
                    .map(|c| c.slug.clone())
                    .collect();
                let mut all: Vec<String> = cats.iter().map(|c| c.slug.clone()).collect();
                genres.sort();
                all.sort();
                Doc {
                    id: m.id,
                    kind: m.kind,
                    title: m.title,
                    original_title: m.original_title,
                    genres,
                    categories: all,
                    year: m.year,
                    release_date: m.release_date.as_deref().and_then(|d| d.parse().ok()),
                    rating: m.rating_average,
                    votes: m.rating_count,
                    runtime: m.runtime,
                    language: m.language,
                    status: m.status,
                    popularity: m.popularity,
                }
            })
            .collect())
    }

    /// Rebuilds the search index from the catalog, reporting `(indexed, total)`.
    pub async fn reindex_with(
        &self,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<usize, Error> {
        let docs = Self::docs_of(self.db(), None).await?;
        let n = docs.len();
        progress(0, n);
        self.search
            .engine()
            .rebuild(docs, &|done| progress(done, n))
            .await?;
        // Writes applied to the old index while the new one was filling (an
        // Elasticsearch rebuild runs beside the live consumers) are not in it.
        self.reconcile().await?;
        Ok(n)
    }

    /// Rebuilds the search index from the catalog.
    pub async fn reindex(&self) -> Result<usize, Error> {
        self.reindex_with(&|_, _| {}).await
    }

    /// Brings the index in line with the catalog at start: built when missing
    /// (or of another schema version), else every title whose document
    /// differs from its stamp in the index is re-indexed and titles gone from
    /// the catalog are removed. This covers events lost with an in-process
    /// bus in a crash; the `content-search` consumer covers the rest.
    /// Returns `(rebuilt, titles changed)`.
    pub async fn prepare_search(&self) -> Result<(bool, usize), Error> {
        if !self.search.engine().is_built().await? {
            return Ok((true, self.reindex().await?));
        }
        Ok((false, self.reconcile().await?))
    }

    /// Re-indexes titles whose indexed stamp differs from the catalog's and
    /// removes titles that are no longer live; returns how many changed.
    pub async fn reconcile(&self) -> Result<usize, Error> {
        let engine = self.search.engine();
        let docs = Self::docs_of(self.db(), None).await?;
        let mut stamps = engine.stamps().await?;
        let changed: Vec<Doc> = docs
            .into_iter()
            .filter(|d| stamps.remove(&d.id) != Some(d.stamp()))
            .collect();
        let gone: Vec<Uuid> = stamps.into_keys().collect();
        let n = changed.len() + gone.len();
        if n > 0 {
            engine.apply(changed, gone).await?;
        }
        Ok(n)
    }

    /// Re-indexes `ids` as `conn` sees them (a deleted or missing title leaves the index).
    pub async fn index_titles<C: ConnectionTrait>(
        &self,
        conn: &C,
        ids: &[Uuid],
    ) -> Result<(), Error> {
        let docs = Self::docs_of(conn, Some(ids)).await?;
        let gone: Vec<Uuid> = ids
            .iter()
            .filter(|id| !docs.iter().any(|d| d.id == **id))
            .copied()
            .collect();
        self.search.engine().apply(docs, gone).await?;
        Ok(())
    }

    async fn bump(&self) {
        self.bump_tag(CATALOG).await;
    }

    /// Drops every cached catalog answer (after a consumed event changed titles).
    pub async fn invalidate(&self) {
        self.bump().await;
    }

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

    async fn bump_tag(&self, tag: &str) {
        if let Err(e) = self.services.cache.bump_tag(tag).await {
            tracing::warn!(error = %e, tag, "cannot invalidate the catalog cache");
        }
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

    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<String>,
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        let e = self.services.event(name, actor, payload);
        kit::events::outbox::enqueue(conn, &e).await?;
        Ok(())
    }

    /// Creates or updates a movie (`id` given: update) with its genre links.
    pub async fn save_movie(
        &self,
        id: Option<Uuid>,
        input: TitleInput,
        actor: &str,
    ) -> Result<title::Model, Error> {
        self.save_title(MOVIE, id, input, actor).await
    }

    /// The live or deleted title `id` when it is of `kind`, else `NOT_FOUND`.
    pub async fn get_of_kind(&self, kind: &str, id: Uuid) -> Result<title::Model, Error> {
        let m = self.get_title(id).await?;
        if m.kind != kind {
            return Err(Error::not_found(if kind == SERIES {
                "series"
            } else {
                "movie"
            }));
        }
        Ok(m)
    }

    /// Creates or updates a title of `kind` (`id` given: update) with its genre links.
    pub async fn save_title(
        &self,
        kind: &'static str,
        id: Option<Uuid>,
        input: TitleInput,
        actor: &str,
    ) -> Result<title::Model, Error> {
        let now = Utc::now();
        let existing = match id {
            Some(id) => Some(self.get_of_kind(kind, id).await?),
            None => None,
        };
        let status = match &input.status {
            Some(st) => {
                let st = st.trim().to_lowercase();
                if !STATUSES.contains(&st.as_str()) {
                    return Err(Error::bad_input(
                        "input.status",
                        format!("one of {}", STATUSES.join(", ")),
                    ));
                }
                st
            }
            None => existing
                .as_ref()
                .map(|m| m.status.clone())
                .unwrap_or_else(|| "released".into()),
        };
        let title = match (&input.title, &existing) {
            (Some(t), _) => clean_line("input.title", t, 200)?,
            (None, Some(m)) => m.title.clone(),
            (None, None) => return Err(Error::bad_input("input.title", "a title is required")),
        };
        let release = match (&input.release_date, &existing) {
            (Some(d), _) => Some(*d),
            (None, Some(m)) => m.release_date.as_deref().and_then(|d| d.parse().ok()),
            (None, None) => {
                return Err(Error::bad_input(
                    "input.releaseDate",
                    "a release date is required",
                ))
            }
        };
        if let Some(d) = release {
            let max = now.date_naive() + chrono::Duration::days(365 * 10);
            if d.year() < 1870 || d > max {
                return Err(Error::bad_input(
                    "input.releaseDate",
                    "the release date is out of range",
                ));
            }
        }
        if let Some(r) = input.runtime {
            if !(1..=1000).contains(&r) {
                return Err(Error::bad_input(
                    "input.runtime",
                    "the runtime is 1 to 1000 minutes",
                ));
            }
        }
        let overview = match (&input.overview, &existing) {
            (Some(o), _) => clean_text("input.overview", o, 4000)?,
            (None, Some(m)) => m.overview.clone(),
            (None, None) => String::new(),
        };
        let language = match &input.language {
            Some(l) => {
                let l = l.trim().to_lowercase();
                if l.len() != 2 || !l.chars().all(|c| c.is_ascii_lowercase()) {
                    return Err(Error::bad_input(
                        "input.language",
                        "an ISO 639-1 code such as `en`",
                    ));
                }
                l
            }
            None => existing
                .as_ref()
                .map(|m| m.language.clone())
                .unwrap_or_else(|| "en".into()),
        };
        let genre_ids = match &input.genres {
            Some(g) => {
                let g = slugs("input.genres", g)?;
                if g.len() > MAX_CATEGORIES_PER_TITLE {
                    return Err(Error::bad_input(
                        "input.genres",
                        format!("at most {MAX_CATEGORIES_PER_TITLE} categories per title"),
                    ));
                }
                let found = category::Entity::find()
                    .filter(category::Column::Slug.is_in(g.clone()))
                    .all(self.db())
                    .await?;
                if let Some(missing) = g.iter().find(|s| !found.iter().any(|c| &&c.slug == s)) {
                    return Err(Error::bad_input(
                        "input.genres",
                        format!("no category `{missing}`"),
                    ));
                }
                Some(found.into_iter().map(|c| c.id).collect::<Vec<_>>())
            }
            None => None,
        };
        let txn = self.db().begin().await?;
        let saved = match existing {
            Some(m) => {
                let mut a: title::ActiveModel = m.into();
                a.title = Set(title.clone());
                a.title_key = Set(title.to_lowercase());
                a.overview = Set(overview);
                if input.tagline.is_some() {
                    a.tagline = Set(input
                        .tagline
                        .as_deref()
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()));
                }
                a.release_date = Set(release.map(|d| d.to_string()));
                a.year = Set(release.map(|d| d.year()));
                if input.runtime.is_some() {
                    a.runtime = Set(input.runtime);
                }
                a.language = Set(language);
                a.status = Set(status);
                a.updated_at = Set(now);
                a.update(&txn).await?
            }
            None => {
                let slug = self.free_slug(&title, release.map(|d| d.year())).await?;
                title::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    kind: Set(kind.into()),
                    slug: Set(slug),
                    title_key: Set(title.to_lowercase()),
                    title: Set(title),
                    original_title: Set(None),
                    overview: Set(overview),
                    tagline: Set(input.tagline.clone()),
                    release_date: Set(release.map(|d| d.to_string())),
                    year: Set(release.map(|d| d.year())),
                    runtime: Set(input.runtime),
                    language: Set(language),
                    status: Set(status),
                    rating_average: Set(0.0),
                    rating_count: Set(0),
                    rating_base_sum: Set(0.0),
                    rating_base_count: Set(0),
                    rating_version: Set(0),
                    popularity: Set(0.0),
                    trend_day: Set(0.0),
                    trend_week: Set(0.0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    deleted_at: Set(None),
                }
                .insert(&txn)
                .await?
            }
        };
        if let Some(ids) = genre_ids {
            title_category::Entity::delete_many()
                .filter(title_category::Column::TitleId.eq(saved.id))
                .exec(&txn)
                .await?;
            for cid in ids {
                title_category::ActiveModel {
                    title_id: Set(saved.id),
                    category_id: Set(cid),
                }
                .insert(&txn)
                .await?;
            }
        }
        let name = if id.is_some() {
            "title_updated"
        } else {
            "title_created"
        };
        self.event(
            &txn,
            name,
            Some(actor.into()),
            json!({ "titleId": saved.id, "kind": kind, "title": saved.title }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(saved)
    }

    async fn free_slug(&self, title: &str, year: Option<i32>) -> Result<String, Error> {
        let base = slugify(title);
        let mut candidates = vec![base.clone()];
        if let Some(y) = year {
            candidates.push(format!("{base}-{y}"));
        }
        for c in candidates {
            if title::Entity::find()
                .filter(title::Column::Slug.eq(c.clone()))
                .count(self.db())
                .await?
                == 0
            {
                return Ok(c);
            }
        }
        Ok(format!(
            "{base}-{}",
            &Uuid::new_v4().simple().to_string()[..6]
        ))
    }

    /// Soft-deletes (`deleted`) or restores a movie.
    /// Soft-deletes (or restores) the title `id` of `kind`.
    pub async fn set_deleted(
        &self,
        kind: &str,
        id: Uuid,
        deleted: bool,
        actor: &str,
    ) -> Result<title::Model, Error> {
        let m = self.get_of_kind(kind, id).await?;
        let txn = self.db().begin().await?;
        let mut a: title::ActiveModel = m.into();
        a.deleted_at = Set(deleted.then(Utc::now));
        a.updated_at = Set(Utc::now());
        let m = a.update(&txn).await?;
        let name = if deleted {
            "title_deleted"
        } else {
            "title_updated"
        };
        self.event(
            &txn,
            name,
            Some(actor.into()),
            json!({ "titleId": id, "kind": "MOVIE", "restored": !deleted }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(m)
    }

    pub async fn set_featured(
        &self,
        title_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        rank: i32,
        actor: &str,
    ) -> Result<featured::Model, Error> {
        if until <= from {
            return Err(Error::bad_input(
                "until",
                "the window must end after it starts",
            ));
        }
        if !(1..=1000).contains(&rank) {
            return Err(Error::bad_input("rank", "rank is 1 to 1000"));
        }
        let m = self.get_title(title_id).await?;
        if m.deleted_at.is_some() {
            return Err(Error::not_found("movie"));
        }
        let txn = self.db().begin().await?;
        let row = featured::ActiveModel {
            id: Set(Uuid::now_v7()),
            title_id: Set(title_id),
            rank: Set(rank),
            starts_at: Set(from),
            ends_at: Set(until),
        }
        .insert(&txn)
        .await?;
        self.event(
            &txn,
            "featured_changed",
            Some(actor.into()),
            json!({ "titleId": title_id, "from": from, "until": until, "rank": rank }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(row)
    }

    pub async fn remove_featured(&self, id: Uuid, actor: &str) -> Result<bool, Error> {
        let txn = self.db().begin().await?;
        let r = featured::Entity::delete_by_id(id).exec(&txn).await?;
        if r.rows_affected == 0 {
            return Err(Error::not_found("featured slot"));
        }
        self.event(
            &txn,
            "featured_changed",
            Some(actor.into()),
            json!({ "removed": id }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(true)
    }

    /// Movies featured now, by rank.
    pub async fn featured_now(
        &self,
        kind: Option<&str>,
        n: u64,
    ) -> Result<Vec<title::Model>, Error> {
        // Short-lived: windows open and close on their own.
        self.cached(
            CATALOG,
            &format!("featured:{kind:?}:{n}"),
            Duration::from_secs(15),
            self.load_featured(kind, n),
        )
        .await
    }

    async fn load_featured(&self, kind: Option<&str>, n: u64) -> Result<Vec<title::Model>, Error> {
        let now = Utc::now();
        let slots = featured::Entity::find()
            .filter(featured::Column::StartsAt.lte(now))
            .filter(featured::Column::EndsAt.gt(now))
            .order_by_asc(featured::Column::Rank)
            .order_by_asc(featured::Column::Id)
            .all(self.db())
            .await?;
        let ids: Vec<Uuid> = slots.iter().map(|s| s.title_id).collect();
        let movies: std::collections::HashMap<Uuid, title::Model> = title::Entity::find()
            .filter(title::Column::Id.is_in(ids.clone()))
            .filter(title::Column::DeletedAt.is_null())
            .apply_if(kind, |q, k| q.filter(title::Column::Kind.eq(k)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut seen = std::collections::HashSet::new();
        Ok(ids
            .into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| movies.get(&id).cloned())
            .take(n as usize)
            .collect())
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

    pub async fn create_category(
        &self,
        name: &str,
        kind: &str,
        actor: &str,
    ) -> Result<category::Model, Error> {
        let name = clean_line("input.name", name, 60)?;
        let slug = slugify(&name);
        if category::Entity::find()
            .filter(category::Column::Slug.eq(slug.clone()))
            .count(self.db())
            .await?
            > 0
        {
            return Err(
                Error::conflict(format!("a category `{slug}` exists")).with_field("input.name")
            );
        }
        let c = category::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug),
            name: Set(name),
            kind: Set(kind.into()),
            created_at: Set(Utc::now()),
        }
        .insert(self.db())
        .await?;
        tracing::info!(category = %c.slug, actor, "category created");
        self.bump().await;
        Ok(c)
    }

    pub async fn create_person(&self, name: &str) -> Result<person::Model, Error> {
        let name = clean_line("input.name", name, 120)?;
        let base = slugify(&name);
        let mut slug = base.clone();
        if person::Entity::find()
            .filter(person::Column::Slug.eq(slug.clone()))
            .count(self.db())
            .await?
            > 0
        {
            slug = format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6]);
        }
        Ok(person::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug),
            name: Set(name),
            created_at: Set(Utc::now()),
        }
        .insert(self.db())
        .await?)
    }

    pub async fn add_credit(
        &self,
        title_id: Uuid,
        person_id: Uuid,
        kind: &str,
        role: &str,
    ) -> Result<credit::Model, Error> {
        self.get_title(title_id).await?;
        person::Entity::find_by_id(person_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("person"))?;
        let role = clean_line("input.role", role, 120)?;
        let position = credit::Entity::find()
            .filter(credit::Column::TitleId.eq(title_id))
            .count(self.db())
            .await? as i32;
        let c = credit::ActiveModel {
            id: Set(Uuid::now_v7()),
            title_id: Set(title_id),
            person_id: Set(person_id),
            kind: Set(kind.into()),
            character: Set((kind == "CAST").then(|| role.clone())),
            job: Set((kind == "CREW").then_some(role)),
            position: Set(position),
        }
        .insert(self.db())
        .await?;
        self.bump().await;
        Ok(c)
    }

    pub async fn remove_credit(&self, id: Uuid) -> Result<bool, Error> {
        let r = credit::Entity::delete_by_id(id).exec(self.db()).await?;
        if r.rows_affected == 0 {
            return Err(Error::not_found("credit"));
        }
        self.bump().await;
        Ok(true)
    }
}

/// What an admin sends to create or update a season (absent fields keep their value).
#[derive(async_graphql::InputObject, Default)]
pub struct SeasonInput {
    /// 0 for specials; unique within the series.
    pub number: Option<i32>,
    pub name: Option<String>,
    pub overview: Option<String>,
    pub air_date: Option<NaiveDate>,
}

/// What an admin sends to create or update an episode (absent fields keep their value).
#[derive(async_graphql::InputObject, Default)]
pub struct EpisodeInput {
    /// Unique within the season.
    pub number: Option<i32>,
    pub title: Option<String>,
    pub overview: Option<String>,
    pub air_date: Option<NaiveDate>,
    /// Minutes.
    pub runtime: Option<i32>,
}

fn number(field: &str, n: Option<i32>, old: Option<i32>) -> Result<i32, Error> {
    match (n, old) {
        (Some(n), _) if (0..=10_000).contains(&n) => Ok(n),
        (Some(_), _) => Err(Error::bad_input(field, "a number from 0 to 10000")),
        (None, Some(o)) => Ok(o),
        (None, None) => Err(Error::bad_input(field, "a number is required")),
    }
}

fn air_date(
    field: &str,
    d: Option<NaiveDate>,
    old: Option<String>,
) -> Result<Option<String>, Error> {
    match d {
        Some(d)
            if d.year() < 1900 || d > Utc::now().date_naive() + chrono::Duration::days(3650) =>
        {
            Err(Error::bad_input(field, "the date is out of range"))
        }
        Some(d) => Ok(Some(d.to_string())),
        None => Ok(old),
    }
}

fn taken(e: sea_orm::DbErr, what: &str) -> Error {
    if kit::db::is_unique_violation(&e) {
        Error::conflict(format!("{what} with that number exists already"))
    } else {
        e.into()
    }
}

/// Seasons and episodes of series.
impl Catalog {
    /// The seasons of each series in `ids`, by number.
    pub async fn seasons_of(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<season::Model>>, Error> {
        let rows = season::Entity::find()
            .filter(season::Column::SeriesId.is_in(ids.iter().copied()))
            .order_by_asc(season::Column::Number)
            .all(self.db())
            .await?;
        let mut out: HashMap<Uuid, Vec<season::Model>> = HashMap::new();
        for r in rows {
            out.entry(r.series_id).or_default().push(r);
        }
        Ok(out)
    }

    /// The episodes of each season in `ids`, by number.
    pub async fn episodes_of(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<episode::Model>>, Error> {
        let rows = episode::Entity::find()
            .filter(episode::Column::SeasonId.is_in(ids.iter().copied()))
            .order_by_asc(episode::Column::Number)
            .all(self.db())
            .await?;
        let mut out: HashMap<Uuid, Vec<episode::Model>> = HashMap::new();
        for r in rows {
            out.entry(r.season_id).or_default().push(r);
        }
        Ok(out)
    }

    pub async fn season(
        &self,
        series_id: Uuid,
        number: i32,
    ) -> Result<Option<season::Model>, Error> {
        Ok(season::Entity::find()
            .filter(season::Column::SeriesId.eq(series_id))
            .filter(season::Column::Number.eq(number))
            .one(self.db())
            .await?)
    }

    async fn live_series(&self, id: Uuid) -> Result<title::Model, Error> {
        let s = self.get_of_kind(SERIES, id).await?;
        if s.deleted_at.is_some() {
            return Err(Error::not_found("series"));
        }
        Ok(s)
    }

    async fn series_changed<C: ConnectionTrait>(
        &self,
        conn: &C,
        series_id: Uuid,
        actor: &str,
    ) -> Result<(), Error> {
        self.event(
            conn,
            "title_updated",
            Some(actor.into()),
            json!({ "titleId": series_id, "kind": SERIES }),
        )
        .await
    }

    /// Commits a write: its outbox events go out at once and cached
    /// answers versioned by `tag` are orphaned.
    async fn committed(&self, txn: sea_orm::DatabaseTransaction, tag: &str) -> Result<(), Error> {
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        self.bump_tag(tag).await;
        Ok(())
    }

    /// Creates (`series_id`) or updates (`id`) a season.
    pub async fn save_season(
        &self,
        series_id: Option<Uuid>,
        id: Option<Uuid>,
        input: SeasonInput,
        actor: &str,
    ) -> Result<season::Model, Error> {
        let existing = match id {
            Some(id) => Some(
                season::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
                    .ok_or_else(|| Error::not_found("season"))?,
            ),
            None => None,
        };
        let series = self
            .live_series(
                series_id
                    .or(existing.as_ref().map(|s| s.series_id))
                    .ok_or_else(|| Error::not_found("series"))?,
            )
            .await?;
        let number = number(
            "input.number",
            input.number,
            existing.as_ref().map(|s| s.number),
        )?;
        let name = match (&input.name, &existing) {
            (Some(n), _) => clean_line("input.name", n, 200)?,
            (None, Some(s)) => s.name.clone(),
            (None, None) if number == 0 => "Specials".into(),
            (None, None) => format!("Season {number}"),
        };
        let overview = match &input.overview {
            Some(o) => clean_text("input.overview", o, 4000)?,
            None => existing
                .as_ref()
                .map(|s| s.overview.clone())
                .unwrap_or_default(),
        };
        let air = air_date(
            "input.airDate",
            input.air_date,
            existing.as_ref().and_then(|s| s.air_date.clone()),
        )?;
        let txn = self.db().begin().await?;
        let saved = match existing {
            Some(s) => {
                let mut a: season::ActiveModel = s.into();
                a.number = Set(number);
                a.name = Set(name);
                a.overview = Set(overview);
                a.air_date = Set(air);
                a.update(&txn).await.map_err(|e| taken(e, "a season"))?
            }
            None => season::ActiveModel {
                id: Set(Uuid::now_v7()),
                series_id: Set(series.id),
                number: Set(number),
                name: Set(name),
                overview: Set(overview),
                air_date: Set(air),
                created_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await
            .map_err(|e| taken(e, "a season"))?,
        };
        self.series_changed(&txn, series.id, actor).await?;
        self.committed(txn, CATALOG).await?;
        Ok(saved)
    }

    /// Deletes a season with its episodes.
    pub async fn delete_season(&self, id: Uuid, actor: &str) -> Result<bool, Error> {
        let s = season::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("season"))?;
        let txn = self.db().begin().await?;
        episode::Entity::delete_many()
            .filter(episode::Column::SeasonId.eq(id))
            .exec(&txn)
            .await?;
        season::Entity::delete_by_id(id).exec(&txn).await?;
        self.series_changed(&txn, s.series_id, actor).await?;
        self.committed(txn, CATALOG).await?;
        Ok(true)
    }

    /// Creates (`season_id`) or updates (`id`) an episode.
    pub async fn save_episode(
        &self,
        season_id: Option<Uuid>,
        id: Option<Uuid>,
        input: EpisodeInput,
        actor: &str,
    ) -> Result<episode::Model, Error> {
        let existing = match id {
            Some(id) => Some(
                episode::Entity::find_by_id(id)
                    .one(self.db())
                    .await?
                    .ok_or_else(|| Error::not_found("episode"))?,
            ),
            None => None,
        };
        let season_id = season_id
            .or(existing.as_ref().map(|e| e.season_id))
            .ok_or_else(|| Error::not_found("season"))?;
        let season = season::Entity::find_by_id(season_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("season"))?;
        self.live_series(season.series_id).await?;
        let number = number(
            "input.number",
            input.number,
            existing.as_ref().map(|e| e.number),
        )?;
        let title = match (&input.title, &existing) {
            (Some(t), _) => clean_line("input.title", t, 200)?,
            (None, Some(e)) => e.title.clone(),
            (None, None) => format!("Episode {number}"),
        };
        let overview = match &input.overview {
            Some(o) => clean_text("input.overview", o, 4000)?,
            None => existing
                .as_ref()
                .map(|e| e.overview.clone())
                .unwrap_or_default(),
        };
        if let Some(r) = input.runtime {
            if !(1..=1000).contains(&r) {
                return Err(Error::bad_input(
                    "input.runtime",
                    "the runtime is 1 to 1000 minutes",
                ));
            }
        }
        let runtime = input.runtime.or(existing.as_ref().and_then(|e| e.runtime));
        let air = air_date(
            "input.airDate",
            input.air_date,
            existing.as_ref().and_then(|e| e.air_date.clone()),
        )?;
        let txn = self.db().begin().await?;
        let saved = match existing {
            Some(e) => {
                let mut a: episode::ActiveModel = e.into();
                a.number = Set(number);
                a.title = Set(title);
                a.overview = Set(overview);
                a.air_date = Set(air);
                a.runtime = Set(runtime);
                a.update(&txn).await.map_err(|e| taken(e, "an episode"))?
            }
            None => episode::ActiveModel {
                id: Set(Uuid::now_v7()),
                season_id: Set(season.id),
                series_id: Set(season.series_id),
                number: Set(number),
                title: Set(title),
                overview: Set(overview),
                air_date: Set(air),
                runtime: Set(runtime),
                created_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await
            .map_err(|e| taken(e, "an episode"))?,
        };
        self.series_changed(&txn, season.series_id, actor).await?;
        self.committed(txn, CATALOG).await?;
        Ok(saved)
    }

    pub async fn delete_episode(&self, id: Uuid, actor: &str) -> Result<bool, Error> {
        let e = episode::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("episode"))?;
        let txn = self.db().begin().await?;
        episode::Entity::delete_by_id(id).exec(&txn).await?;
        self.series_changed(&txn, e.series_id, actor).await?;
        self.committed(txn, CATALOG).await?;
        Ok(true)
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

/// What an admin sends to create or update a movie (absent fields keep their value).
#[derive(async_graphql::InputObject, Default)]
pub struct TitleInput {
    pub title: Option<String>,
    pub overview: Option<String>,
    pub tagline: Option<String>,
    pub release_date: Option<NaiveDate>,
    /// Minutes.
    pub runtime: Option<i32>,
    /// ISO 639-1, e.g. `en`.
    pub language: Option<String>,
    /// Genre slugs; replaces the current ones.
    pub genres: Option<Vec<String>>,
    /// `released`, `planned`, `in_production`, `returning`, `ended` or `canceled`.
    pub status: Option<String>,
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
    fn trending_adds_up_in_log_space() {
        let a = add_view(0.0, 100.0);
        assert_eq!(a, 100.0);
        let b = add_view(a, 100.0);
        assert!((b - 101.0).abs() < 1e-9, "two views now = 2^101");
        // One view a half-life ago is worth half a view now.
        let c = add_view(99.0, 100.0);
        assert!((c - (100.0 + 1.5f64.log2())).abs() < 1e-9);
    }

    #[test]
    fn slugs_are_readable() {
        assert_eq!(slugify("The Godfather: Part II"), "the-godfather-part-ii");
        assert_eq!(slugify("Amélie"), "amelie");
        assert_eq!(slugify("!!!"), "untitled");
    }
}
