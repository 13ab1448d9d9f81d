//! The social subgraph's GraphQL schema (Federation v2). It owns posts,
//! comments, reviews, ratings, watchlists, notifications and chat, and adds
//! the social fields to `User`, `Movie` and `Series`. Everything a page shows
//! per item (like flags, counts, nested comments, a title's reviews, a
//! notification's actors, a room's members and unread count) goes through a
//! per-request DataLoader, so a page costs a constant number of statements.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{
    Context, EmptySubscription, Enum, InputObject, Lookahead, Object, OutputType, Request, Schema,
    SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use kit::auth::{require_viewer, viewer, Claims};
use kit::graphql::PageInfo;
use kit::Error;
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, Query as Sql};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::model::*;
use crate::store::{self, me, page_size, parse_id, Page, ReviewSort, Social, Target};

pub type SocialSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build(social: Arc<Social>) -> SocialSchema {
    Schema::build(Query, Mutation, EmptySubscription)
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
        &Schema::build(Query, Mutation, EmptySubscription)
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
	followerAdded: User! @fromEvents(subject: "social.followed.{viewer}", key: "followerId")
}
"#;

/// `request` with this request's dataloaders (their cache lives as long as
/// the request).
pub fn with_loaders(social: &Arc<Social>, request: Request) -> Request {
    request.data(
        DataLoader::with_cache(
            Loaders {
                social: social.clone(),
            },
            tokio::spawn,
            HashMapCache::default(),
        )
        .delay(std::time::Duration::from_millis(1)),
    )
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

// ---- batch keys and loaders ----------------------------------------------------------

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PostKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ReviewKey(pub Uuid);
/// Whether `user` liked the target.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Liked(pub Uuid, pub Target);
/// The first `n` comments under a post, review (top level) or comment (replies).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Thread(pub Target, pub u64);
/// The newest `n` reviews of a title.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ReviewsOf(pub Uuid, pub u64);
/// Followers (`true`) or followees of a user: how many.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FollowCount(pub Uuid, pub bool);
/// Whether the first user follows the second.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Follows(pub Uuid, pub Uuid);
/// The user's score of the title.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct RatingOf(pub Uuid, pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct InWatchlist(pub Uuid, pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Histogram(pub Uuid);
/// The latest `n` actors of a notification.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ActorsOf(pub Uuid, pub u64);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProfileKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembersOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MessageKey(pub Uuid);
/// Messages in the room the user has not read.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Unread(pub Uuid, pub Uuid);

pub struct Loaders {
    social: Arc<Social>,
}

impl Loaders {
    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.social.services.db
    }
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

fn gql(e: impl Into<Error>) -> async_graphql::Error {
    e.into().into()
}

/// The rows of `table` where `partition` is one of `keys`, numbered per
/// partition in `order`, the first `n + 1` of each (one more than asked, to
/// tell whether there are more), filtered by `filter`.
async fn windowed<M: FromQueryResult>(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    partition: &str,
    order: &str,
    keys: Vec<Uuid>,
    filter: Condition,
    n: u64,
) -> Result<Vec<M>, async_graphql::Error> {
    let inner = Sql::select()
        .column(Asterisk)
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order})"
            )),
            Alias::new("rn"),
        )
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(partition)).is_in(keys))
        .cond_where(filter)
        .to_owned();
    let outer = Sql::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("t"))
        .and_where(Expr::col(Alias::new("rn")).lte(n as i64 + 1))
        .to_owned();
    let stmt = db.get_database_backend().build(&outer);
    M::find_by_statement(stmt).all(db).await.map_err(gql)
}

impl Loader<PostKey> for Loaders {
    type Value = post::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[PostKey]) -> LoadResult<PostKey, post::Model> {
        let rows = post::Entity::find()
            .filter(post::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(rows.into_iter().map(|p| (PostKey(p.id), p)).collect())
    }
}

impl Loader<ReviewKey> for Loaders {
    type Value = review::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ReviewKey]) -> LoadResult<ReviewKey, review::Model> {
        let rows = review::Entity::find()
            .filter(review::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(rows.into_iter().map(|r| (ReviewKey(r.id), r)).collect())
    }
}

impl Loader<Liked> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Liked]) -> LoadResult<Liked, bool> {
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let targets: Vec<Uuid> = keys.iter().map(|k| k.1.id()).collect();
        let rows = like::Entity::find()
            .filter(like::Column::UserId.is_in(users))
            .filter(like::Column::TargetId.is_in(targets))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                let hit = rows.iter().any(|l| {
                    l.user_id == k.0 && l.target_id == k.1.id() && l.target_kind == k.1.kind()
                });
                (*k, hit)
            })
            .collect())
    }
}

impl Loader<Thread> for Loaders {
    type Value = (Vec<comment::Model>, bool);
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Thread]) -> LoadResult<Thread, (Vec<comment::Model>, bool)> {
        let mut out = HashMap::new();
        // One statement per (kind of parent, page size) in the batch.
        let mut groups: HashMap<(&'static str, u64), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.0.kind(), k.1)).or_default().push(k.0.id());
        }
        for ((kind, n), ids) in groups {
            let (column, filter) = match kind {
                "POST" => (
                    "post_id",
                    Condition::all().add(Expr::col(Alias::new("parent_id")).is_null()),
                ),
                "REVIEW" => (
                    "review_id",
                    Condition::all().add(Expr::col(Alias::new("parent_id")).is_null()),
                ),
                _ => ("parent_id", Condition::all()),
            };
            let rows: Vec<comment::Model> =
                windowed(self.db(), "comments", column, "id", ids.clone(), filter, n).await?;
            let mut by: HashMap<Uuid, Vec<comment::Model>> = HashMap::new();
            for c in rows {
                let parent = match kind {
                    "POST" => c.post_id,
                    "REVIEW" => c.review_id,
                    _ => c.parent_id,
                };
                if let Some(p) = parent {
                    by.entry(p).or_default().push(c);
                }
            }
            for id in ids {
                let mut list = by.remove(&id).unwrap_or_default();
                list.sort_by_key(|c| c.id);
                let more = list.len() as u64 > n;
                list.truncate(n as usize);
                let target = match kind {
                    "POST" => Target::Post(id),
                    "REVIEW" => Target::Review(id),
                    _ => Target::Comment(id),
                };
                out.insert(Thread(target, n), (list, more));
            }
        }
        Ok(out)
    }
}

