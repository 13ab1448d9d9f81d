//! Search: typo-tolerant title search with highlights and facets, and
//! autocomplete.

use async_graphql::{Context, Object, SimpleObject};
use kit::graphql::PageInfo;
use kit::paging::page_size;
use kit::Error;
use uuid::Uuid;

use super::filters::MovieFilter;
use super::loaders::TitleKey;
use super::titles::{Title, TitleKind};
use super::{catalog, loader, prefetch, title_list};
use crate::filter::Filter;

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

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
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
        title_list(ctx, found).await
    }
}
