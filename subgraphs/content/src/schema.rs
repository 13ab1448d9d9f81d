//! The content subgraph's GraphQL schema (Federation v2). Entities `Movie`,
//! `Person` and `Category` resolve by `id` in batches; every nested list
//! (categories, credits, a credit's person) goes through a DataLoader, so a
//! page of 50 movies with their genres and cast costs a constant number of
//! statements. `User` gains `recentlyViewed` here.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Interface, Object, Schema,
    SimpleObject, ID,
};
use chrono::{DateTime, NaiveDate, Utc};
use kit::auth::{require_role, viewer, RequestMeta, Role};
use kit::Error;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::catalog::{page_size, Catalog, Filter, MovieInput, MovieSort};
use crate::model::{category, credit, movie, person};

pub type ContentSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build(catalog: Arc<Catalog>) -> ContentSchema {
    let loaders = Loaders {
        catalog: catalog.clone(),
    };
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(20_000)
        .data(catalog)
        .data(DataLoader::new(loaders, tokio::spawn))
        .finish()
}

pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation().compose_directive())
}

fn catalog<'a>(ctx: &Context<'a>) -> &'a Arc<Catalog> {
    ctx.data_unchecked::<Arc<Catalog>>()
}

fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<Loaders> {
    ctx.data_unchecked::<DataLoader<Loaders>>()
}

fn parse_id(field: &str, id: &ID) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid id"))
}

fn admin<'a>(ctx: &'a Context<'_>) -> Result<&'a str, Error> {
    Ok(require_role(ctx, Role::Admin)?.sub.as_str())
}

/// Batch keys: each kind of nested list loads in one statement per request tick.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MovieKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CategoriesOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CreditsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PersonKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CategoryKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CreditsBy(pub Uuid);

pub struct Loaders {
    catalog: Arc<Catalog>,
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

impl Loader<MovieKey> for Loaders {
    type Value = movie::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MovieKey]) -> LoadResult<MovieKey, movie::Model> {
        let rows = movie::Entity::find()
            .filter(movie::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|m| (MovieKey(m.id), m)).collect())
    }
}

impl Loader<CategoriesOf> for Loaders {
    type Value = Vec<category::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CategoriesOf]) -> LoadResult<CategoriesOf, Vec<category::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let map = self.catalog.genres_of(&ids).await?;
        Ok(map.into_iter().map(|(k, v)| (CategoriesOf(k), v)).collect())
    }
}

impl Loader<CreditsOf> for Loaders {
    type Value = Vec<credit::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CreditsOf]) -> LoadResult<CreditsOf, Vec<credit::Model>> {
        let rows = credit::Entity::find()
            .filter(credit::Column::MovieId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(credit::Column::Position)
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        let mut out: HashMap<CreditsOf, Vec<credit::Model>> = HashMap::new();
        for c in rows {
            out.entry(CreditsOf(c.movie_id)).or_default().push(c);
        }
        Ok(out)
    }
}

impl Loader<CreditsBy> for Loaders {
    type Value = Vec<credit::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CreditsBy]) -> LoadResult<CreditsBy, Vec<credit::Model>> {
        let rows = credit::Entity::find()
            .filter(credit::Column::PersonId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(credit::Column::MovieId)
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        let mut out: HashMap<CreditsBy, Vec<credit::Model>> = HashMap::new();
        for c in rows {
            out.entry(CreditsBy(c.person_id)).or_default().push(c);
        }
        Ok(out)
    }
}

impl Loader<PersonKey> for Loaders {
    type Value = person::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[PersonKey]) -> LoadResult<PersonKey, person::Model> {
        let rows = person::Entity::find()
            .filter(person::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|p| (PersonKey(p.id), p)).collect())
    }
}

impl Loader<CategoryKey> for Loaders {
    type Value = category::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CategoryKey]) -> LoadResult<CategoryKey, category::Model> {
        let rows = category::Entity::find()
            .filter(category::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|c| (CategoryKey(c.id), c)).collect())
    }
}