impl Loader<ReviewsOf> for Loaders {
    type Value = (Vec<review::Model>, bool);
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ReviewsOf]) -> LoadResult<ReviewsOf, (Vec<review::Model>, bool)> {
        let mut out = HashMap::new();
        let mut groups: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry(k.1).or_default().push(k.0);
        }
        for (n, ids) in groups {
            let rows: Vec<review::Model> = windowed(
                self.db(),
                "reviews",
                "title_id",
                "id DESC",
                ids.clone(),
                Condition::all().add(Expr::col(Alias::new("deleted_at")).is_null()),
                n,
            )
            .await?;
            let mut by: HashMap<Uuid, Vec<review::Model>> = HashMap::new();
            for r in rows {
                by.entry(r.title_id).or_default().push(r);
            }
            for id in ids {
                let mut list = by.remove(&id).unwrap_or_default();
                list.sort_by_key(|r| std::cmp::Reverse(r.id));
                let more = list.len() as u64 > n;
                list.truncate(n as usize);
                out.insert(ReviewsOf(id, n), (list, more));
            }
        }
        Ok(out)
    }
}

impl Loader<FollowCount> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[FollowCount]) -> LoadResult<FollowCount, i64> {
        let mut out: HashMap<FollowCount, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for followers in [true, false] {
            let ids: Vec<Uuid> = keys
                .iter()
                .filter(|k| k.1 == followers)
                .map(|k| k.0)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let col = if followers {
                follow::Column::FolloweeId
            } else {
                follow::Column::FollowerId
            };
            let rows: Vec<(Uuid, i64)> = follow::Entity::find()
                .select_only()
                .column(col)
                .column_as(Expr::col(col).count(), "n")
                .filter(col.is_in(ids))
                .group_by(col)
                .into_tuple()
                .all(self.db())
                .await
                .map_err(gql)?;
            for (id, n) in rows {
                out.insert(FollowCount(id, followers), n);
            }
        }
        Ok(out)
    }
}

impl Loader<Follows> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Follows]) -> LoadResult<Follows, bool> {
        let rows = follow::Entity::find()
            .filter(follow::Column::FollowerId.is_in(keys.iter().map(|k| k.0)))
            .filter(follow::Column::FolloweeId.is_in(keys.iter().map(|k| k.1)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                (
                    *k,
                    rows.iter()
                        .any(|f| f.follower_id == k.0 && f.followee_id == k.1),
                )
            })
            .collect())
    }
}

impl Loader<RatingOf> for Loaders {
    type Value = i32;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[RatingOf]) -> LoadResult<RatingOf, i32> {
        let rows = rating::Entity::find()
            .filter(rating::Column::UserId.is_in(keys.iter().map(|k| k.0)))
            .filter(rating::Column::TitleId.is_in(keys.iter().map(|k| k.1)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(rows
            .into_iter()
            .map(|r| (RatingOf(r.user_id, r.title_id), r.score))
            .filter(|(k, _)| keys.contains(k))
            .collect())
    }
}

impl Loader<InWatchlist> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[InWatchlist]) -> LoadResult<InWatchlist, bool> {
        let rows = watchlist::Entity::find()
            .filter(watchlist::Column::UserId.is_in(keys.iter().map(|k| k.0)))
            .filter(watchlist::Column::TitleId.is_in(keys.iter().map(|k| k.1)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                (
                    *k,
                    rows.iter().any(|w| w.user_id == k.0 && w.title_id == k.1),
                )
            })
            .collect())
    }
}

impl Loader<Histogram> for Loaders {
    type Value = Vec<RatingBucket>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Histogram]) -> LoadResult<Histogram, Vec<RatingBucket>> {
        let rows: Vec<(Uuid, i32, i64)> = rating::Entity::find()
            .select_only()
            .column(rating::Column::TitleId)
            .column(rating::Column::Score)
            .column_as(Expr::col(rating::Column::Score).count(), "n")
            .filter(rating::Column::TitleId.is_in(keys.iter().map(|k| k.0)))
            .group_by(rating::Column::TitleId)
            .group_by(rating::Column::Score)
            .into_tuple()
            .all(self.db())
            .await
            .map_err(gql)?;
        let mut out: HashMap<Histogram, Vec<RatingBucket>> = keys
            .iter()
            .map(|k| {
                (
                    *k,
                    (1..=10)
                        .map(|score| RatingBucket { score, count: 0 })
                        .collect(),
                )
            })
            .collect();
        for (title, score, n) in rows {
            if let Some(b) = out
                .get_mut(&Histogram(title))
                .and_then(|v| v.get_mut((score - 1).clamp(0, 9) as usize))
            {
                b.count = n;
            }
        }
        Ok(out)
    }
}

impl Loader<ActorsOf> for Loaders {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ActorsOf]) -> LoadResult<ActorsOf, Vec<Uuid>> {
        let mut out = HashMap::new();
        let mut groups: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry(k.1).or_default().push(k.0);
        }
        for (n, ids) in groups {
            let rows: Vec<notification_actor::Model> = windowed(
                self.db(),
                "notification_actors",
                "notification_id",
                "created_at DESC, actor_id",
                ids.clone(),
                Condition::all(),
                n,
            )
            .await?;
            let mut by: HashMap<Uuid, Vec<notification_actor::Model>> = HashMap::new();
            for a in rows {
                by.entry(a.notification_id).or_default().push(a);
            }
            for id in ids {
                let mut list = by.remove(&id).unwrap_or_default();
                list.sort_by(|a, b| {
                    b.created_at
                        .cmp(&a.created_at)
                        .then(a.actor_id.cmp(&b.actor_id))
                });
                list.truncate(n as usize);
                out.insert(
                    ActorsOf(id, n),
                    list.into_iter().map(|a| a.actor_id).collect(),
                );
            }
        }
        Ok(out)
    }
}

impl Loader<ProfileKey> for Loaders {
    type Value = profile::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ProfileKey]) -> LoadResult<ProfileKey, profile::Model> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let map = self.social.profiles(&ids).await?;
        Ok(map.into_iter().map(|(k, v)| (ProfileKey(k), v)).collect())
    }
}

