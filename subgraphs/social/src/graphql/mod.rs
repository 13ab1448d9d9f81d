//! The social subgraph's GraphQL schema (Federation v2), one file per area.
//! It owns posts, comments, reviews, ratings, watchlists, notifications and
//! chat, and adds the social fields to `User`, `Movie` and `Series`.
//! Everything a page shows per item (like flags, counts, nested comments, a
//! title's reviews, a notification's actors, a room's members and unread
//! count) goes through a per-request DataLoader (`loaders`), so a page costs
//! a constant number of statements. Resolvers map arguments and call the
//! store; they build no SQL.

mod chat;
mod comments;
mod follows;
mod likes;
mod loaders;
mod notifications;
mod posts;
mod prefetch;
mod reviews;
mod titles;
mod users;
mod watchlist;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, EmptySubscription, MergedObject, Request, Schema, ID};
use kit::auth::{require_viewer, viewer, Claims};
use kit::Error;
use uuid::Uuid;

use crate::store::{me, parse_id, Social};

pub use chat::{ChatMessage, ChatRoom, ChatTyping};
pub use comments::Comment;
pub use follows::{FollowNode, FollowRequest, FollowStatus};
pub use likes::LikeStatus;
pub use loaders::Loaders;
pub use notifications::{Notification, NotificationKind};
pub use posts::Post;
pub use reviews::{Rating, RatingBucket, Review, ReviewSort};
pub use titles::{Movie, Series};
pub use users::User;
pub use watchlist::{WatchEvent, WatchlistEntry};

pub type SocialSchema = Schema<Query, Mutation, EmptySubscription>;

// The root query: each area's fields, in the order the SDL lists them (a
// doc comment here would become its description in the SDL).
#[derive(MergedObject, Default)]
pub struct Query(
    posts::PostQuery,
    comments::CommentQuery,
    reviews::ReviewQuery,
    watchlist::WatchlistQuery,
    notifications::NotificationQuery,
    chat::ChatQuery,
    follows::FollowQuery,
);

// The root mutation: each area's fields, in the order the SDL lists them.
#[derive(MergedObject, Default)]
pub struct Mutation(
    posts::PostMutation,
    comments::CommentMutation,
    likes::LikeMutation,
    follows::FollowMutation,
    reviews::ReviewMutation,
    watchlist::WatchlistMutation,
    notifications::NotificationMutation,
    chat::ChatMutation,
);

pub fn build(social: Arc<Social>) -> SocialSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(20_000)
        .data(social)
        .finish()
}

/// The exported SDL: the schema's, plus the subscription fields this subgraph
/// declares for the router to serve from the bus (see `LIVE_SDL`).
pub fn sdl() -> String {
    let mut sdl = kit::graphql::federated_sdl(
        &Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .enable_federation()
            .finish(),
    );
    sdl.push_str(LIVE_SDL);
    sdl
}

/// Subscription fields fed by this subgraph's events. The router serves them:
/// `@fromEvents` names the subject (after the deployment's prefix; `{viewer}`
/// is the subscriber's user id, `{name}` an argument), where the returned
/// entity's `id` is in the event payload (`key`) or which payload member is
/// the value itself (`value`), an optional query the router runs with the
/// subscriber's token and the field's arguments before subscribing (`check`:
/// an error refuses the subscription), and the argument that carries a resume
/// cursor (`resume`: the last `extensions.eventId` the client received). Each event is then resolved through
/// this subgraph's `_entities` with the subscriber's token, so an entity the
/// subscriber may no longer see (a room they left) is not delivered. The
/// subgraph keeps no client connections and serves no subscription itself.
pub const LIVE_SDL: &str = r#"
directive @fromEvents(subject: String!, key: String, value: String, check: String, resume: String, recheck: String) on FIELD_DEFINITION
extend schema @link(url: "https://marquee.dev/spec/events/v0.1", import: ["@fromEvents"]) @composeDirective(name: "@fromEvents")

