//! The content subgraph's GraphQL schema (Federation v2). Entities `Movie`,
//! `Person` and `Category` resolve by `id` in batches; every nested list
//! (categories, credits, a credit's person) goes through a DataLoader, so a
//! page of 50 movies with their genres and cast costs a constant number of
//! statements. `User` gains `recentlyViewed` here.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Interface, Lookahead, Object, OutputType,
    Request, Schema, SimpleObject, ID,
};
use chrono::{DateTime, NaiveDate, Utc};
use kit::auth::{require_role, viewer, RequestMeta, Role};
use kit::graphql::PageInfo;
use kit::Error;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::catalog::{
    page_size, Catalog, EpisodeInput, Filter, MovieSort, PageArgs, SeasonInput, TitleInput, MOVIE,
    SERIES,
};
use crate::model::{category, credit, episode, person, season, title};

pub type ContentSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build(catalog: Arc<Catalog>) -> ContentSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(20_000)
        .data(catalog)
        .finish()
}

/// `request` with this request's dataloaders: their cache lives as long as
/// the request, so what a list resolver prefetched for its whole page (see
/// `prefetch`) answers each item's own resolver without another statement.
pub fn with_loaders(catalog: &Arc<Catalog>, request: Request) -> Request {
    let loaders = Loaders {
        catalog: catalog.clone(),
    };
    // No waiting for more keys: list resolvers hand over whole pages at
    // once (`prefetch`), and keys asked for in one poll pass still batch.
    request.data(
        DataLoader::with_cache(loaders, tokio::spawn, HashMapCache::default())
            .delay(std::time::Duration::ZERO),
    )
}

/// `models` as the answer of a `[Title]` field, nested lists prefetched.
async fn titles(ctx: &Context<'_>, models: Vec<title::Model>) -> async_graphql::Result<Vec<Title>> {
    let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
    prefetch(ctx, ctx.look_ahead(), &ids).await?;
    Ok(models.into_iter().map(Title::from).collect())
}

/// Loads the nested lists that `node` (a movie's selection) asks for, for
/// all of `ids` at once: one statement per kind whatever the page size.
async fn prefetch(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    ids: &[Uuid],
) -> async_graphql::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let l = loader(ctx);
    let categories = async {
        if node.field("categories").exists() {
            l.load_many(ids.iter().map(|i| CategoriesOf(*i))).await?;
        }
        Ok::<_, async_graphql::Error>(())
    };
    let credits = async {
        let c = node.field("credits");
        if c.exists() {
            let credits = l.load_many(ids.iter().map(|i| CreditsOf(*i))).await?;
            if c.field("person").exists() {
                l.load_many(credits.values().flatten().map(|c| PersonKey(c.person_id)))
                    .await?;
            }
        }
        Ok(())
    };
    let seasons = async {
        let n = node.field("seasons");
        if n.exists() {
            let seasons = l.load_many(ids.iter().map(|i| SeasonsOf(*i))).await?;
            if n.field("episodes").exists() {
                l.load_many(seasons.values().flatten().map(|s| EpisodesOf(s.id)))
                    .await?;
            }
        }
        Ok(())
    };
    tokio::try_join!(categories, credits, seasons)?;
    Ok(())
}

pub fn sdl() -> String {
    kit::graphql::federated_sdl(
        &Schema::build(Query, Mutation, EmptySubscription)
            .enable_federation()
            .finish(),
    )
}

fn catalog<'a>(ctx: &Context<'a>) -> &'a Arc<Catalog> {
    ctx.data_unchecked::<Arc<Catalog>>()
}

fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<Loaders, HashMapCache> {
    ctx.data_unchecked::<DataLoader<Loaders, HashMapCache>>()
}

/// Title `id` when it is of `kind` (deleted ones too: entities keep resolving).
async fn of_kind(
    ctx: &Context<'_>,
    kind: &str,
    id: Uuid,
) -> async_graphql::Result<Option<title::Model>> {
    Ok(loader(ctx)
        .load_one(TitleKey(id))
        .await?
        .filter(|m| m.kind == kind))
}