impl Loader<MembersOf> for Loaders {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembersOf]) -> LoadResult<MembersOf, Vec<Uuid>> {
        let rows = chat_member::Entity::find()
            .filter(chat_member::Column::RoomId.is_in(keys.iter().map(|k| k.0)))
            .all(self.db())
            .await
            .map_err(gql)?;
        let mut out: HashMap<MembersOf, Vec<Uuid>> = HashMap::new();
        for m in rows {
            out.entry(MembersOf(m.room_id)).or_default().push(m.user_id);
        }
        Ok(out)
    }
}

impl Loader<MessageKey> for Loaders {
    type Value = chat_message::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MessageKey]) -> LoadResult<MessageKey, chat_message::Model> {
        let rows = chat_message::Entity::find()
            .filter(chat_message::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(self.db())
            .await
            .map_err(gql)?;
        Ok(rows.into_iter().map(|m| (MessageKey(m.id), m)).collect())
    }
}

impl Loader<Unread> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Unread]) -> LoadResult<Unread, i64> {
        let mut out: HashMap<Unread, i64> = keys.iter().map(|k| (*k, 0)).collect();
        let mut by_user: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for k in keys {
            by_user.entry(k.1).or_default().push(k.0);
        }
        let (m, cm) = (Alias::new("m"), Alias::new("cm"));
        for (user, rooms) in by_user {
            let stmt = Sql::select()
                .expr_as(
                    Expr::col((m.clone(), Alias::new("room_id"))),
                    Alias::new("room_id"),
                )
                .expr_as(
                    Expr::col((m.clone(), Alias::new("id"))).count(),
                    Alias::new("n"),
                )
                .from_as(chat_message::Entity, m.clone())
                .inner_join(
                    sea_orm::sea_query::TableRef::TableAlias(
                        sea_orm::sea_query::SeaRc::new(Alias::new("chat_members")),
                        sea_orm::sea_query::SeaRc::new(cm.clone()),
                    ),
                    Condition::all()
                        .add(
                            Expr::col((cm.clone(), Alias::new("room_id")))
                                .equals((m.clone(), Alias::new("room_id"))),
                        )
                        .add(Expr::col((cm.clone(), Alias::new("user_id"))).eq(user)),
                )
                .and_where(Expr::col((m.clone(), Alias::new("room_id"))).is_in(rooms))
                .and_where(Expr::col((m.clone(), Alias::new("author_id"))).ne(user))
                .cond_where(
                    Condition::any()
                        .add(Expr::col((cm.clone(), Alias::new("last_read"))).is_null())
                        .add(
                            Expr::col((m.clone(), Alias::new("id")))
                                .gt(Expr::col((cm.clone(), Alias::new("last_read")))),
                        ),
                )
                .group_by_col((m.clone(), Alias::new("room_id")))
                .to_owned();
            let db = self.db();
            let rows = db
                .query_all(db.get_database_backend().build(&stmt))
                .await
                .map_err(gql)?;
            for row in rows {
                let room: Uuid = row.try_get("", "room_id").map_err(gql)?;
                let n: i64 = row.try_get("", "n").map_err(gql)?;
                out.insert(Unread(room, user), n);
            }
        }
        Ok(out)
    }
}

// ---- connections -----------------------------------------------------------------

#[derive(SimpleObject)]
#[graphql(
    concrete(name = "PostEdge", params(Post)),
    concrete(name = "CommentEdge", params(Comment)),
    concrete(name = "ReviewEdge", params(Review)),
    concrete(name = "FollowEdge", params(FollowNode)),
    concrete(name = "WatchlistEdge", params(WatchlistEntry)),
    concrete(name = "WatchEventEdge", params(WatchEvent)),
    concrete(name = "RatingEdge", params(Rating)),
    concrete(name = "NotificationEdge", params(Notification)),
    concrete(name = "ChatRoomEdge", params(ChatRoom)),
    concrete(name = "ChatMessageEdge", params(ChatMessage))
)]
pub struct Edge<T: OutputType> {
    pub cursor: String,
    pub node: T,
}

#[derive(SimpleObject)]
#[graphql(
    concrete(name = "PostConnection", params(PostEdge)),
    concrete(name = "CommentConnection", params(CommentEdge)),
    concrete(name = "ReviewConnection", params(ReviewEdge)),
    concrete(name = "FollowConnection", params(FollowEdge)),
    concrete(name = "WatchlistConnection", params(WatchlistEdge)),
    concrete(name = "WatchEventConnection", params(WatchEventEdge)),
    concrete(name = "RatingConnection", params(RatingEdge)),
    concrete(name = "NotificationConnection", params(NotificationEdge)),
    concrete(name = "ChatRoomConnection", params(ChatRoomEdge)),
    concrete(name = "ChatMessageConnection", params(ChatMessageEdge))
)]
pub struct Connection<E: OutputType> {
    pub edges: Vec<E>,
    pub page_info: PageInfo,
}

pub type Conn<T> = Connection<Edge<T>>;
pub type PostEdge = Edge<Post>;
pub type CommentEdge = Edge<Comment>;
pub type ReviewEdge = Edge<Review>;
pub type FollowEdge = Edge<FollowNode>;
pub type WatchlistEdge = Edge<WatchlistEntry>;
pub type WatchEventEdge = Edge<WatchEvent>;
pub type RatingEdge = Edge<Rating>;
pub type NotificationEdge = Edge<Notification>;
pub type ChatRoomEdge = Edge<ChatRoom>;
pub type ChatMessageEdge = Edge<ChatMessage>;

impl<T: OutputType> Connection<Edge<T>>
where
    Edge<T>: OutputType,
{
    fn from_page<M>(page: Page<M>, has_previous_page: bool, f: impl Fn(M) -> T) -> Self {
        let edges: Vec<Edge<T>> = page
            .items
            .into_iter()
            .map(|(cursor, m)| Edge { cursor, node: f(m) })
            .collect();
        Self {
            page_info: PageInfo::new(
                edges.iter().map(|e| e.cursor.as_str()),
                has_previous_page,
                page.has_next_page,
            ),
            edges,
        }
    }
}

fn id_page<M>(rows: Vec<M>, more: bool, id: impl Fn(&M) -> Uuid) -> Page<M> {
    Page {
        items: rows.into_iter().map(|m| (id(&m).to_string(), m)).collect(),
        has_next_page: more,
    }
}

