//! Movies and series: the `Title` interface, the `Movie` and `Series`
//! types, their lists (keyset-paged connections), and the catalog's title,
//! season and episode queries and mutations.

use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Interface, Object, SimpleObject, ID,
};
use chrono::NaiveDate;
use kit::paging::{Connection, Paged};
use kit::Error;
use uuid::Uuid;

use super::filters::{MovieFilter, SeriesFilter};
use super::loaders::{CategoriesOf, CreditsOf, EpisodeKey, SeasonKey, SeasonsOf, TitleKey};
use super::people::{Category, Credit, CreditKind};
use super::series::{Episode, EpisodeInput, Season, SeasonInput};
use super::{admin, catalog, entity_row, live, loader, of_kind, parse_id, prefetch};
use crate::store::model::title;
use crate::store::{self, Filter, PageArgs, MOVIE, SERIES};

/// Anything in the catalog a viewer can watch: a movie or a series.
// The derive's `field(name, ty)` lists repeat keys by design.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "&ID"),
    field(name = "slug", ty = "&String"),
    field(name = "title", ty = "&String"),
    field(name = "overview", ty = "&String"),
    field(name = "rating_average", ty = "&f64"),
    field(name = "rating_count", ty = "&i64"),
    field(name = "popularity", ty = "&f64"),
    field(name = "year", ty = "&Option<i32>"),
    field(name = "categories", ty = "Vec<Category>")
)]
pub enum Title {
    Movie(Movie),
    Series(Series),
}

impl From<title::Model> for Title {
    fn from(m: title::Model) -> Self {
        if m.kind == SERIES {
            Title::Series(Series::from(m))
        } else {
            Title::Movie(Movie::from(m))
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TitleKind {
    Movie,
    Series,
}

impl TitleKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            TitleKind::Movie => MOVIE,
            TitleKind::Series => SERIES,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MovieSort {
    PopularityDesc,
    RatingDesc,
    ReleaseDateDesc,
    ReleaseDateAsc,
    TitleAsc,
    TrendingDesc,
}

impl From<MovieSort> for store::MovieSort {
    fn from(s: MovieSort) -> Self {
        match s {
            MovieSort::PopularityDesc => Self::PopularityDesc,
            MovieSort::RatingDesc => Self::RatingDesc,
            MovieSort::ReleaseDateDesc => Self::ReleaseDateDesc,
            MovieSort::ReleaseDateAsc => Self::ReleaseDateAsc,
            MovieSort::TitleAsc => Self::TitleAsc,
            MovieSort::TrendingDesc => Self::TrendingDesc,
        }
    }
}

/// A date column as the schema shows it (none when absent or unreadable).
fn date(raw: Option<&str>) -> Option<NaiveDate> {
    raw.and_then(|d| d.parse().ok())
}

// The row's fields are copied at construction; the lists are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Movie {
    #[graphql(skip)]
    uuid: Uuid,
    pub id: ID,
    pub slug: String,
    pub title: String,
    pub original_title: Option<String>,
    pub overview: String,
    pub tagline: Option<String>,
    pub release_date: Option<NaiveDate>,
    pub year: Option<i32>,
    /// Minutes.
    pub runtime: Option<i32>,
    /// ISO 639-1.
    pub original_language: String,
    pub status: String,
    /// 0 to 10.
    pub rating_average: f64,
    pub rating_count: i64,
    pub popularity: f64,
    pub deleted: bool,
}

impl From<title::Model> for Movie {
    fn from(m: title::Model) -> Self {
        Self {
            uuid: m.id,
            id: ID(m.id.to_string()),
            release_date: date(m.release_date.as_deref()),
            slug: m.slug,
            title: m.title,
            original_title: m.original_title,
            overview: m.overview,
            tagline: m.tagline,
            year: m.year,
            runtime: m.runtime,
            original_language: m.language,
            status: m.status,
            rating_average: m.rating_average,
            rating_count: m.rating_count,
            popularity: m.popularity,
            deleted: m.deleted_at.is_some(),
        }
    }
}

impl Paged for Movie {
    const NAME: &'static str = "Movie";
    const COUNTED: bool = true;
}

#[ComplexObject]
impl Movie {
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        categories_of(ctx, self.uuid).await
    }
    /// Cast first, in billing order, then crew.
    async fn credits(
        &self,
        ctx: &Context<'_>,
        kind: Option<CreditKind>,
    ) -> async_graphql::Result<Vec<Credit>> {
        credits_of(ctx, self.uuid, kind).await
    }
}

// The row's fields are copied at construction; the lists are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Series {
    #[graphql(skip)]
    uuid: Uuid,
    pub id: ID,
    pub slug: String,
    pub title: String,
    pub overview: String,
    pub first_air_date: Option<NaiveDate>,
    /// The year of the first episode.
    pub year: Option<i32>,
    /// A typical episode's minutes.
    pub episode_runtime: Option<i32>,
    /// ISO 639-1.
    pub original_language: String,
    /// `returning`, `ended`, `canceled`, `in_production` or `planned`.
    pub status: String,
    /// 0 to 10.
    pub rating_average: f64,
    pub rating_count: i64,
    pub popularity: f64,
    pub deleted: bool,
}

