//! The content subgraph's `Movie` and `Series`, with the reviews, ratings
//! and watchlist flag this subgraph adds to them.

use async_graphql::{Context, Object, ID};
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
            ) -> async_graphql::Result<Connection<Review>> {
                title_reviews(ctx, self.id, sort, first, after).await
            }

            /// The caller's score (1 to 10), if they rated it.
            async fn my_rating(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
                my_rating(ctx, self.id).await
            }

            async fn in_watchlist(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
                in_watchlist(ctx, self.id).await
            }

            /// How many users gave each score from 1 to 10.
            async fn rating_histogram(
                &self,
                ctx: &Context<'_>,
            ) -> async_graphql::Result<Vec<RatingBucket>> {
                histogram(ctx, self.id).await
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