/// Title `id` when it is of `kind` and not deleted.
async fn live(
    ctx: &Context<'_>,
    kind: &str,
    id: Uuid,
) -> async_graphql::Result<Option<title::Model>> {
    Ok(of_kind(ctx, kind, id)
        .await?
        .filter(|m| m.deleted_at.is_none()))
}

fn parse_id(field: &str, id: &ID) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid id"))
}

fn admin<'a>(ctx: &'a Context<'_>) -> Result<&'a str, Error> {
    Ok(require_role(ctx, Role::Admin)?.sub.as_str())
}

/// Batch keys: each kind of nested list loads in one statement per request tick.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TitleKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SeasonsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct EpisodesOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SeasonKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct EpisodeKey(pub Uuid);
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

impl Loader<TitleKey> for Loaders {
    type Value = title::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TitleKey]) -> LoadResult<TitleKey, title::Model> {
        let rows = title::Entity::find()
            .filter(title::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|m| (TitleKey(m.id), m)).collect())
    }
}

impl Loader<SeasonsOf> for Loaders {
    type Value = Vec<season::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[SeasonsOf]) -> LoadResult<SeasonsOf, Vec<season::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let map = self.catalog.seasons_of(&ids).await?;
        Ok(map.into_iter().map(|(k, v)| (SeasonsOf(k), v)).collect())
    }
}

impl Loader<EpisodesOf> for Loaders {
    type Value = Vec<episode::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[EpisodesOf]) -> LoadResult<EpisodesOf, Vec<episode::Model>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let map = self.catalog.episodes_of(&ids).await?;
        Ok(map.into_iter().map(|(k, v)| (EpisodesOf(k), v)).collect())
    }
}

impl Loader<SeasonKey> for Loaders {
    type Value = season::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[SeasonKey]) -> LoadResult<SeasonKey, season::Model> {
        let rows = season::Entity::find()
            .filter(season::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|s| (SeasonKey(s.id), s)).collect())
    }
}