// ---- entities from other subgraphs -------------------------------------------------

/// An account of the users subgraph, with its social graph and lists.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        gid(self.id)
    }

    async fn follower_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(loader(ctx)
            .load_one(FollowCount(self.id, true))
            .await?
            .unwrap_or(0))
    }

    async fn following_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(loader(ctx)
            .load_one(FollowCount(self.id, false))
            .await?
            .unwrap_or(0))
    }

    /// Whether the caller follows this account (false when signed out).
    async fn followed_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        match viewer_id(ctx) {
            None => Ok(false),
            Some(v) => Ok(loader(ctx)
                .load_one(Follows(v, self.id))
                .await?
                .unwrap_or(false)),
        }
    }

    /// Whether this account shows its lists to followers only.
    async fn profile_private(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(loader(ctx)
            .load_one(ProfileKey(self.id))
            .await?
            .is_some_and(|p| p.private))
    }

    /// Followers, newest first (private profiles: followers only see them).
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<FollowNode>>> {
        self.follow_list(ctx, true, first, after).await
    }

    /// Accounts this one follows, newest first.
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<FollowNode>>> {
        self.follow_list(ctx, false, first, after).await
    }

    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<Post>>> {
        let s = social(ctx);
        s.require_lists(viewer(ctx), self.id).await?;
        let p = s
            .user_posts(
                self.id,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(post_page(ctx, p, after.is_some()).await?))
    }

    async fn watchlist(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<WatchlistEntry>>> {
        Ok(Some(watchlist_of(ctx, self.id, first, after).await?))
    }

    async fn ratings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<Rating>>> {
        let s = social(ctx);
        s.require_lists(viewer(ctx), self.id).await?;
        let p = s
            .user_ratings(
                self.id,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(p, after.is_some(), Rating)))
    }
}

impl User {
    async fn follow_list(
        &self,
        ctx: &Context<'_>,
        followers: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Conn<FollowNode>>> {
        let s = social(ctx);
        s.require_lists(viewer(ctx), self.id).await?;
        let p = s
            .follows(
                self.id,
                followers,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(p, after.is_some(), |f| {
            FollowNode {
                user: User {
                    id: if followers {
                        f.follower_id
                    } else {
                        f.followee_id
                    },
                },
                followed_at: f.created_at,
            }
        })))
    }
}

async fn watchlist_of(
    ctx: &Context<'_>,
    user: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<WatchlistEntry>> {
    let s = social(ctx);
    s.require_lists(viewer(ctx), user).await?;
    let p = s
        .watchlist(
            user,
            page_size(first)?,
            store::cursor("after", after.as_deref())?,
        )
        .await?;
    Ok(Connection::from_page(p, after.is_some(), WatchlistEntry))
}

/// One account in a followers or following list.
#[derive(SimpleObject)]
pub struct FollowNode {
    pub user: User,
    pub followed_at: DateTime<Utc>,
}

/// The social side of a movie or a series.
async fn title_reviews(
    ctx: &Context<'_>,
    title: Uuid,
    sort: Option<ReviewSort>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<Review>> {
    let n = page_size(first)?;
    let sort = sort.unwrap_or(ReviewSort::Newest);
    if sort == ReviewSort::Newest && after.is_none() {
        // A list of titles each asking for its first reviews: one statement.
        let (rows, more) = loader(ctx)
            .load_one(ReviewsOf(title, n))
            .await?
            .unwrap_or_default();
        return Ok(Connection::from_page(
            id_page(rows, more, |r| r.id),
            false,
            Review,
        ));
    }
    let p = social(ctx)
        .reviews(title, sort, n, after.as_deref())
        .await?;
    Ok(Connection::from_page(p, after.is_some(), Review))
}

async fn my_rating(ctx: &Context<'_>, title: Uuid) -> async_graphql::Result<Option<i32>> {
    match viewer_id(ctx) {
        None => Ok(None),
        Some(v) => Ok(loader(ctx).load_one(RatingOf(v, title)).await?),
    }
}

async fn in_watchlist(ctx: &Context<'_>, title: Uuid) -> async_graphql::Result<bool> {
    match viewer_id(ctx) {
        None => Ok(false),
        Some(v) => Ok(loader(ctx)
            .load_one(InWatchlist(v, title))
            .await?
            .unwrap_or(false)),
    }
}

async fn histogram(ctx: &Context<'_>, title: Uuid) -> async_graphql::Result<Vec<RatingBucket>> {
    Ok(loader(ctx)
        .load_one(Histogram(title))
        .await?
        .unwrap_or_default())
}

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
            ) -> async_graphql::Result<Conn<Review>> {
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

#[derive(SimpleObject, Clone, Default)]
pub struct RatingBucket {
    pub score: i32,
    pub count: i64,
}

// ---- owned types -----------------------------------------------------------------

pub struct Post(pub post::Model);

#[Object]
impl Post {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn author(&self) -> User {
        User {
            id: self.0.author_id,
        }
    }
    /// Plain text; empty for a reshare without a comment.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The movie or series the post is about.
    async fn title_id(&self) -> Option<ID> {
        self.0.title_id.map(gid)
    }
    /// The original, when this post is a reshare (null once it is deleted).
    async fn reshared_post(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Post>> {
        let Some(id) = self.0.reshare_of else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(PostKey(id))
            .await?
            .filter(|p| p.deleted_at.is_none())
            .map(Post))
    }
    async fn is_reshare(&self) -> bool {
        self.0.reshare_of.is_some()
    }
    async fn like_count(&self) -> i64 {
        self.0.like_count
    }
    async fn comment_count(&self) -> i64 {
        self.0.comment_count
    }
    async fn share_count(&self) -> i64 {
        self.0.share_count
    }
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Post(self.0.id)).await
    }
    /// Top-level comments, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Comment>> {
        thread(ctx, Target::Post(self.0.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
}

async fn liked_by_me(ctx: &Context<'_>, target: Target) -> async_graphql::Result<bool> {
    match viewer_id(ctx) {
        None => Ok(false),
        Some(v) => Ok(loader(ctx)
            .load_one(Liked(v, target))
            .await?
            .unwrap_or(false)),
    }
}

// ---- page prefetch ------------------------------------------------------------------

/// The first-page sizes the selections of a list field ask for (`comments`,
/// `replies`); a selection paging past the first page (`after`) is loaded by
/// its own resolver.
fn first_pages(field: &Lookahead<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    for f in field.selection_fields() {
        let Ok(args) = f.arguments() else { continue };
        let arg = |name: &str| {
            args.iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, v)| v.clone())
        };
        if arg("after").is_some_and(|v| v != async_graphql::Value::Null) {
            continue;
        }
        let first = match arg("first") {
            Some(async_graphql::Value::Number(n)) => n.as_i64().map(|n| n as i32),
            _ => None,
        };
        if let Ok(n) = page_size(first) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Loads what the posts of one page will ask the loaders for (the caller's
/// like flags, the authors' figures, the first page of comments and, below
/// them, replies) with one batch per kind for the whole page; each post's
/// own resolvers then answer from the request's cache. Without it, items
/// resolved after the loader's short wait would start batches of their own.
async fn prefetch_posts(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    posts: &[post::Model],
) -> async_graphql::Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let l = loader(ctx);
    let viewer = viewer_id(ctx);
    if let (Some(v), true) = (viewer, node.field("likedByMe").exists()) {
        l.load_many(posts.iter().map(|p| Liked(v, Target::Post(p.id))))
            .await?;
    }
    prefetch_users(ctx, node.field("author"), posts.iter().map(|p| p.author_id)).await?;
    let comments = node.field("comments");
    for n in first_pages(&comments) {
        let pages = l
            .load_many(posts.iter().map(|p| Thread(Target::Post(p.id), n)))
            .await?;
        let all: Vec<comment::Model> = pages.into_values().flat_map(|(c, _)| c).collect();
        prefetch_comments(ctx, comments.field("edges").field("node"), &all).await?;
    }
    Ok(())
}

/// `prefetch_posts` for a page of comments: like flags, authors, and the
/// first page of replies, level by level.
fn prefetch_comments<'a>(
    ctx: &'a Context<'_>,
    node: Lookahead<'a>,
    comments: &'a [comment::Model],
) -> futures::future::BoxFuture<'a, async_graphql::Result<()>> {
    Box::pin(async move {
        if comments.is_empty() {
            return Ok(());
        }
        let l = loader(ctx);
        if let (Some(v), true) = (viewer_id(ctx), node.field("likedByMe").exists()) {
            l.load_many(comments.iter().map(|c| Liked(v, Target::Comment(c.id))))
                .await?;
        }
        prefetch_users(
            ctx,
            node.field("author"),
            comments
                .iter()
                .filter(|c| c.deleted_at.is_none())
                .map(|c| c.author_id),
        )
        .await?;
        let replies = node.field("replies");
        for n in first_pages(&replies) {
            let pages = l
                .load_many(comments.iter().map(|c| Thread(Target::Comment(c.id), n)))
                .await?;
            let all: Vec<comment::Model> = pages.into_values().flat_map(|(c, _)| c).collect();
            prefetch_comments(ctx, replies.field("edges").field("node"), &all).await?;
        }
        Ok(())
    })
}