impl From<title::Model> for Series {
    fn from(m: title::Model) -> Self {
        Self {
            uuid: m.id,
            id: ID(m.id.to_string()),
            first_air_date: date(m.release_date.as_deref()),
            slug: m.slug,
            title: m.title,
            overview: m.overview,
            year: m.year,
            episode_runtime: m.runtime,
            original_language: m.language,
            status: m.status,
            rating_average: m.rating_average,
            rating_count: m.rating_count,
            popularity: m.popularity,
            deleted: m.deleted_at.is_some(),
        }
    }
}

impl Paged for Series {
    const NAME: &'static str = "Series";
    const COUNTED: bool = true;
}

#[ComplexObject]
impl Series {
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        categories_of(ctx, self.uuid).await
    }
    /// Cast first, in billing order, then crew (creators).
    async fn credits(
        &self,
        ctx: &Context<'_>,
        kind: Option<CreditKind>,
    ) -> async_graphql::Result<Vec<Credit>> {
        credits_of(ctx, self.uuid, kind).await
    }
    /// By number (0 holds specials).
    async fn seasons(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Season>> {
        Ok(loader(ctx)
            .load_one(SeasonsOf(self.uuid))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Season::from)
            .collect())
    }
    /// Seasons apart from specials.
    async fn number_of_seasons(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let seasons = loader(ctx)
            .load_one(SeasonsOf(self.uuid))
            .await?
            .unwrap_or_default();
        Ok(seasons.iter().filter(|s| s.number > 0).count() as i32)
    }
}

async fn categories_of(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<Category>> {
    Ok(loader(ctx)
        .load_one(CategoriesOf(id))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(Category::from)
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
        .map(Credit::from)
        .collect())
}

/// One page of movies or series (as `filter.kind` says).
pub(super) async fn title_connection<T: Paged + From<title::Model>>(
    ctx: &Context<'_>,
    filter: &Filter,
    sort: Option<MovieSort>,
    args: PageArgs<'_>,
) -> async_graphql::Result<Connection<T>> {
    let page = catalog(ctx)
        .movies(
            filter,
            sort.unwrap_or(MovieSort::PopularityDesc).into(),
            args,
        )
        .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|(_, m)| m.id).collect();
    prefetch(ctx, ctx.look_ahead().field("edges").field("node"), &ids).await?;
    Ok(Connection::from_page(page, T::from))
}

/// What an admin sends to create or update a movie (absent fields keep their value).
#[derive(InputObject, Default)]
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

impl From<TitleInput> for store::TitleInput {
    fn from(i: TitleInput) -> Self {
        Self {
            title: i.title,
            overview: i.overview,
            tagline: i.tagline,
            release_date: i.release_date,
            runtime: i.runtime,
            language: i.language,
            genres: i.genres,
            status: i.status,
        }
    }
}

#[derive(Default)]
pub struct TitleQuery;

