//! The catalog's reads and writes apart from GraphQL: filtered, sorted,
//! keyset-paged movie lists; writes with validation, outbox events and
//! search-index updates; featured windows; views and the trending score.
//!
//! Trending: each view adds 1 to a score that halves every half-life (6 hours
//! for `DAY`, 2 days for `WEEK`). Stored as `log2(score)` measured in
//! half-lives since the epoch, so `trend = log2(2^trend + 2^(now/h))` is an
//! incremental update and ordering by the stored number equals ordering by
//! the decayed score at any moment, without rewriting rows as time passes.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kit::{Error, Services};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::model::{category, credit, featured, movie, movie_category, person, view};
use crate::search::{Doc, DocFilter, Index};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;
pub const MAX_CATEGORIES_PER_TITLE: usize = 10;
pub const DAY_HALF_LIFE_SECS: f64 = 6.0 * 3600.0;
pub const WEEK_HALF_LIFE_SECS: f64 = 48.0 * 3600.0;

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
    fn column(self) -> (movie::Column, bool) {
        match self {
            MovieSort::PopularityDesc => (movie::Column::Popularity, true),
            MovieSort::RatingDesc => (movie::Column::RatingAverage, true),
            MovieSort::ReleaseDateDesc => (movie::Column::ReleaseDate, true),
            MovieSort::ReleaseDateAsc => (movie::Column::ReleaseDate, false),
            MovieSort::TitleAsc => (movie::Column::TitleKey, false),
            MovieSort::TrendingDesc => (movie::Column::TrendWeek, true),
        }
    }

    fn key(self, m: &movie::Model) -> serde_json::Value {
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
#[derive(Default, Clone)]
pub struct Filter {
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

pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub total_count: u64,
}

pub fn page_size(first: Option<i32>) -> Result<u64, Error> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(Error::bad_input(
            "first",
            format!("first must be between 1 and {MAX_PAGE}"),
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
    sub.column((movie_category::Entity, movie_category::Column::MovieId))
        .from(movie_category::Entity)
        .inner_join(
            category::Entity,
            Expr::col((category::Entity, category::Column::Id))
                .equals((movie_category::Entity, movie_category::Column::CategoryId)),
        )
        .and_where(Expr::col((category::Entity, category::Column::Slug)).is_in(slugs));
    if let Some(k) = kind {
        sub.and_where(Expr::col((category::Entity, category::Column::Kind)).eq(k));
    }
    if all {
        sub.group_by_col((movie_category::Entity, movie_category::Column::MovieId))
            .and_having(Expr::cust(format!(
                "COUNT(DISTINCT \"categories\".\"id\") = {n}"
            )));
    }
    Condition::all().add(movie::Column::Id.in_subquery(sub.to_owned()))
}

impl Filter {
    pub fn condition(&self) -> Result<Condition, Error> {
        let mut c = Condition::all().add(movie::Column::DeletedAt.is_null());
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
            c = c.add(movie::Column::Year.eq(y));
        }
        if let Some(d) = self.released_from {
            c = c.add(movie::Column::ReleaseDate.gte(d.to_string()));
        }
        if let Some(d) = self.released_to {
            c = c.add(movie::Column::ReleaseDate.lte(d.to_string()));
        }
        for (field, v) in [("filter.ratingMin", self.rating_min), ("filter.ratingMax", self.rating_max)] {
            if let Some(v) = v {
                if !(0.0..=10.0).contains(&v) {
                    return Err(Error::bad_input(field, "ratings are between 0 and 10"));
                }
            }
        }
        if let Some(v) = self.rating_min {
            c = c.add(movie::Column::RatingAverage.gte(v));
        }
        if let Some(v) = self.rating_max {
            c = c.add(movie::Column::RatingAverage.lte(v));
        }
        if let Some(v) = self.min_votes {
            c = c.add(movie::Column::RatingCount.gte(v));
        }
        if let Some(v) = self.runtime_min {
            c = c.add(movie::Column::Runtime.gte(v));
        }
        if let Some(v) = self.runtime_max {
            c = c.add(movie::Column::Runtime.lte(v));
        }
        if let Some(l) = &self.language {
            c = c.add(movie::Column::Language.eq(l.trim().to_lowercase()));
        }
        if let Some(s) = &self.status {
            c = c.add(movie::Column::Status.eq(s.trim().to_lowercase()));
        }
        Ok(c)
    }

    pub fn doc_filter(&self) -> DocFilter {
        DocFilter {
            genres: self.genres.iter().map(|g| g.trim().to_lowercase()).collect(),
            all_genres: self.all_genres,
            year: self.year,
            language: self.language.as_ref().map(|l| l.trim().to_lowercase()),
            rating_min: self.rating_min,
        }
    }
}

fn encode_cursor(key: serde_json::Value, id: Uuid) -> String {
    B64.encode(json!([key, id]).to_string())
}

fn decode_cursor(c: &str) -> Result<(serde_json::Value, Uuid), Error> {
    let bad = || Error::bad_input("after", "not a cursor from this list");
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
    pub index: Index,
}

impl Catalog {
    pub fn new(services: Services) -> Arc<Self> {
        Arc::new(Self {
            services,
            index: Index::default(),
        })
    }

    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    /// One page of movies matching `filter` in `sort` order, after `after`.
    pub async fn movies(
        &self,
        filter: &Filter,
        sort: MovieSort,
        first: Option<i32>,
        after: Option<&str>,
    ) -> Result<Page<movie::Model>, Error> {
        let n = page_size(first)?;
        let cond = filter.condition()?;
        let total_count = movie::Entity::find()
            .filter(cond.clone())
            .count(self.db())
            .await?;
        let (col, desc) = sort.column();
        let mut page = cond;
        if let Some(after) = after {
            let (key, id) = decode_cursor(after)?;
            let v = sql_value(&key).ok_or_else(|| Error::bad_input("after", "not a cursor from this list"))?;
            let beyond = if desc {
                Expr::col(col).lt(v.clone())
            } else {
                Expr::col(col).gt(v.clone())
            };
            page = page.add(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(Expr::col(col).eq(v)).add(movie::Column::Id.gt(id))),
            );
        }
        let mut q = movie::Entity::find().filter(page);
        q = if desc {
            q.order_by_desc(col)
        } else {
            q.order_by_asc(col)
        };
        let mut rows = q
            .order_by_asc(movie::Column::Id)
            .limit(n + 1)
            .all(self.db())
            .await?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(Page {
            items: rows
                .into_iter()
                .map(|m| (encode_cursor(sort.key(&m), m.id), m))
                .collect(),
            has_next_page,
            total_count,
        })
    }

    pub async fn movie_by_slug(&self, slug: &str) -> Result<Option<movie::Model>, Error> {
        Ok(movie::Entity::find()
            .filter(movie::Column::Slug.eq(slug.trim().to_lowercase()))
            .filter(movie::Column::DeletedAt.is_null())
            .one(self.db())
            .await?)
    }

    pub async fn get_movie(&self, id: Uuid) -> Result<movie::Model, Error> {
        movie::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("movie"))
    }

    /// Genre slugs of each movie in `ids`.
    pub async fn genres_of(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, Vec<category::Model>>, Error> {
        let links = movie_category::Entity::find()
            .filter(movie_category::Column::MovieId.is_in(ids.iter().copied()))
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
                out.entry(l.movie_id).or_default().push(c.clone());
            }
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    fn doc(m: &movie::Model, genres: &[category::Model]) -> Doc {
        Doc::new(
            m.id,
            &m.title,
            m.original_title.as_deref(),
            genres.iter().filter(|c| c.kind == "GENRE").map(|c| c.slug.clone()).collect(),
            m.year,
            &m.language,
            m.rating_average,
            m.popularity,
        )
    }

    /// Rebuilds the search index from the database.
    pub async fn reindex(&self) -> Result<usize, Error> {
        let movies = movie::Entity::find()
            .filter(movie::Column::DeletedAt.is_null())
            .all(self.db())
            .await?;
        let ids: Vec<Uuid> = movies.iter().map(|m| m.id).collect();
        let mut genres = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            genres.extend(self.genres_of(chunk).await?);
        }
        let docs: Vec<Doc> = movies
            .iter()
            .map(|m| Self::doc(m, genres.get(&m.id).map(Vec::as_slice).unwrap_or(&[])))
            .collect();
        let n = docs.len();
        self.index.replace_all(docs).await;
        Ok(n)
    }

    async fn reindex_one(&self, id: Uuid) -> Result<(), Error> {
        let m = self.get_movie(id).await?;
        if m.deleted_at.is_some() {
            self.index.remove(id).await;
            return Ok(());
        }
        let genres = self.genres_of(&[id]).await?;
        self.index
            .upsert(Self::doc(&m, genres.get(&id).map(Vec::as_slice).unwrap_or(&[])))
            .await;
        Ok(())
    }

    async fn bump(&self) {
        if let Err(e) = self.services.cache.bump_tag("catalog").await {
            tracing::warn!(error = %e, "cannot invalidate the catalog cache");
        }
    }

    async fn event<C: ConnectionTrait>(&self, conn: &C, name: &str, actor: Option<String>, payload: serde_json::Value) -> Result<(), Error> {
        let e = self.services.event(name, actor, payload);
        kit::events::outbox::enqueue(conn, &e).await?;
        Ok(())
    }

    /// Creates or updates a movie (`id` given: update) with its genre links.
    pub async fn save_movie(&self, id: Option<Uuid>, input: MovieInput, actor: &str) -> Result<movie::Model, Error> {
        let now = Utc::now();
        let existing = match id {
            Some(id) => Some(self.get_movie(id).await?),
            None => None,
        };
        let title = match (&input.title, &existing) {
            (Some(t), _) => clean_line("input.title", t, 200)?,
            (None, Some(m)) => m.title.clone(),
            (None, None) => return Err(Error::bad_input("input.title", "a title is required")),
        };
        let release = match (&input.release_date, &existing) {
            (Some(d), _) => Some(*d),
            (None, Some(m)) => m.release_date.as_deref().and_then(|d| d.parse().ok()),
            (None, None) => return Err(Error::bad_input("input.releaseDate", "a release date is required")),
        };
        if let Some(d) = release {
            let max = now.date_naive() + chrono::Duration::days(365 * 10);
            if d.year() < 1870 || d > max {
                return Err(Error::bad_input("input.releaseDate", "the release date is out of range"));
            }
        }
        if let Some(r) = input.runtime {
            if !(1..=1000).contains(&r) {
                return Err(Error::bad_input("input.runtime", "the runtime is 1 to 1000 minutes"));
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
                    return Err(Error::bad_input("input.language", "an ISO 639-1 code such as `en`"));
                }
                l
            }
            None => existing.as_ref().map(|m| m.language.clone()).unwrap_or_else(|| "en".into()),
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
                    return Err(Error::bad_input("input.genres", format!("no category `{missing}`")));
                }
                Some(found.into_iter().map(|c| c.id).collect::<Vec<_>>())
            }
            None => None,
        };
        let txn = self.db().begin().await?;
        let saved = match existing {
            Some(m) => {
                let mut a: movie::ActiveModel = m.into();
                a.title = Set(title.clone());
                a.title_key = Set(title.to_lowercase());
                a.overview = Set(overview);
                if input.tagline.is_some() {
                    a.tagline = Set(input.tagline.as_deref().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()));
                }
                a.release_date = Set(release.map(|d| d.to_string()));
                a.year = Set(release.map(|d| d.year()));
                if input.runtime.is_some() {
                    a.runtime = Set(input.runtime);
                }
                a.language = Set(language);
                a.updated_at = Set(now);
                a.update(&txn).await?
            }
            None => {
                let slug = self.free_slug(&title, release.map(|d| d.year())).await?;
                movie::ActiveModel {
                    id: Set(Uuid::now_v7()),
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
                    status: Set("released".into()),
                    rating_average: Set(0.0),
                    rating_count: Set(0),
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
            movie_category::Entity::delete_many()
                .filter(movie_category::Column::MovieId.eq(saved.id))
                .exec(&txn)
                .await?;
            for cid in ids {
                movie_category::ActiveModel {
                    movie_id: Set(saved.id),
                    category_id: Set(cid),
                }
                .insert(&txn)
                .await?;
            }
        }
        let name = if id.is_some() { "title_updated" } else { "title_created" };
        self.event(&txn, name, Some(actor.into()), json!({ "titleId": saved.id, "kind": "MOVIE", "title": saved.title }))
            .await?;
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        self.reindex_one(saved.id).await?;
        self.bump().await;
        Ok(saved)
    }

    async fn free_slug(&self, title: &str, year: Option<i32>) -> Result<String, Error> {
        let base = slugify(title);
        let mut candidates = vec![base.clone()];
        if let Some(y) = year {
            candidates.push(format!("{base}-{y}"));
        }
        for c in candidates {
            if movie::Entity::find().filter(movie::Column::Slug.eq(c.clone())).count(self.db()).await? == 0 {
                return Ok(c);
            }
        }
        Ok(format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6]))
    }

    /// Soft-deletes (`deleted`) or restores a movie.
    pub async fn set_deleted(&self, id: Uuid, deleted: bool, actor: &str) -> Result<movie::Model, Error> {
        let m = self.get_movie(id).await?;
        let txn = self.db().begin().await?;
        let mut a: movie::ActiveModel = m.into();
        a.deleted_at = Set(deleted.then(Utc::now));
        a.updated_at = Set(Utc::now());
        let m = a.update(&txn).await?;
        let name = if deleted { "title_deleted" } else { "title_updated" };
        self.event(&txn, name, Some(actor.into()), json!({ "titleId": id, "kind": "MOVIE", "restored": !deleted }))
            .await?;
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        self.reindex_one(id).await?;
        self.bump().await;
        Ok(m)
    }

    pub async fn set_featured(&self, movie_id: Uuid, from: DateTime<Utc>, until: DateTime<Utc>, rank: i32, actor: &str) -> Result<featured::Model, Error> {
        if until <= from {
            return Err(Error::bad_input("until", "the window must end after it starts"));
        }
        if !(1..=1000).contains(&rank) {
            return Err(Error::bad_input("rank", "rank is 1 to 1000"));
        }
        let m = self.get_movie(movie_id).await?;
        if m.deleted_at.is_some() {
            return Err(Error::not_found("movie"));
        }
        let txn = self.db().begin().await?;
        let row = featured::ActiveModel {
            id: Set(Uuid::now_v7()),
            movie_id: Set(movie_id),
            rank: Set(rank),
            starts_at: Set(from),
            ends_at: Set(until),
        }
        .insert(&txn)
        .await?;
        self.event(&txn, "featured_changed", Some(actor.into()), json!({ "titleId": movie_id, "from": from, "until": until, "rank": rank }))
            .await?;
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        self.bump().await;
        Ok(row)
    }

    pub async fn remove_featured(&self, id: Uuid, actor: &str) -> Result<bool, Error> {
        let txn = self.db().begin().await?;
        let r = featured::Entity::delete_by_id(id).exec(&txn).await?;
        if r.rows_affected == 0 {
            return Err(Error::not_found("featured slot"));
        }
        self.event(&txn, "featured_changed", Some(actor.into()), json!({ "removed": id })).await?;
        txn.commit().await?;
        self.bump().await;
        Ok(true)
    }

    /// Movies featured now, by rank.
    pub async fn featured_now(&self, n: u64) -> Result<Vec<movie::Model>, Error> {
        let now = Utc::now();
        let slots = featured::Entity::find()
            .filter(featured::Column::StartsAt.lte(now))
            .filter(featured::Column::EndsAt.gt(now))
            .order_by_asc(featured::Column::Rank)
            .order_by_asc(featured::Column::Id)
            .all(self.db())
            .await?;
        let ids: Vec<Uuid> = slots.iter().map(|s| s.movie_id).collect();
        let movies: std::collections::HashMap<Uuid, movie::Model> = movie::Entity::find()
            .filter(movie::Column::Id.is_in(ids.clone()))
            .filter(movie::Column::DeletedAt.is_null())
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

    pub async fn trending(&self, week: bool, n: u64) -> Result<Vec<movie::Model>, Error> {
        let col = if week { movie::Column::TrendWeek } else { movie::Column::TrendDay };
        Ok(movie::Entity::find()
            .filter(movie::Column::DeletedAt.is_null())
            .order_by_desc(col)
            .order_by_asc(movie::Column::Id)
            .limit(n)
            .all(self.db())
            .await?)
    }

    /// Counts a view once per viewer, title and hour; returns whether it counted.
    pub async fn record_view(&self, movie_id: Uuid, viewer: String, user: Option<Uuid>) -> Result<bool, Error> {
        let m = self.get_movie(movie_id).await?;
        if m.deleted_at.is_some() {
            return Err(Error::not_found("movie"));
        }
        let now = Utc::now();
        let txn = self.db().begin().await?;
        let inserted = view::ActiveModel {
            viewer: Set(viewer),
            movie_id: Set(movie_id),
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
        // Re-read inside the transaction so concurrent views add up.
        let m = movie::Entity::find_by_id(movie_id).one(&txn).await?.ok_or_else(|| Error::not_found("movie"))?;
        let t = now.timestamp() as f64;
        movie::Entity::update_many()
            .col_expr(movie::Column::TrendDay, Expr::value(add_view(m.trend_day, t / DAY_HALF_LIFE_SECS)))
            .col_expr(movie::Column::TrendWeek, Expr::value(add_view(m.trend_week, t / WEEK_HALF_LIFE_SECS)))
            .filter(movie::Column::Id.eq(movie_id))
            .exec(&txn)
            .await?;
        self.event(&txn, "viewed", user.map(|u| u.to_string()), json!({ "titleId": movie_id, "kind": "MOVIE" }))
            .await?;
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        Ok(true)
    }

    /// Movies `user` viewed, newest first.
    pub async fn recently_viewed(&self, user: Uuid, n: u64) -> Result<Vec<movie::Model>, Error> {
        let views = view::Entity::find()
            .filter(view::Column::UserId.eq(user))
            .order_by_desc(view::Column::At)
            .limit(n * 4)
            .all(self.db())
            .await?;
        let mut ids = Vec::new();
        for v in views {
            if !ids.contains(&v.movie_id) {
                ids.push(v.movie_id);
            }
        }
        ids.truncate(n as usize);
        let movies: std::collections::HashMap<Uuid, movie::Model> = movie::Entity::find()
            .filter(movie::Column::Id.is_in(ids.clone()))
            .filter(movie::Column::DeletedAt.is_null())
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(ids.into_iter().filter_map(|id| movies.get(&id).cloned()).collect())
    }

    pub async fn create_category(&self, name: &str, kind: &str, actor: &str) -> Result<category::Model, Error> {
        let name = clean_line("input.name", name, 60)?;
        let slug = slugify(&name);
        if category::Entity::find().filter(category::Column::Slug.eq(slug.clone())).count(self.db()).await? > 0 {
            return Err(Error::conflict(format!("a category `{slug}` exists")).with_field("input.name"));
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
        if person::Entity::find().filter(person::Column::Slug.eq(slug.clone())).count(self.db()).await? > 0 {
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

    pub async fn add_credit(&self, movie_id: Uuid, person_id: Uuid, kind: &str, role: &str) -> Result<credit::Model, Error> {
        self.get_movie(movie_id).await?;
        person::Entity::find_by_id(person_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("person"))?;
        let role = clean_line("input.role", role, 120)?;
        let position = credit::Entity::find()
            .filter(credit::Column::MovieId.eq(movie_id))
            .count(self.db())
            .await? as i32;
        let c = credit::ActiveModel {
            id: Set(Uuid::now_v7()),
            movie_id: Set(movie_id),
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
pub struct MovieInput {
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
    let s: String = raw.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_string();
    if s.is_empty() {
        return Err(Error::bad_input(field, "may not be empty"));
    }
    if s.chars().count() > max {
        return Err(Error::bad_input(field, format!("at most {max} characters")));
    }
    Ok(s)
}

fn clean_text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s: String = raw.chars().filter(|&c| !c.is_control() || c == '\n').collect::<String>().trim().to_string();
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