/// The social figures of `User`s a page shows (as authors): follower and
/// following counts, and whether the caller follows them.
async fn prefetch_users(
    ctx: &Context<'_>,
    user: Lookahead<'_>,
    ids: impl Iterator<Item = Uuid>,
) -> async_graphql::Result<()> {
    if !user.exists() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort();
    ids.dedup();
    let l = loader(ctx);
    if user.field("followerCount").exists() {
        l.load_many(ids.iter().map(|u| FollowCount(*u, true)))
            .await?;
    }
    if user.field("followingCount").exists() {
        l.load_many(ids.iter().map(|u| FollowCount(*u, false)))
            .await?;
    }
    if let (Some(v), true) = (viewer_id(ctx), user.field("followedByMe").exists()) {
        l.load_many(ids.iter().map(|u| Follows(v, *u))).await?;
    }
    Ok(())
}

/// Posts of one page as a connection, what their items ask for prefetched.
async fn post_page(
    ctx: &Context<'_>,
    page: Page<post::Model>,
    has_previous: bool,
) -> async_graphql::Result<Conn<Post>> {
    let models: Vec<post::Model> = page.items.iter().map(|(_, p)| p.clone()).collect();
    prefetch_posts(ctx, ctx.look_ahead().field("edges").field("node"), &models).await?;
    Ok(Connection::from_page(page, has_previous, Post))
}