impl Loader<EpisodeKey> for Loaders {
    type Value = episode::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[EpisodeKey]) -> LoadResult<EpisodeKey, episode::Model> {
        let rows = episode::Entity::find()
            .filter(episode::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        Ok(rows.into_iter().map(|e| (EpisodeKey(e.id), e)).collect())
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
            .filter(credit::Column::TitleId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(credit::Column::Position)
            .all(&self.catalog.services.db)
            .await
            .map_err(Error::from)?;
        let mut out: HashMap<CreditsOf, Vec<credit::Model>> = HashMap::new();
        for c in rows {
            out.entry(CreditsOf(c.title_id)).or_default().push(c);
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
            .order_by_asc(credit::Column::TitleId)
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

/// Anything in the catalog a viewer can watch: a movie or a series.
// The derive's `field(name, ty)` lists repeat keys by design.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID"),
    field(name = "slug", ty = "&str"),
    field(name = "title", ty = "&str"),
    field(name = "overview", ty = "&str"),
    field(name = "rating_average", ty = "f64"),
    field(name = "rating_count", ty = "i64"),
    field(name = "popularity", ty = "f64"),
    field(name = "year", ty = "Option<i32>"),
    field(name = "categories", ty = "Vec<Category>")
)]
pub enum Title {
    Movie(Movie),
    Series(Series),
}

impl From<title::Model> for Title {
    fn from(m: title::Model) -> Self {
        if m.kind == SERIES {
            Title::Series(Series(m))
        } else {
            Title::Movie(Movie(m))
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TitleKind {
    Movie,
    Series,
}

impl TitleKind {
    fn as_str(self) -> &'static str {
        match self {
            TitleKind::Movie => MOVIE,
            TitleKind::Series => SERIES,
        }
    }
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

pub struct Movie(pub title::Model);

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
        categories_of(ctx, self.0.id).await
    }
    /// Cast first, in billing order, then crew.
    async fn credits(
        &self,
        ctx: &Context<'_>,
        kind: Option<CreditKind>,
    ) -> async_graphql::Result<Vec<Credit>> {
        credits_of(ctx, self.0.id, kind).await
    }
}

async fn categories_of(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<Category>> {
    Ok(loader(ctx)
        .load_one(CategoriesOf(id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Category)
        .collect())
}

async fn credits_of(
    ctx: &Context<'_>,
    id: Uuid,
    kind: Option<CreditKind>,
) -> async_graphql::Result<Vec<Credit>> {
    let all = loader(ctx)
        .load_one(CreditsOf(id))
        .await?
        .unwrap_or_default();
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

/// A series: its seasons and their episodes.
pub struct Series(pub title::Model);

#[Object]
impl Series {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn overview(&self) -> &str {
        &self.0.overview
    }
    async fn first_air_date(&self) -> Option<NaiveDate> {
        self.0.release_date.as_deref().and_then(|d| d.parse().ok())
    }
    /// The year of the first episode.
    async fn year(&self) -> Option<i32> {
        self.0.year
    }
    /// A typical episode's minutes.
    async fn episode_runtime(&self) -> Option<i32> {
        self.0.runtime
    }
    /// ISO 639-1.
    async fn original_language(&self) -> &str {
        &self.0.language
    }
    /// `returning`, `ended`, `canceled`, `in_production` or `planned`.
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
        categories_of(ctx, self.0.id).await
    }
    /// Cast first, in billing order, then crew (creators).
    async fn credits(
        &self,
        ctx: &Context<'_>,
        kind: Option<CreditKind>,
    ) -> async_graphql::Result<Vec<Credit>> {
        credits_of(ctx, self.0.id, kind).await
    }
    /// By number (0 holds specials).
    async fn seasons(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Season>> {
        Ok(loader(ctx)
            .load_one(SeasonsOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Season)
            .collect())
    }
    /// Seasons apart from specials.
    async fn number_of_seasons(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let seasons = loader(ctx)
            .load_one(SeasonsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(seasons.iter().filter(|s| s.number > 0).count() as i32)
    }
}

pub struct Season(pub season::Model);

#[Object]
impl Season {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn overview(&self) -> &str {
        &self.0.overview
    }
    async fn air_date(&self) -> Option<NaiveDate> {
        self.0.air_date.as_deref().and_then(|d| d.parse().ok())
    }
    async fn series(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Series>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.0.series_id))
            .await?
            .map(Series))
    }
    /// By number.
    async fn episodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Episode>> {
        Ok(loader(ctx)
            .load_one(EpisodesOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Episode)
            .collect())
    }
    async fn episode_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let episodes = loader(ctx)
            .load_one(EpisodesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(episodes.len() as i32)
    }
}

pub struct Episode(pub episode::Model);

#[Object]
impl Episode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn overview(&self) -> &str {
        &self.0.overview
    }
    async fn air_date(&self) -> Option<NaiveDate> {
        self.0.air_date.as_deref().and_then(|d| d.parse().ok())
    }
    /// Minutes.
    async fn runtime(&self) -> Option<i32> {
        self.0.runtime
    }
    async fn season(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Season>> {
        Ok(loader(ctx)
            .load_one(SeasonKey(self.0.season_id))
            .await?
            .map(Season))
    }
    async fn series(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Series>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.0.series_id))
            .await?
            .map(Series))
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
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Edge<Movie>>> {
        let filter = Filter {
            kind: Some(MOVIE),
            categories: vec![self.0.slug.clone()],
            ..Filter::default()
        };
        let args = PageArgs {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
        };
        title_connection(ctx, &filter, sort, args).await
    }
    /// This category's series, paged like `seriesList`.
    async fn series(
        &self,
        ctx: &Context<'_>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Edge<Series>>> {
        let filter = Filter {
            kind: Some(SERIES),
            categories: vec![self.0.slug.clone()],
            ..Filter::default()
        };
        let args = PageArgs {
            first,
            after: after.as_deref(),
            ..PageArgs::default()
        };
        title_connection(ctx, &filter, sort, args).await
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
        Ok(loader(ctx)
            .load_one(PersonKey(self.0.person_id))
            .await?
            .map(Person))
    }
    /// The movie or series credited.
    async fn title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Title>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.0.title_id))
            .await?
            .map(Title::from))
    }
}

