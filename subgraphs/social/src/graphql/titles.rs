//! The content subgraph's `Movie` and `Series`, with the reviews, ratings
//! and watchlist flag this subgraph adds to them (nullable, as every field
//! added to another subgraph's entity: a social outage nulls only them), and
//! content's `Title` interface as an `@interfaceObject`, so that social's
//! watchlists, ratings, reviews and history expose their titles without
//! storing their kind.

use async_graphql::{Context, Object, SimpleObject, ID};
use kit::paging::Connection;
use uuid::Uuid;

use super::gid;
use super::reviews::{histogram, my_rating, title_reviews, RatingBucket, Review, ReviewSort};
use super::watchlist::in_watchlist;

macro_rules! title_entity {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            pub id: Uuid,
        }

        #[Object]
        impl $name {
            async fn id(&self) -> ID {
                gid(self.id)
            }

            /// Reviews of this title (NEWEST first unless `sort` says otherwise).
            async fn reviews(
                &self,
                ctx: &Context<'_>,
                sort: Option<ReviewSort>,
                first: Option<i32>,
                after: Option<String>,
            ) -> async_graphql::Result<Option<Connection<Review>>> {
                Ok(Some(title_reviews(ctx, self.id, sort, first, after).await?))
            }

            /// The caller's score (1 to 10), if they rated it.
            async fn my_rating(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
                my_rating(ctx, self.id).await
            }

            async fn in_watchlist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
                Ok(Some(in_watchlist(ctx, self.id).await?))
            }

            /// How many users gave each score from 1 to 10.
            async fn rating_histogram(
                &self,
                ctx: &Context<'_>,
            ) -> async_graphql::Result<Option<Vec<RatingBucket>>> {
                Ok(Some(histogram(ctx, self.id).await?))
            }
        }
    };
}

title_entity!(
    Movie,
    "A movie of the content subgraph, with its reviews and ratings."
);
title_entity!(
    Series,
    "A series of the content subgraph, with its reviews and ratings."
);

/// A movie or series of the content subgraph (its `Title` interface, seen
/// from here without the implementations: `@interfaceObject`). Content
/// answers every other field.
#[derive(SimpleObject, Clone)]
#[graphql(interface_object)]
pub struct Title {
    pub id: ID,
}

impl Title {
    /// The title a row names.
    pub fn of(id: Uuid) -> Option<Self> {
        Some(Self { id: gid(id) })
    }
}
