//! Titles (movies and series): keyset-paged lists (cached first pages),
//! lookups, and writes with validation and outbox events.

use chrono::{Datelike, NaiveDate, Utc};
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, Value,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{category, title, title_category};
use super::*;
use crate::filter::slugs;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

impl Catalog {
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

    pub(super) async fn load_movies(
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

    pub(super) async fn free_slug(&self, title: &str, year: Option<i32>) -> Result<String, Error> {
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
    /// The titles of `ids` (deleted ones too; callers filter).
    pub async fn titles_by_id(&self, ids: &[Uuid]) -> Result<Vec<title::Model>, Error> {
        Ok(title::Entity::find()
            .filter(title::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
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

/// What an admin sends to create or update a movie (absent fields keep their value).
#[derive(Default)]
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