/// Comments under `on` (top level of a post or review, or a comment's
/// replies), oldest first; first pages batch across the whole response.
async fn thread(
    ctx: &Context<'_>,
    on: Target,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<Comment>> {
    let n = page_size(first)?;
    match after {
        None => {
            let (rows, more) = loader(ctx)
                .load_one(Thread(on, n))
                .await?
                .unwrap_or_default();
            prefetch_comments(ctx, ctx.look_ahead().field("edges").field("node"), &rows).await?;
            Ok(Connection::from_page(
                id_page(rows, more, |c| c.id),
                false,
                Comment,
            ))
        }
        Some(a) => {
            let parent = matches!(on, Target::Comment(_)).then(|| on.id());
            let p = social(ctx)
                .comments(on, parent, n, store::cursor("after", Some(&a))?)
                .await?;
            let rows: Vec<comment::Model> = p.items.iter().map(|(_, c)| c.clone()).collect();
            prefetch_comments(ctx, ctx.look_ahead().field("edges").field("node"), &rows).await?;
            Ok(Connection::from_page(p, true, Comment))
        }
    }
}

pub struct Comment(pub comment::Model);

#[Object]
impl Comment {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// Null once the comment is deleted.
    async fn author(&self) -> Option<User> {
        self.0.deleted_at.is_none().then_some(User {
            id: self.0.author_id,
        })
    }
    /// Null once the comment is deleted (its replies stay).
    async fn body(&self) -> Option<&str> {
        self.0.deleted_at.is_none().then_some(self.0.body.as_str())
    }
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }
    async fn post_id(&self) -> Option<ID> {
        self.0.post_id.map(gid)
    }
    async fn review_id(&self) -> Option<ID> {
        self.0.review_id.map(gid)
    }
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(gid)
    }
    /// 0 for a comment, 1 for a reply, and so on.
    async fn depth(&self) -> i32 {
        self.0.depth
    }
    async fn like_count(&self) -> i64 {
        self.0.like_count
    }
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Comment(self.0.id)).await
    }
    async fn reply_count(&self) -> i64 {
        self.0.reply_count
    }
    /// Replies, oldest first.
    async fn replies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Comment>> {
        thread(ctx, Target::Comment(self.0.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
}

pub struct Review(pub review::Model);

#[Object]
impl Review {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn author(&self) -> User {
        User {
            id: self.0.author_id,
        }
    }
    async fn title_id(&self) -> ID {
        gid(self.0.title_id)
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn score(&self) -> Option<i32> {
        self.0.score
    }
    async fn contains_spoilers(&self) -> bool {
        self.0.contains_spoilers
    }
    async fn like_count(&self) -> i64 {
        self.0.like_count
    }
    async fn liked_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        liked_by_me(ctx, Target::Review(self.0.id)).await
    }
    async fn comment_count(&self) -> i64 {
        self.0.comment_count
    }
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Comment>> {
        thread(ctx, Target::Review(self.0.id), first, after).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
}

pub struct Rating(pub rating::Model);

#[Object]
impl Rating {
    async fn title_id(&self) -> ID {
        gid(self.0.title_id)
    }
    async fn user(&self) -> User {
        User { id: self.0.user_id }
    }
    async fn score(&self) -> i32 {
        self.0.score
    }
    async fn rated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct WatchlistEntry(pub watchlist::Model);

#[Object]
impl WatchlistEntry {
    async fn title_id(&self) -> ID {
        gid(self.0.title_id)
    }
    async fn user(&self) -> User {
        User { id: self.0.user_id }
    }
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.added_at
    }
}

pub struct WatchEvent(pub watch_history::Model);

#[Object]
impl WatchEvent {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn title_id(&self) -> ID {
        gid(self.0.title_id)
    }
    async fn watched_at(&self) -> DateTime<Utc> {
        self.0.watched_at
    }
}

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
        }
    }
}

pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn kind(&self) -> NotificationKind {
        NotificationKind::parse(&self.0.kind)
    }
    /// The latest actor.
    async fn actor(&self) -> User {
        User {
            id: self.0.actor_id,
        }
    }
    /// The latest actors, newest first (3 unless `first` says otherwise).
    async fn actors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<User>> {
        let n = first.map(|f| f.clamp(1, 10) as u64).unwrap_or(3);
        Ok(loader(ctx)
            .load_one(ActorsOf(self.0.id, n))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|id| User { id })
            .collect())
    }
    /// Everyone grouped into this notification.
    async fn actor_count(&self) -> i64 {
        self.0.actor_count
    }
    /// E.g. "ann and 3 others liked your post".
    async fn summary(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let name = loader(ctx)
            .load_one(ProfileKey(self.0.actor_id))
            .await?
            .and_then(|p| p.username)
            .unwrap_or_else(|| "someone".into());
        let kind = NotificationKind::parse(&self.0.kind);
        Ok(match self.0.actor_count - 1 {
            0 => format!("{name} {}", kind.phrase()),
            1 => format!("{name} and 1 other {}", kind.phrase()),
            n => format!("{name} and {n} others {}", kind.phrase()),
        })
    }
    /// The post, comment or review it is about (null for follows).
    async fn target_id(&self) -> Option<ID> {
        self.0.target_id.map(gid)
    }
    async fn post(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Post>> {
        let kind = NotificationKind::parse(&self.0.kind);
        if !matches!(
            kind,
            NotificationKind::PostLiked
                | NotificationKind::PostCommented
                | NotificationKind::PostReshared
        ) {
            return Ok(None);
        }
        let Some(id) = self.0.target_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(PostKey(id))
            .await?
            .filter(|p| p.deleted_at.is_none())
            .map(Post))
    }
    async fn review(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Review>> {
        let kind = NotificationKind::parse(&self.0.kind);
        if !matches!(
            kind,
            NotificationKind::ReviewLiked | NotificationKind::ReviewCommented
        ) {
            return Ok(None);
        }
        let Some(id) = self.0.target_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(ReviewKey(id))
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(Review))
    }
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the latest actor joined the group.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct ChatRoom(pub chat_room::Model);

