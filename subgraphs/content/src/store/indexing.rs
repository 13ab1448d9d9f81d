//! The search documents of titles and keeping the search index in line with
//! the catalog (rebuild, reconcile at start, per-title updates).

use std::collections::HashMap;

use kit::Error;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::model::{category, title, title_category};
use super::*;
use crate::search::Doc;

impl Catalog {
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
}
