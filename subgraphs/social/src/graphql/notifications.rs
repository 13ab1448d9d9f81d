//! Notifications: their kinds and summaries, the list and unread count,
//! marking them read.

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Paged};
use kit::Error;
use uuid::Uuid;

use super::loaders::{ActorsOf, ProfileKey, ReviewKey};
use super::posts::live_post;
use super::{gid, ids_of, loader, signed_in, social, viewer_id, Post, Review, User};
use crate::store;
use crate::store::model::notification;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Followed,
    PostLiked,
    CommentLiked,
    ReviewLiked,
    PostCommented,
    ReviewCommented,
    CommentReplied,
    Mentioned,
    PostReshared,
    /// Someone asks to follow your private account.
    FollowRequested,
}

impl NotificationKind {
    fn parse(s: &str) -> Self {
        match s {
            "POST_LIKED" => Self::PostLiked,
            "COMMENT_LIKED" => Self::CommentLiked,
            "REVIEW_LIKED" => Self::ReviewLiked,
            "POST_COMMENTED" => Self::PostCommented,
            "REVIEW_COMMENTED" => Self::ReviewCommented,
            "COMMENT_REPLIED" => Self::CommentReplied,
            "MENTIONED" => Self::Mentioned,
            "POST_RESHARED" => Self::PostReshared,
            "FOLLOW_REQUESTED" => Self::FollowRequested,
            _ => Self::Followed,
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Self::Followed => "followed you",
            Self::PostLiked => "liked your post",
            Self::CommentLiked => "liked your comment",
            Self::ReviewLiked => "liked your review",
            Self::PostCommented => "commented on your post",
            Self::ReviewCommented => "commented on your review",
            Self::CommentReplied => "replied to your comment",
            Self::Mentioned => "mentioned you",
            Self::PostReshared => "reshared your post",
            Self::FollowRequested => "asked to follow you",
        }
    }
}

// The fields before the first resolved one are copied from the row.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Notification {
    #[graphql(skip)]
    row: notification::Model,
    pub id: ID,
    pub kind: NotificationKind,
    /// The latest actor (null when the users subgraph cannot answer).
    pub actor: Option<User>,
}

impl From<notification::Model> for Notification {
    fn from(row: notification::Model) -> Self {
        Self {
            id: gid(row.id),
            kind: NotificationKind::parse(&row.kind),
            actor: Some(User { id: row.actor_id }),
            row,
        }
    }
}

impl Paged for Notification {
    const NAME: &'static str = "Notification";
}

#[ComplexObject]
impl Notification {
    /// The latest actors, newest first (3 unless `first` says otherwise).
    async fn actors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Option<User>>> {
        let n = first.map(|f| f.clamp(1, 10) as u64).unwrap_or(3);
        Ok(loader(ctx)
            .load_one(ActorsOf(self.row.id, n))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|id| Some(User { id }))
            .collect())
    }
    /// Everyone grouped into this notification.
    async fn actor_count(&self) -> i64 {
        self.row.actor_count
    }
    /// E.g. "ann and 3 others liked your post".
    async fn summary(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let name = loader(ctx)
            .load_one(ProfileKey(self.row.actor_id))
            .await?
            .and_then(|p| p.username)
            .unwrap_or_else(|| "someone".into());
        let phrase = self.kind.phrase();
        Ok(match self.row.actor_count - 1 {
            0 => format!("{name} {phrase}"),
            1 => format!("{name} and 1 other {phrase}"),
            n => format!("{name} and {n} others {phrase}"),
        })
    }
    /// The post, comment or review it is about (null for follows).
    async fn target_id(&self) -> Option<ID> {
        self.row.target_id.map(gid)
    }
    async fn post(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Post>> {
        if !matches!(
            self.kind,
            NotificationKind::PostLiked
                | NotificationKind::PostCommented
                | NotificationKind::PostReshared
        ) {
            return Ok(None);
        }
        match self.row.target_id {
            Some(id) => live_post(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn review(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Review>> {
        if !matches!(
            self.kind,
            NotificationKind::ReviewLiked | NotificationKind::ReviewCommented
        ) {
            return Ok(None);
        }
        let Some(id) = self.row.target_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(ReviewKey(id))
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(Review::from))
    }
    async fn read(&self) -> bool {
        self.row.read_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// When the latest actor joined the group.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Your notifications, the most recently active first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Notification>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .notifications(
                me,
                unread_only,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, Notification::from))
    }

    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(social(ctx).unread_count(signed_in(ctx)?).await?)
    }

    /// Your notification (null for anyone else's): how the router resolves
    /// `notificationAdded` events.
    #[graphql(entity)]
    async fn find_notification_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Notification>> {
        let (Some(me), Ok(id)) = (viewer_id(ctx), Uuid::parse_str(id.as_str())) else {
            return Ok(None);
        };
        Ok(social(ctx)
            .notification_of(me, id)
            .await?
            .map(Notification::from))
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks the given notifications (or, with `all: true`, every one) read.
    /// Returns how many changed.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
        #[graphql(default)] all: bool,
    ) -> async_graphql::Result<u64> {
        let me = signed_in(ctx)?;
        let ids = match (ids, all) {
            (Some(ids), false) => Some(ids_of("ids", &ids)?),
            (None, true) => None,
            _ => {
                return Err(Error::bad_input("ids", "give either ids or all: true").into());
            }
        };
        Ok(social(ctx).mark_read(me, ids).await?)
    }
}