#[derive(SimpleObject)]
#[graphql(
    concrete(name = "MovieEdge", params(Movie)),
    concrete(name = "SeriesEdge", params(Series))
)]
pub struct Edge<T: OutputType> {
    pub cursor: String,
    pub node: T,
}

#[derive(SimpleObject)]
#[graphql(
    concrete(name = "MovieConnection", params(MovieEdge)),
    concrete(name = "SeriesConnection", params(SeriesEdge))
)]
pub struct Connection<E: OutputType> {
    pub edges: Vec<E>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

pub type MovieEdge = Edge<Movie>;
pub type SeriesEdge = Edge<Series>;

impl From<title::Model> for Movie {
    fn from(m: title::Model) -> Self {
        Movie(m)
    }
}

impl From<title::Model> for Series {
    fn from(m: title::Model) -> Self {
        Series(m)
    }
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

/// What a series list is narrowed to.
#[derive(InputObject, Default)]
pub struct SeriesFilter {
    /// Genre slugs, e.g. `["drama"]`.
    pub genres: Option<Vec<String>>,
    /// Category slugs of any kind.
    pub categories: Option<Vec<String>>,
    /// How `genres` and `categories` combine (default ANY).
    #[graphql(name = "match")]
    pub match_: Option<Match>,
    /// The year of the first episode.
    pub year: Option<i32>,
    pub first_aired_from: Option<NaiveDate>,
    pub first_aired_to: Option<NaiveDate>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub min_votes: Option<i64>,
    pub original_language: Option<String>,
    /// `returning`, `ended`, `canceled`, ...
    pub status: Option<String>,
}

impl From<SeriesFilter> for Filter {
    fn from(f: SeriesFilter) -> Self {
        Filter {
            kind: Some(SERIES),
            genres: f.genres.unwrap_or_default(),
            all_genres: f.match_ == Some(Match::All),
            categories: f.categories.unwrap_or_default(),
            year: f.year,
            released_from: f.first_aired_from,
            released_to: f.first_aired_to,
            rating_min: f.rating_min,
            rating_max: f.rating_max,
            min_votes: f.min_votes,
            language: f.original_language,
            status: f.status,
            ..Filter::default()
        }
    }
}

impl From<MovieFilter> for Filter {
    fn from(f: MovieFilter) -> Self {
        Filter {
            kind: Some(MOVIE),
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

/// One page of movies or series (as `filter.kind` says).
async fn title_connection<T: OutputType + From<title::Model>>(
    ctx: &Context<'_>,
    filter: &Filter,
    sort: Option<MovieSort>,
    args: PageArgs<'_>,
) -> async_graphql::Result<Connection<Edge<T>>>
where
    Edge<T>: OutputType,
{
    let page = catalog(ctx)
        .movies(filter, sort.unwrap_or(MovieSort::PopularityDesc), args)
        .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|(_, m)| m.id).collect();
    prefetch(ctx, ctx.look_ahead().field("edges").field("node"), &ids).await?;
    let edges: Vec<Edge<T>> = page
        .items
        .into_iter()
        .map(|(cursor, m)| Edge {
            cursor,
            node: T::from(m),
        })
        .collect();
    Ok(Connection {
        page_info: PageInfo::new(
            edges.iter().map(|e| e.cursor.as_str()),
            page.has_previous_page,
            page.has_next_page,
        ),
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
    pub title_id: ID,
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

    /// Titles this account viewed, newest first (the account itself only).
    async fn recently_viewed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Option<Vec<Title>>> {
        let v = kit::auth::require_viewer(ctx)?;
        if v.sub != self.id.to_string() && !v.has_role(Role::Admin) {
            return Err(Error::forbidden("only the account itself sees what it viewed").into());
        }
        let n = page_size(first)?;
        // Nullable: when the catalog is down, the account's other fields still answer.
        Ok(Some(
            titles(ctx, catalog(ctx).recently_viewed(self.id, n).await?).await?,
        ))
    }
}

pub struct Query;

#[Object]
impl Query {
    /// A movie by `id` or `slug`.
    async fn movie(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Movie>> {
        match (id, slug) {
            (Some(id), None) => {
                let id = parse_id("id", &id)?;
                Ok(live(ctx, MOVIE, id).await?.map(Movie))
            }
            (None, Some(slug)) => Ok(catalog(ctx).title_by_slug(MOVIE, &slug).await?.map(Movie)),
            _ => Err(Error::bad_input("id", "give exactly one of id and slug").into()),
        }
    }

    /// A series by `id` or `slug`.
    async fn series(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Series>> {
        match (id, slug) {
            (Some(id), None) => Ok(live(ctx, SERIES, parse_id("id", &id)?).await?.map(Series)),
            (None, Some(slug)) => Ok(catalog(ctx).title_by_slug(SERIES, &slug).await?.map(Series)),
            _ => Err(Error::bad_input("id", "give exactly one of id and slug").into()),
        }
    }

    /// Series matching `filter`, in `sort` order (default POPULARITY_DESC).
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn series_list(
        &self,
        ctx: &Context<'_>,
        filter: Option<SeriesFilter>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Edge<Series>>> {
        let filter: Filter = filter.unwrap_or_default().into();
        let args = PageArgs {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
        };
        title_connection(ctx, &filter, sort, args).await
    }

    /// Season `number` of a series (0: specials).
    async fn season(
        &self,
        ctx: &Context<'_>,
        series_id: ID,
        number: i32,
    ) -> async_graphql::Result<Option<Season>> {
        let id = parse_id("seriesId", &series_id)?;
        if live(ctx, SERIES, id).await?.is_none() {
            return Ok(None);
        }
        Ok(catalog(ctx).season(id, number).await?.map(Season))
    }

    async fn episode(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Episode>> {
        let id = parse_id("id", &id)?;
        let Some(e) = loader(ctx).load_one(EpisodeKey(id)).await? else {
            return Ok(None);
        };
        Ok(live(ctx, SERIES, e.series_id).await?.map(|_| Episode(e)))
    }

    /// Movies matching `filter`, in `sort` order (default POPULARITY_DESC).
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn movies(
        &self,
        ctx: &Context<'_>,
        filter: Option<MovieFilter>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Edge<Movie>>> {
        let filter: Filter = filter.unwrap_or_default().into();
        let args = PageArgs {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
        };
        title_connection(ctx, &filter, sort, args).await
    }

    async fn categories(
        &self,
        ctx: &Context<'_>,
        kind: Option<CategoryKind>,
    ) -> async_graphql::Result<Vec<Category>> {
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

    async fn category(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Category>> {
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
    async fn featured(
        &self,
        ctx: &Context<'_>,
        kind: Option<TitleKind>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Title>> {
        let n = page_size(first)?;
        let kind = kind.map(TitleKind::as_str);
        titles(ctx, catalog(ctx).featured_now(kind, n).await?).await
    }

    /// Most viewed lately, views decaying with a half-life of 6 hours (DAY) or 2 days (WEEK).
    async fn trending(
        &self,
        ctx: &Context<'_>,
        window: Option<TrendingWindow>,
        kind: Option<TitleKind>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Title>> {
        let n = page_size(first)?;
        let week = window != Some(TrendingWindow::Day);
        let kind = kind.map(TitleKind::as_str);
        titles(ctx, catalog(ctx).trending(week, kind, n).await?).await
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
        let n = page_size(first)? as usize;
        let offset: usize = match after {
            None => 0,
            Some(a) => a
                .parse()
                .map_err(|_| Error::bad_input("after", "not a cursor from this search"))?,
        };
        let mut filter: Filter = filter.unwrap_or_default().into();
        filter.kind = None;
        let kinds: Vec<TitleKind> = kinds.unwrap_or_default();
        // One kind narrows like `movies`/`seriesList`; both (or none) keep both.
        if kinds.windows(2).all(|w| w[0] == w[1]) {
            filter.kind = kinds.first().map(|k| k.as_str());
        }
        let results = catalog(ctx)
            .search
            .search(&query, &filter, offset, n)
            .await?;
        let total = results.total;
        let page = results.hits;
        let movies = loader(ctx)
            .load_many(page.iter().map(|h| TitleKey(h.id)))
            .await?;
        let ids: Vec<Uuid> = movies.keys().map(|k| k.0).collect();
        prefetch(ctx, ctx.look_ahead().field("hits").field("title"), &ids).await?;
        // Cursors count the engine's hits, including any whose title was
        // deleted a moment ago and is not shown (the index follows events).
        let end = offset + page.len();
        let hits: Vec<SearchHit> = page
            .into_iter()
            .filter_map(|h| {
                let m = movies.get(&TitleKey(h.id))?;
                m.deleted_at.is_none().then(|| SearchHit {
                    title: Title::from(m.clone()),
                    score: h.score,
                    highlight: h.highlight,
                })
            })
            .collect();
        let facet = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect()
        };
        Ok(SearchResult {
            total_count: total as u64,
            facets: SearchFacets {
                genres: facet(results.genres),
                decades: facet(
                    results
                        .decades
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                ),
            },
            page_info: PageInfo {
                has_next_page: end < total,
                has_previous_page: offset > 0,
                // Search cursors are offsets: an edge's cursor is where the next page starts.
                start_cursor: (end > offset).then(|| (offset + 1).to_string()),
                end_cursor: (end > offset).then(|| end.to_string()),
            },
            hits,
        })
    }

    /// Autocomplete: titles starting with (or with a word starting with) `prefix`.
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Title>> {
        let n = page_size(first)? as usize;
        let ids = catalog(ctx).search.suggest(&prefix, n).await?;
        let mut movies = loader(ctx)
            .load_many(ids.iter().map(|i| TitleKey(*i)))
            .await?;
        let found = ids
            .into_iter()
            .filter_map(|i| movies.remove(&TitleKey(i)))
            .filter(|m| m.deleted_at.is_none())
            .collect();
        titles(ctx, found).await
    }

    #[graphql(entity)]
    async fn find_movie_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Movie>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(of_kind(ctx, MOVIE, id).await?.map(Movie))
    }

    #[graphql(entity)]
    async fn find_series_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Series>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(of_kind(ctx, SERIES, id).await?.map(Series))
    }

    #[graphql(entity)]
    async fn find_season_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Season>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(SeasonKey(id)).await?.map(Season))
    }

    #[graphql(entity)]
    async fn find_episode_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Episode>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(EpisodeKey(id)).await?.map(Episode))
    }

    #[graphql(entity)]
    async fn find_person_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Person>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(PersonKey(id)).await?.map(Person))
    }

    #[graphql(entity)]
    async fn find_category_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Category>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
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
    async fn create_movie(
        &self,
        ctx: &Context<'_>,
        input: TitleInput,
    ) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        Ok(Movie(catalog(ctx).save_movie(None, input, actor).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_series(
        &self,
        ctx: &Context<'_>,
        input: TitleInput,
    ) -> async_graphql::Result<Series> {
        let actor = admin(ctx)?;
        Ok(Series(
            catalog(ctx).save_title(SERIES, None, input, actor).await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_series(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: TitleInput,
    ) -> async_graphql::Result<Series> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Series(
            catalog(ctx)
                .save_title(SERIES, Some(id), input, actor)
                .await?,
        ))
    }

    /// Soft delete: hidden everywhere with its seasons and episodes, restorable.
    #[graphql(requires_scopes = "admin")]
    async fn delete_series(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Series> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Series(
            catalog(ctx).set_deleted(SERIES, id, true, actor).await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn restore_series(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Series> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Series(
            catalog(ctx).set_deleted(SERIES, id, false, actor).await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_season(
        &self,
        ctx: &Context<'_>,
        series_id: ID,
        input: SeasonInput,
    ) -> async_graphql::Result<Season> {
        let actor = admin(ctx)?;
        let series_id = parse_id("seriesId", &series_id)?;
        Ok(Season(
            catalog(ctx)
                .save_season(Some(series_id), None, input, actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_season(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SeasonInput,
    ) -> async_graphql::Result<Season> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Season(
            catalog(ctx)
                .save_season(None, Some(id), input, actor)
                .await?,
        ))
    }

    /// Deletes the season and its episodes.
    #[graphql(requires_scopes = "admin")]
    async fn delete_season(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let actor = admin(ctx)?;
        Ok(catalog(ctx)
            .delete_season(parse_id("id", &id)?, actor)
            .await?)
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_episode(
        &self,
        ctx: &Context<'_>,
        season_id: ID,
        input: EpisodeInput,
    ) -> async_graphql::Result<Episode> {
        let actor = admin(ctx)?;
        let season_id = parse_id("seasonId", &season_id)?;
        Ok(Episode(
            catalog(ctx)
                .save_episode(Some(season_id), None, input, actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_episode(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EpisodeInput,
    ) -> async_graphql::Result<Episode> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Episode(
            catalog(ctx)
                .save_episode(None, Some(id), input, actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn delete_episode(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let actor = admin(ctx)?;
        Ok(catalog(ctx)
            .delete_episode(parse_id("id", &id)?, actor)
            .await?)
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_movie(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: TitleInput,
    ) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(
            catalog(ctx).save_movie(Some(id), input, actor).await?,
        ))
    }

    /// Soft delete: hidden everywhere, restorable.
    #[graphql(requires_scopes = "admin")]
    async fn delete_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(
            catalog(ctx).set_deleted(MOVIE, id, true, actor).await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn restore_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        let actor = admin(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Movie(
            catalog(ctx).set_deleted(MOVIE, id, false, actor).await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CategoryInput,
    ) -> async_graphql::Result<Category> {
        let actor = admin(ctx)?;
        Ok(Category(
            catalog(ctx)
                .create_category(&input.name, input.kind.as_str(), actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: PersonInput,
    ) -> async_graphql::Result<Person> {
        admin(ctx)?;
        Ok(Person(catalog(ctx).create_person(&input.name).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn add_credit(
        &self,
        ctx: &Context<'_>,
        input: CreditInput,
    ) -> async_graphql::Result<Credit> {
        admin(ctx)?;
        let kind = match input.kind {
            CreditKind::Cast => "CAST",
            CreditKind::Crew => "CREW",
        };
        Ok(Credit(
            catalog(ctx)
                .add_credit(
                    parse_id("input.titleId", &input.title_id)?,
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
        let row = catalog(ctx)
            .set_featured(id, from, until, rank, actor)
            .await?;
        Ok(FeaturedSlot {
            id: ID(row.id.to_string()),
            title_id: ID(row.title_id.to_string()),
            rank: row.rank,
            from: row.starts_at,
            until: row.ends_at,
        })
    }

    #[graphql(requires_scopes = "admin")]
    async fn remove_featured(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let actor = admin(ctx)?;
        Ok(catalog(ctx)
            .remove_featured(parse_id("id", &id)?, actor)
            .await?)
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
