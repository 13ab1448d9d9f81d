//! Ratings and reviews: the `Review` and `Rating` types, a title's reviews,
//! ratings and histogram, and the rating and review mutations.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Page, Paged};
use uuid::Uuid;

use super::comments::{thread, Comment};
use super::likes::liked_by_me;
use super::loaders::{Histogram, RatingOf, ReviewKey, ReviewsOf};
use super::titles::{Movie, Series, Title};
use super::{claims, gid, id_of, loader, signed_in, social, viewer_id, User};
use crate::store::model::{rating, review};
use crate::store::{self, Target};

// The fields before the first resolved one are copied from the row.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Review {
    #[graphql(skip)]
    row: review::Model,
    pub id: ID,
    /// Null when the users subgraph cannot answer for the account.
    pub author: Option<User>,
    pub title_id: ID,
    /// The movie or series reviewed (null when content cannot answer).
    pub title: Option<Title>,
    pub body: String,
    pub score: Option<i32>,
    pub contains_spoilers: bool,
    pub like_count: i64,
}

impl From<review::Model> for Review {
    fn from(row: review::Model) -> Self {
        Self {
            id: gid(row.id),
            author: Some(User { id: row.author_id }),
            title_id: gid(row.title_id),
            title: Title::of(row.title_id),
            body: row.body.clone(),
            score: row.score,
            contains_spoilers: row.contains_spoilers,
            like_count: row.like_count,
            row,
        }
    }
}

impl Paged for Review {
    const NAME: &'static str = "Review";
}

#[ComplexObject]
impl Review {
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Review(self.row.id)).await
    }
    async fn comment_count(&self) -> i64 {
        self.row.comment_count
    }
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Comment>> {
        thread(ctx, Target::Review(self.row.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.row.edited_at
    }
    /// Hidden by moderation: only its author and moderators see it.
    async fn hidden(&self) -> bool {
        self.row.hidden.is_some()
    }
}

#[derive(SimpleObject)]
pub struct Rating {
    pub title_id: ID,
    /// The movie or series rated (null when content cannot answer).
    pub title: Option<Title>,
    pub user: Option<User>,
    pub score: i32,
    pub rated_at: DateTime<Utc>,
}

impl From<rating::Model> for Rating {
    fn from(row: rating::Model) -> Self {
        Self {
            title_id: gid(row.title_id),
            title: Title::of(row.title_id),
            user: Some(User { id: row.user_id }),
            score: row.score,
            rated_at: row.updated_at,
        }
    }
}

impl Paged for Rating {
    const NAME: &'static str = "Rating";
}

#[derive(SimpleObject, Clone, Default)]
pub struct RatingBucket {
    pub score: i32,
    pub count: i64,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReviewSort {
    Newest,
    Top,
    Highest,
    Lowest,
}

impl From<ReviewSort> for store::ReviewSort {
    fn from(s: ReviewSort) -> Self {
        match s {
            ReviewSort::Newest => Self::Newest,
            ReviewSort::Top => Self::Top,
            ReviewSort::Highest => Self::Highest,
            ReviewSort::Lowest => Self::Lowest,
        }
    }
}

/// The reviews of a movie or a series.
pub(super) async fn title_reviews(
    ctx: &Context<'_>,
    title: Uuid,
    sort: Option<ReviewSort>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Connection<Review>> {
    let n = page_size(first)?;
    let sort = sort.unwrap_or(ReviewSort::Newest);
    if sort == ReviewSort::Newest && after.is_none() {
        // A list of titles each asking for its first reviews: one statement.
        let (rows, more) = loader(ctx)
            .load_one(ReviewsOf(title, n))
            .await?
            .unwrap_or_default();
        return Ok(Connection::from_page(
            Page::new(rows, false, more, |r| r.id.to_string()),
            Review::from,
        ));
    }
    let p = social(ctx)
        .reviews(title, sort.into(), n, after.as_deref())
        .await?;
    Ok(Connection::from_page(p, Review::from))
}

/// The caller's score of `title` (none when signed out).
pub(super) async fn my_rating(
    ctx: &Context<'_>,
    title: Uuid,
) -> async_graphql::Result<Option<i32>> {
    match viewer_id(ctx) {
        None => Ok(None),
        Some(v) => Ok(loader(ctx).load_one(RatingOf(v, title)).await?),
    }
}

/// How many users gave `title` each score.
pub(super) async fn histogram(
    ctx: &Context<'_>,
    title: Uuid,
) -> async_graphql::Result<Vec<RatingBucket>> {
    Ok(loader(ctx)
        .load_one(Histogram(title))
        .await?
        .unwrap_or_default())
}

#[derive(InputObject)]
pub struct WriteReviewInput {
    pub title_id: ID,
    pub body: String,
    /// 1 to 10; also your rating of the title.
    pub score: Option<i32>,
    #[graphql(default)]
    pub contains_spoilers: bool,
}

#[derive(InputObject)]
pub struct EditReviewInput {
    pub body: Option<String>,
    pub score: Option<i32>,
    pub contains_spoilers: Option<bool>,
}

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    async fn review(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Review>> {
        Ok(social(ctx)
            .review(id_of("id", &id)?)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(Review::from))
    }

    async fn reviews(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        sort: Option<ReviewSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Review>> {
        title_reviews(ctx, id_of("titleId", &title_id)?, sort, first, after).await
    }

    #[graphql(entity)]
    async fn find_movie_by_id(&self, id: ID) -> Option<Movie> {
        Uuid::parse_str(id.as_str()).ok().map(|id| Movie { id })
    }

    #[graphql(entity)]
    async fn find_series_by_id(&self, id: ID) -> Option<Series> {
        Uuid::parse_str(id.as_str()).ok().map(|id| Series { id })
    }

    #[graphql(entity)]
    async fn find_title_by_id(&self, id: ID) -> Title {
        Title { id }
    }

    #[graphql(entity)]
    async fn find_review_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Review>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(ReviewKey(id)).await?.map(Review::from))
    }
}

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Rates a movie or series from 1 to 10 (again: the new score replaces the old).
    async fn rate_title(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        score: i32,
    ) -> async_graphql::Result<Rating> {
        let me = signed_in(ctx)?;
        let title = id_of("titleId", &title_id)?;
        social(ctx).rate_title(me, title, score).await?;
        Ok(Rating {
            title_id: gid(title),
            title: Title::of(title),
            user: Some(User { id: me }),
            score,
            rated_at: Utc::now(),
        })
    }

    async fn remove_rating(&self, ctx: &Context<'_>, title_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        social(ctx)
            .remove_rating(me, id_of("titleId", &title_id)?)
            .await?;
        Ok(true)
    }

    /// One review per user per title.
    async fn write_review(
        &self,
        ctx: &Context<'_>,
        input: WriteReviewInput,
    ) -> async_graphql::Result<Review> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .write_review(
                me,
                id_of("input.titleId", &input.title_id)?,
                &input.body,
                input.score,
                input.contains_spoilers,
            )
            .await?
            .into())
    }

    async fn edit_review(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EditReviewInput,
    ) -> async_graphql::Result<Review> {
        Ok(social(ctx)
            .edit_review(
                claims(ctx)?,
                id_of("id", &id)?,
                input.body.as_deref(),
                input.score,
                input.contains_spoilers,
            )
            .await?
            .into())
    }

    async fn delete_review(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        social(ctx)
            .delete_review(claims(ctx)?, id_of("id", &id)?)
            .await?;
        Ok(true)
    }
}