#[Object]
impl ChatRoom {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// A two-person room without a name: the pair's one room.
    async fn is_direct(&self) -> bool {
        self.0.direct_key.is_some()
    }
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        Ok(loader(ctx)
            .load_one(MembersOf(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|id| User { id })
            .collect())
    }
    async fn last_message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ChatMessage>> {
        Ok(loader(ctx)
            .load_one(MessageKey(self.0.activity))
            .await?
            .map(ChatMessage))
    }
    /// Messages from others the caller has not read.
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let me = signed_in(ctx)?;
        Ok(loader(ctx)
            .load_one(Unread(self.0.id, me))
            .await?
            .unwrap_or(0))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct ChatMessage(pub chat_message::Model);

#[Object]
impl ChatMessage {
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    async fn room_id(&self) -> ID {
        gid(self.0.room_id)
    }
    async fn author(&self) -> User {
        User {
            id: self.0.author_id,
        }
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Someone typing in a room (the `chatTyping` event's payload has this shape).
#[derive(SimpleObject)]
pub struct ChatTyping {
    pub room_id: ID,
    pub user: User,
    pub at: DateTime<Utc>,
}

/// A like's target's figures after the change.
#[derive(SimpleObject)]
pub struct LikeStatus {
    pub target_id: ID,
    pub like_count: i64,
    pub liked_by_me: bool,
}

// ---- inputs --------------------------------------------------------------------

#[derive(InputObject)]
pub struct CreatePostInput {
    pub body: String,
    /// A movie or series the post is about.
    pub title_id: Option<ID>,
}

#[derive(InputObject)]
pub struct AddCommentInput {
    /// Exactly one of `postId` and `reviewId`.
    pub post_id: Option<ID>,
    pub review_id: Option<ID>,
    /// The comment replied to (in the same thread).
    pub parent_id: Option<ID>,
    pub body: String,
}

/// Exactly one of the three.
#[derive(InputObject)]
pub struct LikeTarget {
    pub post_id: Option<ID>,
    pub comment_id: Option<ID>,
    pub review_id: Option<ID>,
}

impl LikeTarget {
    fn parse(&self) -> Result<Target, Error> {
        match (&self.post_id, &self.comment_id, &self.review_id) {
            (Some(p), None, None) => Ok(Target::Post(id_of("target.postId", p)?)),
            (None, Some(c), None) => Ok(Target::Comment(id_of("target.commentId", c)?)),
            (None, None, Some(r)) => Ok(Target::Review(id_of("target.reviewId", r)?)),
            _ => Err(Error::bad_input(
                "target",
                "give exactly one of postId, commentId and reviewId",
            )),
        }
    }
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

fn thread_target(post: &Option<ID>, review: &Option<ID>) -> Result<Target, Error> {
    match (post, review) {
        (Some(p), None) => Ok(Target::Post(id_of("postId", p)?)),
        (None, Some(r)) => Ok(Target::Review(id_of("reviewId", r)?)),
        _ => Err(Error::bad_input(
            "postId",
            "give exactly one of postId and reviewId",
        )),
    }
}

// ---- roots ---------------------------------------------------------------------

pub struct Query;

#[Object]
impl Query {
    /// A post (null when there is none or it was deleted).
    async fn post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Post>> {
        let id = id_of("id", &id)?;
        Ok(loader(ctx)
            .load_one(PostKey(id))
            .await?
            .filter(|p| p.deleted_at.is_none())
            .map(Post))
    }

    /// Posts of the people you follow and yours, newest first, with reshares.
    async fn feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Post>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .feed(
                me,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        post_page(ctx, p, after.is_some()).await
    }

    async fn user_posts(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Post>> {
        let user = id_of("userId", &user_id)?;
        let s = social(ctx);
        s.require_lists(viewer(ctx), user).await?;
        let p = s
            .user_posts(
                user,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        post_page(ctx, p, after.is_some()).await
    }

    async fn comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Comment>> {
        Ok(social(ctx).comment(id_of("id", &id)?).await?.map(Comment))
    }

    /// Top-level comments of a post or a review, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        post_id: Option<ID>,
        review_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Comment>> {
        let on = thread_target(&post_id, &review_id)?;
        thread(ctx, on, first, after).await
    }

    async fn review(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Review>> {
        Ok(social(ctx)
            .review(id_of("id", &id)?)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(Review))
    }

    async fn reviews(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        sort: Option<ReviewSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Review>> {
        title_reviews(ctx, id_of("titleId", &title_id)?, sort, first, after).await
    }

    /// A user's watchlist, newest first (yours without `userId`).
    async fn watchlist(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<WatchlistEntry>> {
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
    ) -> async_graphql::Result<Conn<WatchEvent>> {
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
        Ok(Connection::from_page(p, after.is_some(), WatchEvent))
    }

    /// Your notifications, the most recently active first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Notification>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .notifications(
                me,
                unread_only,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, after.is_some(), Notification))
    }

    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(social(ctx).unread_count(signed_in(ctx)?).await?)
    }

    /// Your chat rooms, the most recently active first.
    async fn chat_rooms(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<ChatRoom>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .rooms(
                me,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, after.is_some(), ChatRoom))
    }

    async fn chat_room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        Ok(ChatRoom(
            social(ctx).member_room(me, id_of("id", &id)?).await?,
        ))
    }

    /// A room's messages, newest first, older than `before` (members only).
    async fn chat_messages(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        before: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<Conn<ChatMessage>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .messages(
                me,
                id_of("roomId", &room_id)?,
                page_size(first)?,
                store::cursor("before", before.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, before.is_some(), ChatMessage))
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Uuid::parse_str(id.as_str()).ok().map(|id| User { id })
    }

    #[graphql(entity)]
    async fn find_movie_by_id(&self, id: ID) -> Option<Movie> {
        Uuid::parse_str(id.as_str()).ok().map(|id| Movie { id })
    }

    #[graphql(entity)]
    async fn find_series_by_id(&self, id: ID) -> Option<Series> {
        Uuid::parse_str(id.as_str()).ok().map(|id| Series { id })
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
        Ok(social(ctx).notification_of(me, id).await?.map(Notification))
    }

    /// A message of a room you are a member of (null otherwise).
    #[graphql(entity)]
    async fn find_chat_message_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ChatMessage>> {
        let (Some(me), Ok(id)) = (viewer_id(ctx), Uuid::parse_str(id.as_str())) else {
            return Ok(None);
        };
        Ok(social(ctx).message_for(me, id).await?.map(ChatMessage))
    }

    #[graphql(entity)]
    async fn find_comment_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Comment>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(social(ctx).comment(id).await?.map(Comment))
    }

    #[graphql(entity)]
    async fn find_post_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(PostKey(id)).await?.map(Post))
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
        Ok(loader(ctx).load_one(ReviewKey(id)).await?.map(Review))
    }
}

pub struct Mutation;

fn claims<'a>(ctx: &'a Context<'_>) -> Result<&'a Claims, Error> {
    require_viewer(ctx)
}

#[Object]
impl Mutation {
    async fn create_post(
        &self,
        ctx: &Context<'_>,
        input: CreatePostInput,
    ) -> async_graphql::Result<Post> {
        let me = signed_in(ctx)?;
        let title = input
            .title_id
            .as_ref()
            .map(|t| id_of("input.titleId", t))
            .transpose()?;
        Ok(Post(social(ctx).create_post(me, &input.body, title).await?))
    }

    async fn edit_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: String,
    ) -> async_graphql::Result<Post> {
        Ok(Post(
            social(ctx)
                .edit_post(claims(ctx)?, id_of("id", &id)?, &body)
                .await?,
        ))
    }