#[Object]
impl TitleQuery {
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
                Ok(live(ctx, MOVIE, id).await?.map(Movie::from))
            }
            (None, Some(slug)) => Ok(catalog(ctx)
                .title_by_slug(MOVIE, &slug)
                .await?
                .map(Movie::from)),
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
            (Some(id), None) => Ok(live(ctx, SERIES, parse_id("id", &id)?)
                .await?
                .map(Series::from)),
            (None, Some(slug)) => Ok(catalog(ctx)
                .title_by_slug(SERIES, &slug)
                .await?
                .map(Series::from)),
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
    ) -> async_graphql::Result<Connection<Series>> {
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
        Ok(catalog(ctx).season(id, number).await?.map(Season::from))
    }

    async fn episode(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Episode>> {
        let id = parse_id("id", &id)?;
        let Some(e) = loader(ctx).load_one(EpisodeKey(id)).await? else {
            return Ok(None);
        };
        Ok(live(ctx, SERIES, e.series_id)
            .await?
            .map(|_| Episode::from(e)))
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
    ) -> async_graphql::Result<Connection<Movie>> {
        let filter: Filter = filter.unwrap_or_default().into();
        let args = PageArgs {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
        };
        title_connection(ctx, &filter, sort, args).await
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
        Ok(of_kind(ctx, MOVIE, id).await?.map(Movie::from))
    }

    /// `Title` is an entity interface (`@key(fields: "id")`): social sees it
    /// as an `@interfaceObject` and names titles without knowing their kind.
    #[graphql(entity)]
    async fn find_title_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Title>> {
        Ok(entity_row(ctx, &id, TitleKey).await?.map(Title::from))
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
        Ok(of_kind(ctx, SERIES, id).await?.map(Series::from))
    }

    #[graphql(entity)]
    async fn find_season_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Season>> {
        Ok(entity_row(ctx, &id, SeasonKey).await?.map(Season::from))
    }

    #[graphql(entity)]
    async fn find_episode_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Episode>> {
        Ok(entity_row(ctx, &id, EpisodeKey).await?.map(Episode::from))
    }
}

/// Creates (`id` none) or updates a title of `kind` (admins only).
async fn save<T: From<title::Model>>(
    ctx: &Context<'_>,
    kind: &'static str,
    id: Option<&ID>,
    input: TitleInput,
) -> async_graphql::Result<T> {
    let actor = admin(ctx)?;
    let id = id.map(|id| parse_id("id", id)).transpose()?;
    Ok(T::from(
        catalog(ctx)
            .save_title(kind, id, input.into(), actor)
            .await?,
    ))
}

/// Soft-deletes (hidden everywhere, restorable) or restores a title of
/// `kind` (admins only).
async fn set_deleted<T: From<title::Model>>(
    ctx: &Context<'_>,
    kind: &'static str,
    id: &ID,
    deleted: bool,
) -> async_graphql::Result<T> {
    let actor = admin(ctx)?;
    let id = parse_id("id", id)?;
    Ok(T::from(
        catalog(ctx).set_deleted(kind, id, deleted, actor).await?,
    ))
}

#[derive(Default)]
pub struct TitleMutation;

#[Object]
impl TitleMutation {
    #[graphql(requires_scopes = "admin")]
    async fn create_movie(
        &self,
        ctx: &Context<'_>,
        input: TitleInput,
    ) -> async_graphql::Result<Movie> {
        save(ctx, MOVIE, None, input).await
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_series(
        &self,
        ctx: &Context<'_>,
        input: TitleInput,
    ) -> async_graphql::Result<Series> {
        save(ctx, SERIES, None, input).await
    }

    #[graphql(requires_scopes = "admin")]
    async fn update_series(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: TitleInput,
    ) -> async_graphql::Result<Series> {
        save(ctx, SERIES, Some(&id), input).await
    }

    /// Soft delete: hidden everywhere with its seasons and episodes, restorable.
    #[graphql(requires_scopes = "admin")]
    async fn delete_series(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Series> {
        set_deleted(ctx, SERIES, &id, true).await
    }

    #[graphql(requires_scopes = "admin")]
    async fn restore_series(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Series> {
        set_deleted(ctx, SERIES, &id, false).await
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
        Ok(Season::from(
            catalog(ctx)
                .save_season(Some(series_id), None, input.into(), actor)
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
        Ok(Season::from(
            catalog(ctx)
                .save_season(None, Some(id), input.into(), actor)
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
        Ok(Episode::from(
            catalog(ctx)
                .save_episode(Some(season_id), None, input.into(), actor)
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
        Ok(Episode::from(
            catalog(ctx)
                .save_episode(None, Some(id), input.into(), actor)
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
        save(ctx, MOVIE, Some(&id), input).await
    }

    /// Soft delete: hidden everywhere, restorable.
    #[graphql(requires_scopes = "admin")]
    async fn delete_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        set_deleted(ctx, MOVIE, &id, true).await
    }

    #[graphql(requires_scopes = "admin")]
    async fn restore_movie(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Movie> {
        set_deleted(ctx, MOVIE, &id, false).await
    }
}
