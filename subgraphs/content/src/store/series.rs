//! Seasons and episodes of series.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use kit::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{episode, season, title};
use super::*;

/// What an admin sends to create or update a season (absent fields keep their value).
#[derive(Default)]
pub struct SeasonInput {
    /// 0 for specials; unique within the series.
    pub number: Option<i32>,
    pub name: Option<String>,
    pub overview: Option<String>,
    pub air_date: Option<NaiveDate>,
}

/// What an admin sends to create or update an episode (absent fields keep their value).
#[derive(Default)]
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

    pub(super) async fn live_series(&self, id: Uuid) -> Result<title::Model, Error> {
        let s = self.get_of_kind(SERIES, id).await?;
        if s.deleted_at.is_some() {
            return Err(Error::not_found("series"));
        }
        Ok(s)
    }

    pub(super) async fn series_changed<C: ConnectionTrait>(
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

    /// The seasons of `ids`.
    pub async fn seasons_by_id(&self, ids: &[Uuid]) -> Result<Vec<season::Model>, Error> {
        Ok(season::Entity::find()
            .filter(season::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// The episodes of `ids`.
    pub async fn episodes_by_id(&self, ids: &[Uuid]) -> Result<Vec<episode::Model>, Error> {
        Ok(episode::Entity::find()
            .filter(episode::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }
}
