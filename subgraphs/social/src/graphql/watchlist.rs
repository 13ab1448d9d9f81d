//! Watchlists and watch history: their types, lists and mutations.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::auth::viewer;
use kit::paging::{page_size, Connection, Paged};
use uuid::Uuid;

use super::loaders::InWatchlist;
use super::titles::Title;
use super::{gid, id_of, loader, signed_in, social, viewer_id, User};
use crate::store;
use crate::store::model::{watch_history, watchlist};

#[derive(SimpleObject)]
pub struct WatchlistEntry {
    pub title_id: ID,
    /// The movie or series (null when content cannot answer).
    pub title: Option<Title>,
    pub user: Option<User>,
    pub added_at: DateTime<Utc>,
}

impl From<watchlist::Model> for WatchlistEntry {
    fn from(row: watchlist::Model) -> Self {
        Self {
            title_id: gid(row.title_id),
            title: Title::of(row.title_id),
            user: Some(User { id: row.user_id }),
            added_at: row.added_at,
        }
    }
}

impl Paged for WatchlistEntry {
    const NAME: &'static str = "Watchlist";
}

#[derive(SimpleObject)]
pub struct WatchEvent {
    pub id: ID,
    pub title_id: ID,
    /// The movie or series watched (null when content cannot answer).
    pub title: Option<Title>,
    pub watched_at: DateTime<Utc>,
}

impl From<watch_history::Model> for WatchEvent {
    fn from(row: watch_history::Model) -> Self {
        Self {
            id: gid(row.id),
            title_id: gid(row.title_id),
            title: Title::of(row.title_id),
            watched_at: row.watched_at,
        }
    }
}

impl Paged for WatchEvent {
    const NAME: &'static str = "WatchEvent";
}

/// `user`'s watchlist, newest first, when the caller may see their lists.
pub(super) async fn watchlist_of(
    ctx: &Context<'_>,
    user: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<WatchlistEntry>> {
    let s = social(ctx);
    s.require_lists(viewer(ctx), user).await?;
    let p = s
        .watchlist(
            user,
            page_size(first)?,
            store::cursor("after", after.as_deref())?,
        )
        .await?;
    Ok(Connection::from_page(p, WatchlistEntry::from))
}

/// Whether `title` is on the caller's watchlist (false when signed out).
pub(super) async fn in_watchlist(ctx: &Context<'_>, title: Uuid) -> async_graphql::Result<bool> {
    match viewer_id(ctx) {
        None => Ok(false),
        Some(v) => Ok(loader(ctx)
            .load_one(InWatchlist(v, title))
            .await?
            .unwrap_or(false)),
    }
}

#[derive(Default)]
pub struct WatchlistQuery;

#[Object]
impl WatchlistQuery {
    /// A user's watchlist, newest first (yours without `userId`).
    async fn watchlist(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<WatchlistEntry>> {
        let user = match user_id {
            Some(u) => id_of("userId", &u)?,
            None => signed_in(ctx)?,
        };
        watchlist_of(ctx, user, first, after).await
    }

    /// What a user watched, newest first (yours without `userId`).
    async fn watch_history(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<WatchEvent>> {
        let user = match user_id {
            Some(u) => id_of("userId", &u)?,
            None => signed_in(ctx)?,
        };
        let s = social(ctx);
        s.require_lists(viewer(ctx), user).await?;
        let p = s
            .watch_history(
                user,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, WatchEvent::from))
    }
}

#[derive(Default)]
pub struct WatchlistMutation;

#[Object]
impl WatchlistMutation {
    /// Puts a title on your watchlist; true when it was not there yet
    /// (adding again changes nothing).
    async fn add_to_watchlist(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .add_to_watchlist(me, id_of("titleId", &title_id)?)
            .await?)
    }

    /// Takes a title off your watchlist; true when it was there.
    async fn remove_from_watchlist(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .remove_from_watchlist(me, id_of("titleId", &title_id)?)
            .await?)
    }

    /// Records a watch (now unless `watchedAt` says) and takes the title off
    /// the watchlist.
    async fn mark_watched(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        watched_at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<WatchEvent> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .mark_watched(me, id_of("titleId", &title_id)?, watched_at)
            .await?
            .into())
    }
}