    async fn delete_post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        social(ctx)
            .delete_post(claims(ctx)?, id_of("id", &id)?)
            .await?;
        Ok(true)
    }

    /// Reshares a post (its original, when it is a reshare), with an optional comment.
    async fn share_post(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
        comment: Option<String>,
    ) -> async_graphql::Result<Post> {
        let me = signed_in(ctx)?;
        Ok(Post(
            social(ctx)
                .share_post(me, id_of("postId", &post_id)?, comment.as_deref())
                .await?,
        ))
    }

    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> async_graphql::Result<Comment> {
        let me = signed_in(ctx)?;
        let on = thread_target(&input.post_id, &input.review_id)?;
        let parent = input
            .parent_id
            .as_ref()
            .map(|p| id_of("input.parentId", p))
            .transpose()?;
        Ok(Comment(
            social(ctx).add_comment(me, on, parent, &input.body).await?,
        ))
    }

    async fn edit_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: String,
    ) -> async_graphql::Result<Comment> {
        Ok(Comment(
            social(ctx)
                .edit_comment(claims(ctx)?, id_of("id", &id)?, &body)
                .await?,
        ))
    }

    /// Removes the comment's text; the thread and its replies stay.
    async fn delete_comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Comment> {
        Ok(Comment(
            social(ctx)
                .delete_comment(claims(ctx)?, id_of("id", &id)?)
                .await?,
        ))
    }

    async fn like(
        &self,
        ctx: &Context<'_>,
        target: LikeTarget,
    ) -> async_graphql::Result<LikeStatus> {
        let me = signed_in(ctx)?;
        let t = target.parse()?;
        let like_count = social(ctx).like(me, t).await?;
        Ok(LikeStatus {
            target_id: gid(t.id()),
            like_count,
            liked_by_me: true,
        })
    }

    async fn unlike(
        &self,
        ctx: &Context<'_>,
        target: LikeTarget,
    ) -> async_graphql::Result<LikeStatus> {
        let me = signed_in(ctx)?;
        let t = target.parse()?;
        let like_count = social(ctx).unlike(me, t).await?;
        Ok(LikeStatus {
            target_id: gid(t.id()),
            like_count,
            liked_by_me: false,
        })
    }

    /// Follows a user (again: no change). Returns them.
    async fn follow(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).follow(me, target).await?;
        Ok(User { id: target })
    }

    async fn unfollow(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let me = signed_in(ctx)?;
        let target = id_of("userId", &user_id)?;
        social(ctx).unfollow(me, target).await?;
        Ok(User { id: target })
    }

    /// Blocks a user: follows both ways end; neither can follow, comment on,
    /// like or message the other.
    async fn block_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        social(ctx).block(me, id_of("userId", &user_id)?).await?;
        Ok(true)
    }

    async fn unblock_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx).unblock(me, id_of("userId", &user_id)?).await?)
    }

    /// Shows your lists (followers, following, posts, watchlist, ratings) to
    /// your followers only, or to everyone again.
    async fn set_profile_private(
        &self,
        ctx: &Context<'_>,
        private: bool,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        social(ctx).set_private(me, private).await?;
        Ok(private)
    }

    /// Rates a movie or series from 1 to 10 (again: the new score replaces the old).
    async fn rate_title(
        &self,
        ctx: &Context<'_>,
        title_id: ID,
        score: i32,
    ) -> async_graphql::Result<Rating> {
        let me = signed_in(ctx)?;
        let title = id_of("titleId", &title_id)?;
        let s = social(ctx);
        s.rate_title(me, title, score).await?;
        let now = Utc::now();
        Ok(Rating(rating::Model {
            user_id: me,
            title_id: title,
            score,
            created_at: now,
            updated_at: now,
        }))
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
        Ok(Review(
            social(ctx)
                .write_review(
                    me,
                    id_of("input.titleId", &input.title_id)?,
                    &input.body,
                    input.score,
                    input.contains_spoilers,
                )
                .await?,
        ))
    }

    async fn edit_review(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EditReviewInput,
    ) -> async_graphql::Result<Review> {
        Ok(Review(
            social(ctx)
                .edit_review(
                    claims(ctx)?,
                    id_of("id", &id)?,
                    input.body.as_deref(),
                    input.score,
                    input.contains_spoilers,
                )
                .await?,
        ))
    }

    async fn delete_review(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        social(ctx)
            .delete_review(claims(ctx)?, id_of("id", &id)?)
            .await?;
        Ok(true)
    }

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
        Ok(WatchEvent(
            social(ctx)
                .mark_watched(me, id_of("titleId", &title_id)?, watched_at)
                .await?,
        ))
    }

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

    /// A direct room (one other member, no name; the pair's existing room
    /// when there is one) or a group room; you are a member.
    async fn create_chat_room(
        &self,
        ctx: &Context<'_>,
        member_ids: Vec<ID>,
        name: Option<String>,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let members = ids_of("memberIds", &member_ids)?;
        Ok(ChatRoom(
            social(ctx)
                .create_room(me, &members, name.as_deref())
                .await?,
        ))
    }

    async fn send_chat_message(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        body: String,
    ) -> async_graphql::Result<ChatMessage> {
        let me = signed_in(ctx)?;
        Ok(ChatMessage(
            social(ctx)
                .send_message(me, id_of("roomId", &room_id)?, &body)
                .await?,
        ))
    }

    /// Adds members to a group room you created (at most 50 in all).
    async fn add_chat_members(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        member_ids: Vec<ID>,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let members = ids_of("memberIds", &member_ids)?;
        Ok(ChatRoom(
            social(ctx)
                .add_members(me, id_of("roomId", &room_id)?, &members)
                .await?,
        ))
    }

    /// Removes a member from a group room you created; their live
    /// subscriptions to the room end. False when they were not in it.
    async fn remove_chat_member(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .remove_member(me, id_of("roomId", &room_id)?, id_of("userId", &user_id)?)
            .await?)
    }

    /// Leaves a group room (its oldest member takes over a room its creator leaves).
    async fn leave_chat_room(&self, ctx: &Context<'_>, room_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .remove_member(me, id_of("roomId", &room_id)?, me)
            .await?)
    }

    /// Tells the room's members (subscribed to `chatTyping`) that you are typing.
    async fn send_chat_typing(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
    ) -> async_graphql::Result<ChatTyping> {
        let me = signed_in(ctx)?;
        let room = id_of("roomId", &room_id)?;
        let at = social(ctx).typing(me, room).await?;
        Ok(ChatTyping {
            room_id: gid(room),
            user: User { id: me },
            at,
        })
    }

    async fn mark_room_read(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let s = social(ctx);
        let room = id_of("roomId", &room_id)?;
        s.mark_room_read(me, room).await?;
        Ok(ChatRoom(s.member_room(me, room).await?))
    }
}
