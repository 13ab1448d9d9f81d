//! Other subgraphs' entities as moderation sees them: social's `Post`,
//! `Comment`, `Review`, `ChatMessage` and users' `User`, each by its key,
//! with the nullable `moderationStatus` moderation adds (moderators only,
//! through the loader: a page of posts costs one batch).

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use uuid::Uuid;

use super::actions::ModerationAction;
use super::{gid, is_staff, loader, staff};
use crate::store::{Status, StatusKey, Target};

/// Where moderation stands on a post, comment, review or account.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationState {
    /// Content anyone may see.
    Visible,
    /// Content hidden pending review or by a moderator: its author and
    /// moderators see it, marked.
    Hidden,
    /// Content a moderator deleted.
    Deleted,
    /// An account in good standing.
    Active,
    /// An account that was warned.
    Warned,
    /// An account suspended for a time.
    Suspended,
    /// An account suspended without an end.
    Banned,
}

impl ModerationState {
    fn of(s: &str) -> Self {
        match s {
            "HIDDEN" => ModerationState::Hidden,
            "DELETED" => ModerationState::Deleted,
            "ACTIVE" => ModerationState::Active,
            "WARNED" => ModerationState::Warned,
            "SUSPENDED" => ModerationState::Suspended,
            "BANNED" => ModerationState::Banned,
            _ => ModerationState::Visible,
        }
    }
}

#[derive(SimpleObject)]
pub struct ModerationStatus {
    pub state: ModerationState,
    /// Reports not resolved yet.
    pub open_reports: i64,
    /// The sum of the flags the rules raised on it.
    pub flag_score: i64,
    /// The latest action on it (on an account: against it).
    pub last_action: Option<ModerationAction>,
}

impl From<Status> for ModerationStatus {
    fn from(s: Status) -> Self {
        Self {
            state: ModerationState::of(&s.state),
            open_reports: s.open_reports,
            flag_score: s.flag_score,
            last_action: s.last_action.map(ModerationAction::from),
        }
    }
}

/// `target`'s status, for staff; null (with an error) for anyone else.
async fn status_of(
    ctx: &Context<'_>,
    target: Target,
) -> async_graphql::Result<Option<ModerationStatus>> {
    staff(ctx)?;
    Ok(loader(ctx)
        .load_one(StatusKey(target))
        .await?
        .map(ModerationStatus::from))
}

macro_rules! moderated_entity {
    ($name:ident, $variant:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name {
            pub id: Uuid,
        }

        #[Object]
        impl $name {
            async fn id(&self) -> ID {
                gid(self.id)
            }

            /// Where moderation stands on it (moderators and admins only).
            #[graphql(requires_scopes = "moderator")]
            async fn moderation_status(
                &self,
                ctx: &Context<'_>,
            ) -> async_graphql::Result<Option<ModerationStatus>> {
                status_of(ctx, Target::$variant(self.id)).await
            }
        }
    };
}

moderated_entity!(Post, Post, "A post of the social subgraph.");
moderated_entity!(Comment, Comment, "A comment of the social subgraph.");
moderated_entity!(Review, Review, "A review of the social subgraph.");
moderated_entity!(User, User, "An account of the users subgraph.");

/// A chat message of the social subgraph (reported messages).
pub struct ChatMessage {
    pub id: Uuid,
}

#[Object]
impl ChatMessage {
    async fn id(&self) -> ID {
        gid(self.id)
    }
}

fn key(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

#[derive(Default)]
pub struct EntityQuery;

#[Object]
impl EntityQuery {
    #[graphql(entity)]
    async fn find_post_by_id(&self, id: ID) -> Option<Post> {
        key(&id).map(|id| Post { id })
    }

    #[graphql(entity)]
    async fn find_comment_by_id(&self, id: ID) -> Option<Comment> {
        key(&id).map(|id| Comment { id })
    }

    #[graphql(entity)]
    async fn find_review_by_id(&self, id: ID) -> Option<Review> {
        key(&id).map(|id| Review { id })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        key(&id).map(|id| User { id })
    }

    #[graphql(entity)]
    async fn find_chat_message_by_id(&self, id: ID) -> Option<ChatMessage> {
        key(&id).map(|id| ChatMessage { id })
    }
}

/// The entity stubs of a report's or action's target.
pub(super) struct Stubs {
    pub post: Option<Post>,
    pub comment: Option<Comment>,
    pub review: Option<Review>,
    pub user: Option<User>,
    pub chat_message: Option<ChatMessage>,
}

pub(super) fn stubs(target: Option<Target>) -> Stubs {
    let mut s = Stubs {
        post: None,
        comment: None,
        review: None,
        user: None,
        chat_message: None,
    };
    match target {
        Some(Target::Post(id)) => s.post = Some(Post { id }),
        Some(Target::Comment(id)) => s.comment = Some(Comment { id }),
        Some(Target::Review(id)) => s.review = Some(Review { id }),
        Some(Target::User(id)) => s.user = Some(User { id }),
        Some(Target::ChatMessage(id)) => s.chat_message = Some(ChatMessage { id }),
        None => {}
    }
    s
}

/// Whether the caller is staff (for fields shown to staff and one other).
pub(super) fn staff_or(ctx: &Context<'_>, who: Option<Uuid>) -> bool {
    is_staff(ctx) || (who.is_some() && super::viewer_id(ctx) == who)
}