"""
Live events, served by the router from the event bus.
"""
type Subscription {
	"""
	Your notifications as they are created or gain another actor. With
	`after` (the `eventId` of the last one received, from the response's
	extensions) the ones since then come first.
	"""
	notificationAdded(after: ID): Notification! @fromEvents(subject: "social.notification_created.{viewer}", key: "notificationId", resume: "after")
	"""
	Your unread notification count whenever it changes.
	"""
	unreadNotificationCountChanged: Int! @fromEvents(subject: "social.unread_count_changed.{viewer}", value: "count")
	"""
	New messages in a room you are a member of. With `after` (the `eventId`
	of the last one received) the ones sent since then come first.
	"""
	chatMessageAdded(roomId: ID!, after: ID): ChatMessage! @fromEvents(subject: "social.chat_message_sent.{roomId}", key: "messageId", check: "query($roomId: ID!) { chatRoom(id: $roomId) { id } }", resume: "after", recheck: "social.chat_member_removed.{roomId}")
	"""
	Members of a room starting to type (ephemeral: never stored, never replayed).
	"""
	chatTyping(roomId: ID!): ChatTyping! @fromEvents(subject: "social.chat_typing.{roomId}", check: "query($roomId: ID!) { chatRoom(id: $roomId) { id } }", recheck: "social.chat_member_removed.{roomId}")
	"""
	New comments (top level and replies) on a post.
	"""
	commentAdded(postId: ID!): Comment! @fromEvents(subject: "social.comment_created.{postId}", key: "commentId")
	"""
	New reviews of a movie or series.
	"""
	reviewAdded(titleId: ID!): Review! @fromEvents(subject: "social.review_created.{titleId}", key: "reviewId")
	"""
	People who start following you.
	"""
	followerAdded: User @fromEvents(subject: "social.followed.{viewer}", key: "followerId")
}
"#;

/// `request` with this request's dataloaders (their cache lives as long as
/// the request).
pub fn with_loaders(social: &Arc<Social>, request: Request) -> Request {
    let viewing = viewing(&request);
    request.data(HiddenAuthors::default()).data(
        DataLoader::with_cache(
            Loaders {
                social: social.clone(),
                viewer: viewing,
            },
            tokio::spawn,
            HashMapCache::default(),
        )
        .delay(std::time::Duration::from_millis(1)),
    )
}

/// The caller of `request` (the `Viewer` its handler put there).
fn viewing(request: &Request) -> loaders::Viewing {
    let claims = request
        .data
        .get(&std::any::TypeId::of::<kit::auth::Viewer>())
        .and_then(|v| v.downcast_ref::<kit::auth::Viewer>())
        .and_then(|v| v.0.as_ref());
    loaders::Viewing {
        user: claims.and_then(|c| me(c).ok()),
        staff: claims.is_some_and(|c| c.has_role(kit::auth::Role::Moderator)),
    }
}

/// The caller as the loaders see it (for moderation-hidden content).
fn viewing_of(ctx: &Context<'_>) -> loaders::Viewing {
    loaders::Viewing {
        user: viewer_id(ctx),
        staff: viewer(ctx).is_some_and(|c| c.has_role(kit::auth::Role::Moderator)),
    }
}

fn social<'a>(ctx: &Context<'a>) -> &'a Arc<Social> {
    ctx.data_unchecked::<Arc<Social>>()
}

fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<Loaders, HashMapCache> {
    ctx.data_unchecked::<DataLoader<Loaders, HashMapCache>>()
}

fn signed_in(ctx: &Context<'_>) -> Result<Uuid, Error> {
    me(require_viewer(ctx)?)
}

fn viewer_id(ctx: &Context<'_>) -> Option<Uuid> {
    viewer(ctx).and_then(|c| me(c).ok())
}

/// The caller's blocks, read once per request (a once-cell rather than a
/// loader: resolvers ask for it concurrently, and a loader would batch
/// some askers into a second statement).
#[derive(Default)]
struct HiddenAuthors(tokio::sync::OnceCell<Arc<std::collections::HashSet<Uuid>>>);

/// Whose posts, comments and live events the caller does not see: everyone
/// it blocked or was blocked by (nobody when signed out).
async fn hidden_authors(
    ctx: &Context<'_>,
) -> async_graphql::Result<Arc<std::collections::HashSet<Uuid>>> {
    let Some(v) = viewer_id(ctx) else {
        return Ok(Arc::default());
    };
    let Ok(cell) = ctx.data::<HiddenAuthors>() else {
        return Ok(Arc::new(
            social(ctx).blocked_with(v).await?.into_iter().collect(),
        ));
    };
    Ok(cell
        .0
        .get_or_try_init(|| async {
            Ok::<_, Error>(Arc::new(
                social(ctx).blocked_with(v).await?.into_iter().collect(),
            ))
        })
        .await?
        .clone())
}

fn claims<'a>(ctx: &'a Context<'_>) -> Result<&'a Claims, Error> {
    require_viewer(ctx)
}

fn id_of(field: &str, id: &ID) -> Result<Uuid, Error> {
    parse_id(field, id.as_str())
}

/// Every id of a list argument, or the first one that is no id.
fn ids_of(field: &str, ids: &[ID]) -> Result<Vec<Uuid>, Error> {
    ids.iter().map(|i| id_of(field, i)).collect()
}

fn gid(id: Uuid) -> ID {
    ID(id.to_string())
}
