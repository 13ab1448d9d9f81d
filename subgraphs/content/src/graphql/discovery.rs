//! Discovery: editorial featured windows, trending, views, and the users
//! subgraph's `User` with what it recently viewed.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::auth::{viewer, RequestMeta, Role};
use kit::paging::page_size;
use kit::Error;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::titles::{Title, TitleKind};
use super::{admin, catalog, parse_id, title_list};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TrendingWindow {
    Day,
    Week,
}

#[derive(SimpleObject)]
pub struct FeaturedSlot {
    pub id: ID,
    pub title_id: ID,
    pub rank: i32,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
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
            title_list(ctx, catalog(ctx).recently_viewed(self.id, n).await?).await?,
        ))
    }
}

#[derive(Default)]
pub struct DiscoveryQuery;

#[Object]
impl DiscoveryQuery {
    /// Editorial picks whose window is open now, by rank.
    async fn featured(
        &self,
        ctx: &Context<'_>,
        kind: Option<TitleKind>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Title>> {
        let n = page_size(first)?;
        let kind = kind.map(TitleKind::as_str);
        title_list(ctx, catalog(ctx).featured_now(kind, n).await?).await
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
        title_list(ctx, catalog(ctx).trending(week, kind, n).await?).await
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(id.as_str()).ok().map(|id| User { id })
    }
}

#[derive(Default)]
pub struct DiscoveryMutation;

#[Object]
impl DiscoveryMutation {
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
