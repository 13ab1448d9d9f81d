//! The per-request DataLoaders: one key type per kind of row or nested
//! list, each answered for a whole batch of keys by one store call.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::store::model::{category, credit, episode, person, season, title};
use crate::store::Catalog;

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
    pub(super) catalog: Arc<Catalog>,
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

/// The ids of a batch of keys.
fn ids<K>(keys: &[K], id: impl Fn(&K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(id).collect()
}

impl Loader<TitleKey> for Loaders {
    type Value = title::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TitleKey]) -> LoadResult<TitleKey, title::Model> {
        let rows = self.catalog.titles_by_id(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|m| (TitleKey(m.id), m)).collect())
    }
}

impl Loader<SeasonsOf> for Loaders {
    type Value = Vec<season::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[SeasonsOf]) -> LoadResult<SeasonsOf, Vec<season::Model>> {
        let map = self.catalog.seasons_of(&ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (SeasonsOf(k), v)).collect())
    }
}

impl Loader<EpisodesOf> for Loaders {
    type Value = Vec<episode::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[EpisodesOf]) -> LoadResult<EpisodesOf, Vec<episode::Model>> {
        let map = self.catalog.episodes_of(&ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (EpisodesOf(k), v)).collect())
    }
}

impl Loader<SeasonKey> for Loaders {
    type Value = season::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[SeasonKey]) -> LoadResult<SeasonKey, season::Model> {
        let rows = self.catalog.seasons_by_id(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|s| (SeasonKey(s.id), s)).collect())
    }
}

impl Loader<EpisodeKey> for Loaders {
    type Value = episode::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[EpisodeKey]) -> LoadResult<EpisodeKey, episode::Model> {
        let rows = self.catalog.episodes_by_id(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|e| (EpisodeKey(e.id), e)).collect())
    }
}

impl Loader<CategoriesOf> for Loaders {
    type Value = Vec<category::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CategoriesOf]) -> LoadResult<CategoriesOf, Vec<category::Model>> {
        let map = self.catalog.genres_of(&ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (CategoriesOf(k), v)).collect())
    }
}

impl Loader<CreditsOf> for Loaders {
    type Value = Vec<credit::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CreditsOf]) -> LoadResult<CreditsOf, Vec<credit::Model>> {
        let map = self.catalog.credits_of(&ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (CreditsOf(k), v)).collect())
    }
}

impl Loader<CreditsBy> for Loaders {
    type Value = Vec<credit::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CreditsBy]) -> LoadResult<CreditsBy, Vec<credit::Model>> {
        let map = self.catalog.credits_by(&ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (CreditsBy(k), v)).collect())
    }
}

impl Loader<PersonKey> for Loaders {
    type Value = person::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[PersonKey]) -> LoadResult<PersonKey, person::Model> {
        let rows = self.catalog.people_by_id(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|p| (PersonKey(p.id), p)).collect())
    }
}

impl Loader<CategoryKey> for Loaders {
    type Value = category::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CategoryKey]) -> LoadResult<CategoryKey, category::Model> {
        let rows = self.catalog.categories_by_id(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|c| (CategoryKey(c.id), c)).collect())
    }
}