/// Anything in the catalog a viewer can watch. Series join movies here later.
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID"),
    field(name = "slug", ty = "&str"),
    field(name = "title", ty = "&str"),
    field(name = "overview", ty = "&str"),
    field(name = "rating_average", ty = "f64"),
    field(name = "rating_count", ty = "i64"),
    field(name = "popularity", ty = "f64")
)]
pub enum Title {
    Movie(Movie),
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TitleKind {
    Movie,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TrendingWindow {
    Day,
    Week,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    Genre,
    Collection,
}

impl CategoryKind {
    fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Genre => "GENRE",
            CategoryKind::Collection => "COLLECTION",
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CreditKind {
    Cast,
    Crew,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum Match {
    /// Any of the listed slugs.
    #[default]
    Any,
    /// Every listed slug.
    All,
}

pub struct Movie(pub movie::Model);

#[Object]
impl Movie {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn original_title(&self) -> Option<&str> {
        self.0.original_title.as_deref()
    }
    async fn overview(&self) -> &str {
        &self.0.overview
    }
    async fn tagline(&self) -> Option<&str> {
        self.0.tagline.as_deref()
    }
    async fn release_date(&self) -> Option<NaiveDate> {
        self.0.release_date.as_deref().and_then(|d| d.parse().ok())
    }
    async fn year(&self) -> Option<i32> {
        self.0.year
    }
    /// Minutes.
    async fn runtime(&self) -> Option<i32> {
        self.0.runtime
    }
    /// ISO 639-1.
    async fn original_language(&self) -> &str {
        &self.0.language
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// 0 to 10.
    async fn rating_average(&self) -> f64 {
        self.0.rating_average
    }
    async fn rating_count(&self) -> i64 {
        self.0.rating_count
    }
    async fn popularity(&self) -> f64 {
        self.0.popularity
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        Ok(loader(ctx)
            .load_one(CategoriesOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Category)
            .collect())
    }
    /// Cast first, in billing order, then crew.
    async fn credits(&self, ctx: &Context<'_>, kind: Option<CreditKind>) -> async_graphql::Result<Vec<Credit>> {
        let all = loader(ctx).load_one(CreditsOf(self.0.id)).await?.unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|c| match kind {
                Some(CreditKind::Cast) => c.kind == "CAST",
                Some(CreditKind::Crew) => c.kind == "CREW",
                None => true,
            })
            .map(Credit)
            .collect())
    }
}

pub struct Category(pub category::Model);

#[Object]
impl Category {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> CategoryKind {
        if self.0.kind == "GENRE" {
            CategoryKind::Genre
        } else {
            CategoryKind::Collection
        }
    }
    /// This category's movies, paged like `movies`.
    async fn movies(
        &self,
        ctx: &Context<'_>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MovieConnection> {
        let filter = Filter {
            categories: vec![self.0.slug.clone()],
            ..Filter::default()
        };
        movie_connection(ctx, &filter, sort, first, after).await
    }
}

pub struct Person(pub person::Model);

#[Object]
impl Person {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Every credit of this person.
    async fn credits(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Credit>> {
        Ok(loader(ctx)
            .load_one(CreditsBy(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Credit)
            .collect())
    }
}

pub struct Credit(pub credit::Model);

#[Object]
impl Credit {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> CreditKind {
        if self.0.kind == "CAST" {
            CreditKind::Cast
        } else {
            CreditKind::Crew
        }
    }
    /// The character played (cast).
    async fn character(&self) -> Option<&str> {
        self.0.character.as_deref()
    }
    /// The job done (crew), e.g. Director.
    async fn job(&self) -> Option<&str> {
        self.0.job.as_deref()
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn person(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Person>> {
        Ok(loader(ctx).load_one(PersonKey(self.0.person_id)).await?.map(Person))
    }
    async fn movie(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Movie>> {
        Ok(loader(ctx).load_one(MovieKey(self.0.movie_id)).await?.map(Movie))
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct MovieEdge {
    pub cursor: String,
    pub node: Movie,
}

#[derive(SimpleObject)]
pub struct MovieConnection {
    pub edges: Vec<MovieEdge>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

#[derive(InputObject, Default)]
pub struct MovieFilter {
    /// Genre slugs, e.g. `["drama"]`.
    pub genres: Option<Vec<String>>,
    /// Category slugs of any kind.
    pub categories: Option<Vec<String>>,
    /// How `genres` and `categories` combine (default ANY).
    #[graphql(name = "match")]
    pub match_: Option<Match>,
    pub year: Option<i32>,
    pub released_from: Option<NaiveDate>,
    pub released_to: Option<NaiveDate>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub min_votes: Option<i64>,
    pub runtime_min: Option<i32>,
    pub runtime_max: Option<i32>,
    pub original_language: Option<String>,
    pub status: Option<String>,
}

impl From<MovieFilter> for Filter {
    fn from(f: MovieFilter) -> Self {
        Filter {
            genres: f.genres.unwrap_or_default(),
            all_genres: f.match_ == Some(Match::All),
            categories: f.categories.unwrap_or_default(),
            year: f.year,
            released_from: f.released_from,
            released_to: f.released_to,
            rating_min: f.rating_min,
            rating_max: f.rating_max,
            min_votes: f.min_votes,
            runtime_min: f.runtime_min,
            runtime_max: f.runtime_max,
            language: f.original_language,
            status: f.status,
        }
    }
}

async fn movie_connection(
    ctx: &Context<'_>,
    filter: &Filter,
    sort: Option<MovieSort>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<MovieConnection> {
    let page = catalog(ctx)
        .movies(filter, sort.unwrap_or(MovieSort::PopularityDesc), first, after.as_deref())
        .await?;
    let edges: Vec<MovieEdge> = page
        .items
        .into_iter()
        .map(|(cursor, m)| MovieEdge {
            cursor,
            node: Movie(m),
        })
        .collect();
    Ok(MovieConnection {
        page_info: PageInfo {
            has_next_page: page.has_next_page,
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
        total_count: page.total_count,
    })
}

#[derive(SimpleObject)]
pub struct SearchHit {
    pub title: Title,
    pub score: f64,
    /// The title with the matched words in `<em>`.
    pub highlight: String,
}

#[derive(SimpleObject)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(SimpleObject)]
pub struct SearchFacets {
    pub genres: Vec<FacetCount>,
    /// Decades, e.g. `1970`.
    pub decades: Vec<FacetCount>,
}

#[derive(SimpleObject)]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
    pub total_count: u64,
    pub facets: SearchFacets,
    pub page_info: PageInfo,
}

#[derive(SimpleObject)]
pub struct FeaturedSlot {
    pub id: ID,
    pub title_id: ID,
    pub rank: i32,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct CategoryInput {
    pub name: String,
    pub kind: CategoryKind,
}

#[derive(InputObject)]
pub struct PersonInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct CreditInput {
    pub movie_id: ID,
    pub person_id: ID,
    pub kind: CreditKind,
    /// The character (cast) or the job (crew).
    pub role: String,
}

/// An account of the users subgraph, seen from the catalog.
pub struct User {
    id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Movies this account viewed, newest first (the account itself only).
    async fn recently_viewed(&self, ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<Vec<Movie>> {
        let v = kit::auth::require_viewer(ctx)?;
        if v.sub != self.id.to_string() && !v.has_role(Role::Admin) {
            return Err(Error::forbidden("only the account itself sees what it viewed").into());
        }
        let n = page_size(first)?;
        Ok(catalog(ctx)
            .recently_viewed(self.id, n)
            .await?
            .into_iter()
            .map(Movie)
            .collect())
    }
}

pub struct Query;

#[Object]
impl Query {
    /// A movie by `id` or `slug`.
    async fn movie(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> async_graphql::Result<Option<Movie>> {
        match (id, slug) {
            (Some(id), None) => {
                let id = parse_id("id", &id)?;
                Ok(loader(ctx)
                    .load_one(MovieKey(id))
                    .await?
                    .filter(|m| m.deleted_at.is_none())
                    .map(Movie))
            }
            (None, Some(slug)) => Ok(catalog(ctx).movie_by_slug(&slug).await?.map(Movie)),
            _ => Err(Error::bad_input("id", "give exactly one of id and slug").into()),
        }
    }

    /// Movies matching `filter`, in `sort` order (default POPULARITY_DESC).
    async fn movies(
        &self,
        ctx: &Context<'_>,
        filter: Option<MovieFilter>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MovieConnection> {
        let filter: Filter = filter.unwrap_or_default().into();
        movie_connection(ctx, &filter, sort, first, after).await
    }

    async fn categories(&self, ctx: &Context<'_>, kind: Option<CategoryKind>) -> async_graphql::Result<Vec<Category>> {
        let mut q = category::Entity::find().order_by_asc(category::Column::Name);
        if let Some(k) = kind {
            q = q.filter(category::Column::Kind.eq(k.as_str()));
        }
        Ok(q.all(&catalog(ctx).services.db)
            .await
            .map_err(Error::from)?
            .into_iter()
            .map(Category)
            .collect())
    }

    async fn category(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<Option<Category>> {
        Ok(category::Entity::find()
            .filter(category::Column::Slug.eq(slug.trim().to_lowercase()))
            .one(&catalog(ctx).services.db)
            .await
            .map_err(Error::from)?
            .map(Category))
    }

    async fn person(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Person>> {
        let id = parse_id("id", &id)?;
        Ok(loader(ctx).load_one(PersonKey(id)).await?.map(Person))
    }

    /// Editorial picks whose window is open now, by rank.
    async fn featured(&self, ctx: &Context<'_>, kind: Option<TitleKind>, first: Option<i32>) -> async_graphql::Result<Vec<Title>> {
        let _ = kind;
        let n = page_size(first)?;
        Ok(catalog(ctx)
            .featured_now(n)
            .await?
            .into_iter()
            .map(|m| Title::Movie(Movie(m)))
            .collect())
    }

    /// Most viewed lately, views decaying with a half-life of 6 hours (DAY) or 2 days (WEEK).
    async fn trending(
        &self,
        ctx: &Context<'_>,
        window: Option<TrendingWindow>,
        kind: Option<TitleKind>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Title>> {
        let _ = kind;
        let n = page_size(first)?;
        let week = window != Some(TrendingWindow::Day);
        Ok(catalog(ctx)
            .trending(week, n)
            .await?
            .into_iter()
            .map(|m| Title::Movie(Movie(m)))
            .collect())
    }

    /// Typo-tolerant title search with highlights and facets.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        kinds: Option<Vec<TitleKind>>,
        filter: Option<MovieFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<SearchResult> {
        let _ = kinds;
        if query.chars().count() > 200 {
            return Err(Error::bad_input("query", "at most 200 characters").into());
        }
        let n = page_size(first)? as usize;
        let offset: usize = match after {
            None => 0,
            Some(a) => a
                .parse()
                .map_err(|_| Error::bad_input("after", "not a cursor from this search"))?,
        };
        let filter: Filter = filter.unwrap_or_default().into();
        let results = catalog(ctx).index.search(&query, &filter.doc_filter()).await;
        let total = results.hits.len();
        let page: Vec<_> = results.hits.into_iter().skip(offset).take(n).collect();
        let movies = loader(ctx)
            .load_many(page.iter().map(|h| MovieKey(h.id)))
            .await?;
        let hits: Vec<SearchHit> = page
            .into_iter()
            .filter_map(|h| {
                movies.get(&MovieKey(h.id)).map(|m| SearchHit {
                    title: Title::Movie(Movie(m.clone())),
                    score: h.score,
                    highlight: h.highlight,
                })
            })
            .collect();
        let end = offset + hits.len();
        let facet = |m: std::collections::BTreeMap<String, usize>| {
            let mut v: Vec<FacetCount> = m
                .into_iter()
                .map(|(value, count)| FacetCount { value, count: count as u64 })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
            v
        };
        Ok(SearchResult {
            total_count: total as u64,
            facets: SearchFacets {
                genres: facet(results.genres),
                decades: facet(results.decades.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
            },
            page_info: PageInfo {
                has_next_page: end < total,
                end_cursor: (end > offset).then(|| end.to_string()),
            },
            hits,
        })
    }

    /// Autocomplete: titles starting with (or with a word starting with) `prefix`.
    async fn suggest(&self, ctx: &Context<'_>, prefix: String, first: Option<i32>) -> async_graphql::Result<Vec<Title>> {
        let n = page_size(first)? as usize;
        let ids = catalog(ctx).index.suggest(&prefix, n).await;
        let movies = loader(ctx).load_many(ids.iter().map(|i| MovieKey(*i))).await?;
        Ok(ids
            .into_iter()
            .filter_map(|i| movies.get(&MovieKey(i)).cloned())
            .map(|m| Title::Movie(Movie(m)))
            .collect())
    }

    #[graphql(entity)]
    async fn find_movie_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Movie>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else { return Ok(None) };
        Ok(loader(ctx).load_one(MovieKey(id)).await?.map(Movie))
    }

    #[graphql(entity)]
    async fn find_person_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Person>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else { return Ok(None) };
        Ok(loader(ctx).load_one(PersonKey(id)).await?.map(Person))
    }

    #[graphql(entity)]
    async fn find_category_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Category>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else { return Ok(None) };
        Ok(loader(ctx).load_one(CategoryKey(id)).await?.map(Category))
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(id.as_str()).ok().map(|id| User { id })
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    #[graphql(requires_scopes = "admin")]
    async fn create_movie(&self, ctx: &Context<'_>, input: MovieInput) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        Ok(Movie(catalog(ctx).save_movie(None, input, actor).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_movie(&self, ctx: &Context<'_>, id: ID, input: MovieInput) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(catalog(ctx).save_movie(Some(id), input, actor).await?))
    }

    /// Soft delete: hidden everywhere, restorable.
    #[graphql(requires_scopes = "admin")]
    async fn delete_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(catalog(ctx).set_deleted(id, true, actor).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn restore_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(catalog(ctx).set_deleted(id, false, actor).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_category(&self, ctx: &Context<'_>, input: CategoryInput) -> async_graphql::Result<Category> {
        let actor = admin(ctx)?;
        Ok(Category(
            catalog(ctx)
                .create_category(&input.name, input.kind.as_str(), actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_person(&self, ctx: &Context<'_>, input: PersonInput) -> async_graphql::Result<Person> {
        admin(ctx)?;
        Ok(Person(catalog(ctx).create_person(&input.name).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn add_credit(&self, ctx: &Context<'_>, input: CreditInput) -> async_graphql::Result<Credit> {
        admin(ctx)?;
        let kind = match input.kind {
            CreditKind::Cast => "CAST",
            CreditKind::Crew => "CREW",
        };
        Ok(Credit(
            catalog(ctx)
                .add_credit(
                    parse_id("input.movieId", &input.movie_id)?,
                    parse_id("input.personId", &input.person_id)?,
                    kind,
                    &input.role,
                )
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn remove_credit(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        admin(ctx)?;
        Ok(catalog(ctx).remove_credit(parse_id("id", &id)?).await?)
    }

    /// Features a title from `from` until `until` at `rank` (1 first).
    #[graphql(requires_scopes = "admin")]
    async fn set_featured(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        rank: i32,
    ) -> async_graphql::Result<FeaturedSlot> {
        let actor = admin(ctx)?;
        let id = parse_id("titleId", &title_id)?;
        let row = catalog(ctx).set_featured(id, from, until, rank, actor).await?;
        Ok(FeaturedSlot {
            id: ID(row.id.to_string()),
            title_id: ID(row.movie_id.to_string()),
            rank: row.rank,
            from: row.starts_at,
            until: row.ends_at,
        })
    }

    #[graphql(requires_scopes = "admin")]
    async fn remove_featured(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let actor = admin(ctx)?;
        Ok(catalog(ctx).remove_featured(parse_id("id", &id)?, actor).await?)
    }

    /// Counts a view (once per viewer, title and hour) for trending; anonymous
    /// viewers are told apart by a hash of their address and client.
    async fn record_view(&self, ctx: &Context<'_>, title_id: ID) -> async_graphql::Result<bool> {
        let id = parse_id("titleId", &title_id)?;
        let (viewer_key, user) = match viewer(ctx) {
            Some(c) => (format!("u:{}", c.sub), Uuid::parse_str(&c.sub).ok()),
            None => {
                let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
                let mut h = Sha256::new();
                h.update(meta.client_ip.unwrap_or_default());
                h.update([0]);
                h.update(meta.user_agent.unwrap_or_default());
                let digest = h.finalize();
                let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
                (format!("a:{hex}"), None)
            }
        };
        Ok(catalog(ctx).record_view(id, viewer_key, user).await?)
    }
}
