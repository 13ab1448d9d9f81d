//! Seasons and episodes of series.

use async_graphql::{ComplexObject, Context, InputObject, SimpleObject, ID};
use chrono::NaiveDate;
use uuid::Uuid;

use super::loader;
use super::loaders::{EpisodesOf, SeasonKey, TitleKey};
use super::titles::Series;
use crate::store;
use crate::store::model::{episode, season};

// The row's fields are copied at construction; the links are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Season {
    #[graphql(skip)]
    uuid: Uuid,
    #[graphql(skip)]
    series_id: Uuid,
    pub id: ID,
    pub number: i32,
    pub name: String,
    pub overview: String,
    pub air_date: Option<NaiveDate>,
}

impl From<season::Model> for Season {
    fn from(s: season::Model) -> Self {
        Self {
            uuid: s.id,
            series_id: s.series_id,
            id: ID(s.id.to_string()),
            number: s.number,
            air_date: s.air_date.as_deref().and_then(|d| d.parse().ok()),
            name: s.name,
            overview: s.overview,
        }
    }
}

#[ComplexObject]
impl Season {
    async fn series(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Series>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.series_id))
            .await?
            .map(Series::from))
    }
    /// By number.
    async fn episodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Episode>> {
        Ok(loader(ctx)
            .load_one(EpisodesOf(self.uuid))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Episode::from)
            .collect())
    }
    async fn episode_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let episodes = loader(ctx)
            .load_one(EpisodesOf(self.uuid))
            .await?
            .unwrap_or_default();
        Ok(episodes.len() as i32)
    }
}

// The row's fields are copied at construction; the links are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Episode {
    #[graphql(skip)]
    season_id: Uuid,
    #[graphql(skip)]
    series_id: Uuid,
    pub id: ID,
    pub number: i32,
    pub title: String,
    pub overview: String,
    pub air_date: Option<NaiveDate>,
    /// Minutes.
    pub runtime: Option<i32>,
}

impl From<episode::Model> for Episode {
    fn from(e: episode::Model) -> Self {
        Self {
            season_id: e.season_id,
            series_id: e.series_id,
            id: ID(e.id.to_string()),
            number: e.number,
            air_date: e.air_date.as_deref().and_then(|d| d.parse().ok()),
            runtime: e.runtime,
            title: e.title,
            overview: e.overview,
        }
    }
}

#[ComplexObject]
impl Episode {
    async fn season(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Season>> {
        Ok(loader(ctx)
            .load_one(SeasonKey(self.season_id))
            .await?
            .map(Season::from))
    }
    async fn series(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Series>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.series_id))
            .await?
            .map(Series::from))
    }
}

/// What an admin sends to create or update a season (absent fields keep their value).
#[derive(InputObject, Default)]
pub struct SeasonInput {
    /// 0 for specials; unique within the series.
    pub number: Option<i32>,
    pub name: Option<String>,
    pub overview: Option<String>,
    pub air_date: Option<NaiveDate>,
}

/// What an admin sends to create or update an episode (absent fields keep their value).
#[derive(InputObject, Default)]
pub struct EpisodeInput {
    /// Unique within the season.
    pub number: Option<i32>,
    pub title: Option<String>,
    pub overview: Option<String>,
    pub air_date: Option<NaiveDate>,
    /// Minutes.
    pub runtime: Option<i32>,
}

impl From<SeasonInput> for store::SeasonInput {
    fn from(i: SeasonInput) -> Self {
        Self {
            number: i.number,
            name: i.name,
            overview: i.overview,
            air_date: i.air_date,
        }
    }
}

impl From<EpisodeInput> for store::EpisodeInput {
    fn from(i: EpisodeInput) -> Self {
        Self {
            number: i.number,
            title: i.title,
            overview: i.overview,
            air_date: i.air_date,
            runtime: i.runtime,
        }
    }
}
