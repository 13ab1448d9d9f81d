//! The content subgraph's GraphQL schema (Federation v2), one file per area.
//! Entities `Movie`, `Person` and `Category` resolve by `id` in batches;
//! every nested list (categories, credits, a credit's person) goes through
//! a DataLoader (`loaders`), so a page of 50 movies with their genres and
//! cast costs a constant number of statements. `User` gains
//! `recentlyViewed` here. Resolvers map arguments and call the store; they
//! build no SQL.

mod discovery;
mod filters;
mod loaders;
mod people;
mod search;
mod series;
mod titles;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, EmptySubscription, Lookahead, MergedObject, Request, Schema, ID};
use kit::auth::{require_role, Role};
use kit::Error;
use uuid::Uuid;

use crate::store::model::title;
use crate::store::Catalog;
use loaders::{CategoriesOf, CreditsOf, EpisodesOf, Loaders, PersonKey, SeasonsOf, TitleKey};

pub use discovery::{FeaturedSlot, TrendingWindow, User};
pub use filters::{Match, MovieFilter, SeriesFilter};
pub use people::{Category, CategoryKind, Credit, CreditKind, Person};
pub use search::{FacetCount, SearchFacets, SearchHit, SearchResult};
pub use series::{Episode, Season};
pub use titles::{Movie, MovieSort, Series, Title, TitleKind};

pub type ContentSchema = Schema<Query, Mutation, EmptySubscription>;

// The root query: each area's fields, in the order the SDL lists them (a
// doc comment here would become its description in the SDL).
#[derive(MergedObject, Default)]
pub struct Query(
    titles::TitleQuery,
    people::PeopleQuery,
    discovery::DiscoveryQuery,
    search::SearchQuery,
);

// The root mutation: each area's fields, in the order the SDL lists them.
#[derive(MergedObject, Default)]
pub struct Mutation(
    titles::TitleMutation,
    people::PeopleMutation,
    discovery::DiscoveryMutation,
);

pub fn build(catalog: Arc<Catalog>) -> ContentSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(20_000)
        .data(catalog)
        .finish()
}

pub fn sdl() -> String {
    kit::graphql::federated_sdl(
        &Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .enable_federation()
            .finish(),
    )
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
async fn title_list(
    ctx: &Context<'_>,
    models: Vec<title::Model>,
) -> async_graphql::Result<Vec<Title>> {
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

/// The row an entity reference names, through the loader `key` makes the
/// key of (none for an id that is no UUID: no row of this subgraph has it).
async fn entity_row<K, V>(
    ctx: &Context<'_>,
    id: &ID,
    key: impl FnOnce(Uuid) -> K,
) -> async_graphql::Result<Option<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    Loaders: async_graphql::dataloader::Loader<K, Value = V, Error = async_graphql::Error>,
{
    let Ok(id) = Uuid::parse_str(id.as_str()) else {
        return Ok(None);
    };
    loader(ctx).load_one(key(id)).await
}

fn parse_id(field: &str, id: &ID) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid id"))
}

fn admin<'a>(ctx: &'a Context<'_>) -> Result<&'a str, Error> {
    Ok(require_role(ctx, Role::Admin)?.sub.as_str())
}
