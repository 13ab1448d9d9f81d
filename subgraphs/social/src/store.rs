//! The social graph's writes and reads. Every write is authorized here (the
//! schema only maps arguments), runs in one transaction with its counters,
//! its notifications and its outbox events, and starts with a write so that
//! SQLite takes its write lock before reading (no lock upgrades) and
//! PostgreSQL row-locks what the counters depend on.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kit::auth::{Claims, Role};
use kit::events::enqueue;
use kit::{Error, Services};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::model::*;
use crate::text;

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;
/// Replies to replies nest this deep at most (a top-level comment is depth 0).
pub const MAX_DEPTH: i32 = 8;
/// Members of a group chat, the creator included.
pub const MAX_ROOM_MEMBERS: usize = 50;

/// What a like, a comment or a notification points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Post(Uuid),
    Comment(Uuid),
    Review(Uuid),
}

impl Target {
    pub fn kind(self) -> &'static str {
        match self {
            Target::Post(_) => "POST",
            Target::Comment(_) => "COMMENT",
            Target::Review(_) => "REVIEW",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Target::Post(id) | Target::Comment(id) | Target::Review(id) => id,
        }
    }
}

/// Why someone is notified; notifications of one kind about one target group
/// while unread ("A and 3 others liked your post").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
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

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Followed => "FOLLOWED",
            Notify::PostLiked => "POST_LIKED",
            Notify::CommentLiked => "COMMENT_LIKED",
            Notify::ReviewLiked => "REVIEW_LIKED",
            Notify::PostCommented => "POST_COMMENTED",
            Notify::ReviewCommented => "REVIEW_COMMENTED",
            Notify::CommentReplied => "COMMENT_REPLIED",
            Notify::Mentioned => "MENTIONED",
            Notify::PostReshared => "POST_RESHARED",
        }
    }

    fn liked(t: Target) -> Self {
        match t {
            Target::Post(_) => Notify::PostLiked,
            Target::Comment(_) => Notify::CommentLiked,
            Target::Review(_) => Notify::ReviewLiked,
        }
    }
}

/// A page of rows, each with its cursor.
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}

/// `first` within 1..=100 (20 when absent).
pub fn page_size(first: Option<i32>) -> Result<u64, Error> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(Error::bad_input(
            "first",
            format!("first must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// A cursor is the id (UUIDv7) the list is ordered by.
pub fn cursor(field: &str, raw: Option<&str>) -> Result<Option<Uuid>, Error> {
    raw.map(|c| Uuid::parse_str(c).map_err(|_| Error::bad_input(field, "not a valid cursor")))
        .transpose()
}

pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::bad_input(field, "not a valid id"))
}

/// The caller's user id.
pub fn me(claims: &Claims) -> Result<Uuid, Error> {
    Uuid::parse_str(&claims.sub).map_err(|_| Error::unauthenticated())
}

/// `n` rows of `select` ordered by `col` (a UUIDv7 column), after `after`.
pub async fn page<E, C>(
    db: &C,
    select: Select<E>,
    col: E::Column,
    desc: bool,
    n: u64,
    after: Option<Uuid>,
    key: impl Fn(&E::Model) -> Uuid,
) -> Result<Page<E::Model>, Error>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let mut q = select;
    if let Some(a) = after {
        q = q.filter(if desc { col.lt(a) } else { col.gt(a) });
    }
    q = if desc {
        q.order_by_desc(col)
    } else {
        q.order_by_asc(col)
    };
    let mut rows = q.limit(n + 1).all(db).await?;
    let has_next_page = rows.len() as u64 > n;
    rows.truncate(n as usize);
    Ok(Page {
        items: rows.into_iter().map(|m| (key(&m).to_string(), m)).collect(),
        has_next_page,
    })
}

pub struct Social {
    pub services: Services,
}

impl Social {
    pub fn new(services: Services) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { services })
    }

    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        Ok(self.db().begin().await?)
    }

    /// Commits and wakes the outbox relay.
    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        txn.commit().await?;
        self.services.relay.waker().notify_one();
        Ok(())
    }

    /// Writes `social.<name>` (plus routing tokens) to the outbox.
    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Uuid,
        routed: &[&str],
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        let e = self
            .services
            .event(name, Some(actor.to_string()), payload)
            .routed(routed);
        enqueue(conn, &e).await?;
        Ok(())
    }

    // ---- profiles, follows, blocks -------------------------------------------------

    /// Records an account's username (from the users subgraph's events).
    pub async fn upsert_profile<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        username: Option<&str>,
    ) -> Result<(), Error> {
        let key = username.map(str::to_lowercase);
        profile::Entity::insert(profile::ActiveModel {
            user_id: Set(user),
            username: Set(username.map(str::to_string)),
            username_key: Set(key),
            private: Set(false),
            deleted: Set(false),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(profile::Column::UserId)
                .update_columns([
                    profile::Column::Username,
                    profile::Column::UsernameKey,
                    profile::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    /// Makes `user`'s lists (followers, following, posts, watchlist, ratings)
    /// visible to followers only, or to everyone again.
    pub async fn set_private(&self, user: Uuid, private: bool) -> Result<(), Error> {
        let txn = self.begin().await?;
        profile::Entity::insert(profile::ActiveModel {
            user_id: Set(user),
            username: Set(None),
            username_key: Set(None),
            private: Set(private),
            deleted: Set(false),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(profile::Column::UserId)
                .update_columns([profile::Column::Private, profile::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        self.commit(txn).await
    }

    pub async fn profiles(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, profile::Model>, Error> {
        Ok(profile::Entity::find()
            .filter(profile::Column::UserId.is_in(ids.iter().copied()))
            .all(self.db())
            .await?
            .into_iter()
            .map(|p| (p.user_id, p))
            .collect())
    }

    /// Whether either of `a` and `b` blocked the other.
    pub async fn blocked_between<C: ConnectionTrait>(
        &self,
        conn: &C,
        a: Uuid,
        b: Uuid,
    ) -> Result<bool, Error> {
        let n = block::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(block::Column::BlockerId.eq(a))
                            .add(block::Column::BlockedId.eq(b)),
                    )
                    .add(
                        Condition::all()
                            .add(block::Column::BlockerId.eq(b))
                            .add(block::Column::BlockedId.eq(a)),
                    ),
            )
            .count(conn)
            .await?;
        Ok(n > 0)
    }

    async fn refuse_if_blocked(&self, me: Uuid, other: Uuid, what: &str) -> Result<(), Error> {
        if self.blocked_between(self.db(), me, other).await? {
            return Err(Error::forbidden(format!(
                "you cannot {what}: one of you blocked the other"
            )));
        }
        Ok(())
    }

    /// Whether `viewer` may see `owner`'s lists: public profiles to all,
    /// private ones to the owner, followers and moderators; never to someone
    /// either of them blocked.
    pub async fn can_see_lists(&self, viewer: Option<&Claims>, owner: Uuid) -> Result<bool, Error> {
        let viewer_id = viewer.and_then(|c| me(c).ok());
        if viewer_id == Some(owner) || viewer.is_some_and(|c| c.has_role(Role::Moderator)) {
            return Ok(true);
        }
        if let Some(v) = viewer_id {
            if self.blocked_between(self.db(), v, owner).await? {
                return Ok(false);
            }
        }
        let private = profile::Entity::find_by_id(owner)
            .one(self.db())
            .await?
            .is_some_and(|p| p.private);
        if !private {
            return Ok(true);
        }
        match viewer_id {
            None => Ok(false),
            Some(v) => Ok(follow::Entity::find_by_id((v, owner))
                .one(self.db())
                .await?
                .is_some()),
        }
    }

    pub async fn require_lists(&self, viewer: Option<&Claims>, owner: Uuid) -> Result<(), Error> {
        if self.can_see_lists(viewer, owner).await? {
            Ok(())
        } else {
            Err(Error::forbidden(
                "this profile is private: only its followers see its lists",
            ))
        }
    }

    /// `me` follows `target`; following twice changes nothing. Returns
    /// whether a new follow was made.
    pub async fn follow(&self, me: Uuid, target: Uuid) -> Result<bool, Error> {
        if me == target {
            return Err(Error::bad_input("userId", "you cannot follow yourself"));
        }
        self.refuse_if_blocked(me, target, "follow this user")
            .await?;
        let txn = self.begin().await?;
        let inserted = follow::Entity::insert(follow::ActiveModel {
            follower_id: Set(me),
            followee_id: Set(target),
            seq: Set(Uuid::now_v7()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([follow::Column::FollowerId, follow::Column::FolloweeId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted > 0 {
            // A block made between the check and now wins.
            if self.blocked_between(&txn, me, target).await? {
                txn.rollback().await?;
                return Err(Error::forbidden(
                    "you cannot follow this user: one of you blocked the other",
                ));
            }
            self.notify(&txn, target, Notify::Followed, None, me)
                .await?;
            self.event(
                &txn,
                "followed",
                me,
                &[&target.to_string()],
                json!({ "followerId": me, "followeeId": target }),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(inserted > 0)
    }

    pub async fn unfollow(&self, me: Uuid, target: Uuid) -> Result<bool, Error> {
        let txn = self.begin().await?;
        let gone = follow::Entity::delete_many()
            .filter(follow::Column::FollowerId.eq(me))
            .filter(follow::Column::FolloweeId.eq(target))
            .exec(&txn)
            .await?
            .rows_affected;
        if gone > 0 {
            self.event(
                &txn,
                "unfollowed",
                me,
                &[],
                json!({ "followerId": me, "followeeId": target }),
            )
            .await?;
        }
        self.commit(txn).await?;
        Ok(gone > 0)
    }

    /// `me` blocks `target`: follows both ways end, and neither can follow,
    /// comment on, like or message the other.
    pub async fn block(&self, me: Uuid, target: Uuid) -> Result<(), Error> {
        if me == target {
            return Err(Error::bad_input("userId", "you cannot block yourself"));
        }
        let txn = self.begin().await?;
        block::Entity::insert(block::ActiveModel {
            blocker_id: Set(me),
            blocked_id: Set(target),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([block::Column::BlockerId, block::Column::BlockedId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        follow::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(follow::Column::FollowerId.eq(me))
                            .add(follow::Column::FolloweeId.eq(target)),
                    )
                    .add(
                        Condition::all()
                            .add(follow::Column::FollowerId.eq(target))
                            .add(follow::Column::FolloweeId.eq(me)),
                    ),
            )
            .exec(&txn)
            .await?;
        self.commit(txn).await
    }

    pub async fn unblock(&self, me: Uuid, target: Uuid) -> Result<bool, Error> {
        let txn = self.begin().await?;
        let gone = block::Entity::delete_many()
            .filter(block::Column::BlockerId.eq(me))
            .filter(block::Column::BlockedId.eq(target))
            .exec(&txn)
            .await?
            .rows_affected;
        self.commit(txn).await?;
        Ok(gone > 0)
    }

    // ---- notifications -----------------------------------------------------------

    /// Tells `user` that `actor` did `kind` to `target`, folded into the
    /// unread notification of the same kind and target when there is one.
    /// Nobody is notified of their own doing or by someone they blocked.
    async fn notify<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        kind: Notify,
        target: Option<Uuid>,
        actor: Uuid,
    ) -> Result<(), Error> {
        if user == actor || self.blocked_between(conn, user, actor).await? {
            return Ok(());
        }
        let group_key = match target {
            Some(t) => format!("{}:{t}", kind.as_str()),
            None => kind.as_str().to_string(),
        };
        let now = Utc::now();
        let seq = Uuid::now_v7();
        let open = notification::Entity::find()
            .filter(notification::Column::UserId.eq(user))
            .filter(notification::Column::GroupKey.eq(&group_key))
            .filter(notification::Column::ReadAt.is_null())
            .one(conn)
            .await?;
        let (id, count) = match open {
            Some(n) => {
                let added = notification_actor::Entity::insert(notification_actor::ActiveModel {
                    notification_id: Set(n.id),
                    actor_id: Set(actor),
                    created_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([
                        notification_actor::Column::NotificationId,
                        notification_actor::Column::ActorId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(conn)
                .await?;
                if added == 0 {
                    return Ok(());
                }
                notification::Entity::update_many()
                    .col_expr(
                        notification::Column::ActorCount,
                        Expr::col(notification::Column::ActorCount).add(1),
                    )
                    .col_expr(notification::Column::ActorId, Expr::value(actor))
                    .col_expr(notification::Column::Seq, Expr::value(seq))
                    .col_expr(notification::Column::UpdatedAt, Expr::value(now))
                    .filter(notification::Column::Id.eq(n.id))
                    .exec(conn)
                    .await?;
                (n.id, n.actor_count + 1)
            }
            None => {
                let id = seq;
                notification::Entity::insert(notification::ActiveModel {
                    id: Set(id),
                    user_id: Set(user),
                    kind: Set(kind.as_str().to_string()),
                    target_id: Set(target),
                    group_key: Set(group_key),
                    actor_id: Set(actor),
                    actor_count: Set(1),
                    seq: Set(seq),
                    created_at: Set(now),
                    updated_at: Set(now),
                    read_at: Set(None),
                })
                .exec_without_returning(conn)
                .await?;
                notification_actor::Entity::insert(notification_actor::ActiveModel {
                    notification_id: Set(id),
                    actor_id: Set(actor),
                    created_at: Set(now),
                })
                .exec_without_returning(conn)
                .await?;
                (id, 1)
            }
        };
        self.event(
            conn,
            "notification_created",
            actor,
            &[&user.to_string()],
            json!({
                "notificationId": id, "userId": user, "kind": kind.as_str(),
                "targetId": target, "actorId": actor, "actorCount": count,
            }),
        )
        .await?;
        self.unread_changed(conn, user, actor).await
    }

    /// Publishes `user`'s unread notification count (in the caller's
    /// transaction, so it is the count that transaction leaves behind).
    async fn unread_changed<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        actor: Uuid,
    ) -> Result<(), Error> {
        let count = notification::Entity::find()
            .filter(notification::Column::UserId.eq(user))
            .filter(notification::Column::ReadAt.is_null())
            .count(conn)
            .await?;
        self.event(
            conn,
            "unread_count_changed",
            actor,
            &[&user.to_string()],
            json!({ "userId": user, "count": count }),
        )
        .await
    }

    /// `user`'s notification `id`; `None` when it is someone else's.
    pub async fn notification_of(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<Option<notification::Model>, Error> {
        Ok(notification::Entity::find_by_id(id)
            .filter(notification::Column::UserId.eq(user))
            .one(self.db())
            .await?)
    }

    /// Notifies everyone `body` mentions (by username) about `target`.
    async fn notify_mentions<C: ConnectionTrait>(
        &self,
        conn: &C,
        body: &str,
        target: Uuid,
        actor: Uuid,
    ) -> Result<(), Error> {
        let names = text::mentions(body);
        if names.is_empty() {
            return Ok(());
        }
        let people = profile::Entity::find()
            .filter(profile::Column::UsernameKey.is_in(names))
            .filter(profile::Column::Deleted.eq(false))
            .all(conn)
            .await?;
        for p in people {
            self.notify(conn, p.user_id, Notify::Mentioned, Some(target), actor)
                .await?;
        }
        Ok(())
    }

    pub async fn notifications(
        &self,
        user: Uuid,
        unread_only: bool,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<notification::Model>, Error> {
        let mut q = notification::Entity::find().filter(notification::Column::UserId.eq(user));
        if unread_only {
            q = q.filter(notification::Column::ReadAt.is_null());
        }
        page(
            self.db(),
            q,
            notification::Column::Seq,
            true,
            n,
            after,
            |m| m.seq,
        )
        .await
    }

    pub async fn unread_count(&self, user: Uuid) -> Result<u64, Error> {
        Ok(notification::Entity::find()
            .filter(notification::Column::UserId.eq(user))
            .filter(notification::Column::ReadAt.is_null())
            .count(self.db())
            .await?)
    }

    /// Marks `ids` (or, with `None`, every notification) of `user` read;
    /// returns how many changed.
    pub async fn mark_read(&self, user: Uuid, ids: Option<Vec<Uuid>>) -> Result<u64, Error> {
        let txn = self.begin().await?;
        let mut q = notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
            .filter(notification::Column::UserId.eq(user))
            .filter(notification::Column::ReadAt.is_null());
        if let Some(ids) = ids {
            if ids.len() > MAX_PAGE as usize {
                return Err(Error::bad_input(
                    "ids",
                    format!("at most {MAX_PAGE} ids at once"),
                ));
            }
            q = q.filter(notification::Column::Id.is_in(ids));
        }
        let n = q.exec(&txn).await?.rows_affected;
        if n > 0 {
            self.unread_changed(&txn, user, user).await?;
        }
        self.commit(txn).await?;
        Ok(n)
    }

    // ---- posts -------------------------------------------------------------------

    pub async fn post(&self, id: Uuid) -> Result<Option<post::Model>, Error> {
        Ok(post::Entity::find_by_id(id).one(self.db()).await?)
    }

    async fn live_post(&self, id: Uuid) -> Result<post::Model, Error> {
        self.post(id)
            .await?
            .filter(|p| p.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("post"))
    }

    pub async fn create_post(
        &self,
        me: Uuid,
        body: &str,
        title_id: Option<Uuid>,
    ) -> Result<post::Model, Error> {
        let body = text::body("body", body, text::POST_MAX)?;
        let txn = self.begin().await?;
        let p = self.insert_post(&txn, me, body, title_id, None).await?;
        self.commit(txn).await?;
        Ok(p)
    }

    async fn insert_post(
        &self,
        txn: &DatabaseTransaction,
        me: Uuid,
        body: String,
        title_id: Option<Uuid>,
        reshare_of: Option<Uuid>,
    ) -> Result<post::Model, Error> {
        let p = post::Model {
            id: Uuid::now_v7(),
            author_id: me,
            body,
            title_id,
            reshare_of,
            like_count: 0,
            comment_count: 0,
            share_count: 0,
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: None,
        };
        post::Entity::insert(post::ActiveModel::from(p.clone()))
            .exec_without_returning(txn)
            .await?;
        self.notify_mentions(txn, &p.body, p.id, me).await?;
        self.event(
            txn,
            "post_created",
            me,
            &[],
            json!({ "postId": p.id, "authorId": me, "titleId": title_id, "reshareOf": reshare_of }),
        )
        .await?;
        Ok(p)
    }

    /// Reshares `post_id` (its original when it is itself a reshare), with
    /// an optional comment.
    pub async fn share_post(
        &self,
        me: Uuid,
        post_id: Uuid,
        comment: Option<&str>,
    ) -> Result<post::Model, Error> {
        let body = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => text::body("comment", c, text::POST_MAX)?,
            None => String::new(),
        };
        let mut original = self.live_post(post_id).await?;
        if let Some(root) = original.reshare_of {
            original = self.live_post(root).await?;
        }
        self.refuse_if_blocked(me, original.author_id, "reshare this post")
            .await?;
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(
                post::Column::ShareCount,
                Expr::col(post::Column::ShareCount).add(1),
            )
            .filter(post::Column::Id.eq(original.id))
            .exec(&txn)
            .await?;
        let p = self
            .insert_post(&txn, me, body, original.title_id, Some(original.id))
            .await?;
        self.notify(
            &txn,
            original.author_id,
            Notify::PostReshared,
            Some(original.id),
            me,
        )
        .await?;
        self.commit(txn).await?;
        Ok(p)
    }

    pub async fn edit_post(
        &self,
        claims: &Claims,
        id: Uuid,
        body: &str,
    ) -> Result<post::Model, Error> {
        let body = text::body("body", body, text::POST_MAX)?;
        let p = self.live_post(id).await?;
        if p.author_id != me(claims)? {
            return Err(Error::forbidden("only the author edits a post"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(post::Column::Body, Expr::value(body.clone()))
            .col_expr(post::Column::EditedAt, Expr::value(now))
            .filter(post::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.commit(txn).await?;
        Ok(post::Model {
            body,
            edited_at: Some(now),
            ..p
        })
    }

    /// Authors delete their posts; moderators and admins remove anyone's.
    pub async fn delete_post(&self, claims: &Claims, id: Uuid) -> Result<(), Error> {
        let p = self.live_post(id).await?;
        owner_or_moderator(claims, p.author_id, "post")?;
        let txn = self.begin().await?;
        post::Entity::update_many()
            .col_expr(post::Column::DeletedAt, Expr::value(Utc::now()))
            .filter(post::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if let Some(orig) = p.reshare_of {
            post::Entity::update_many()
                .col_expr(
                    post::Column::ShareCount,
                    Expr::col(post::Column::ShareCount).sub(1),
                )
                .filter(post::Column::Id.eq(orig))
                .exec(&txn)
                .await?;
        }
        self.event(
            &txn,
            "post_deleted",
            me(claims)?,
            &[],
            json!({ "postId": id, "authorId": p.author_id }),
        )
        .await?;
        self.commit(txn).await
    }

    /// Posts of the people `me` follows and `me`'s own, newest first.
    pub async fn feed(
        &self,
        me: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<post::Model>, Error> {
        let followed = Query::select()
            .column(follow::Column::FolloweeId)
            .from(follow::Entity)
            .and_where(Expr::col(follow::Column::FollowerId).eq(me))
            .to_owned();
        let q = post::Entity::find()
            .filter(post::Column::DeletedAt.is_null())
            .filter(
                Condition::any()
                    .add(post::Column::AuthorId.eq(me))
                    .add(post::Column::AuthorId.in_subquery(followed)),
            );
        page(self.db(), q, post::Column::Id, true, n, after, |p| p.id).await
    }

    pub async fn user_posts(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<post::Model>, Error> {
        let q = post::Entity::find()
            .filter(post::Column::DeletedAt.is_null())
            .filter(post::Column::AuthorId.eq(user));
        page(self.db(), q, post::Column::Id, true, n, after, |p| p.id).await
    }

    // ---- comments ----------------------------------------------------------------

    pub async fn comment(&self, id: Uuid) -> Result<Option<comment::Model>, Error> {
        Ok(comment::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// The author of what a comment or like targets, or `NOT_FOUND`.
    async fn author_of(&self, target: Target) -> Result<Uuid, Error> {
        let author = match target {
            Target::Post(id) => self
                .post(id)
                .await?
                .filter(|p| p.deleted_at.is_none())
                .map(|p| p.author_id),
            Target::Comment(id) => self
                .comment(id)
                .await?
                .filter(|c| c.deleted_at.is_none())
                .map(|c| c.author_id),
            Target::Review(id) => self
                .review(id)
                .await?
                .filter(|r| r.deleted_at.is_none())
                .map(|r| r.author_id),
        };
        author.ok_or_else(|| Error::not_found(target.kind().to_lowercase()))
    }

    /// A comment on a post or a review, or a reply to `parent` in that thread.
    pub async fn add_comment(
        &self,
        me: Uuid,
        on: Target,
        parent: Option<Uuid>,
        body: &str,
    ) -> Result<comment::Model, Error> {
        let body = text::body("body", body, text::COMMENT_MAX)?;
        let owner = self.author_of(on).await?;
        self.refuse_if_blocked(me, owner, "comment here").await?;
        let (post_id, review_id) = match on {
            Target::Post(id) => (Some(id), None),
            Target::Review(id) => (None, Some(id)),
            Target::Comment(_) => {
                return Err(Error::bad_input(
                    "input",
                    "comment on a post or a review; reply with parentId",
                ))
            }
        };
        let parent = match parent {
            None => None,
            Some(pid) => {
                let p = self
                    .comment(pid)
                    .await?
                    .filter(|c| c.post_id == post_id && c.review_id == review_id)
                    .ok_or_else(|| Error::not_found("parent comment").with_field("parentId"))?;
                if p.depth + 1 > MAX_DEPTH {
                    return Err(Error::bad_input(
                        "parentId",
                        format!(
                            "replies nest {MAX_DEPTH} deep at most; reply higher up the thread"
                        ),
                    ));
                }
                self.refuse_if_blocked(me, p.author_id, "reply to this comment")
                    .await?;
                Some(p)
            }
        };
        let c = comment::Model {
            id: Uuid::now_v7(),
            post_id,
            review_id,
            parent_id: parent.as_ref().map(|p| p.id),
            depth: parent.as_ref().map_or(0, |p| p.depth + 1),
            author_id: me,
            body,
            like_count: 0,
            reply_count: 0,
            created_at: Utc::now(),
            edited_at: None,
            deleted_at: None,
        };
        let txn = self.begin().await?;
        comment::Entity::insert(comment::ActiveModel::from(c.clone()))
            .exec_without_returning(&txn)
            .await?;
        match on {
            Target::Post(id) => {
                post::Entity::update_many()
                    .col_expr(
                        post::Column::CommentCount,
                        Expr::col(post::Column::CommentCount).add(1),
                    )
                    .filter(post::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
            }
            _ => {
                review::Entity::update_many()
                    .col_expr(
                        review::Column::CommentCount,
                        Expr::col(review::Column::CommentCount).add(1),
                    )
                    .filter(review::Column::Id.eq(on.id()))
                    .exec(&txn)
                    .await?;
            }
        }
        if let Some(p) = &parent {
            comment::Entity::update_many()
                .col_expr(
                    comment::Column::ReplyCount,
                    Expr::col(comment::Column::ReplyCount).add(1),
                )
                .filter(comment::Column::Id.eq(p.id))
                .exec(&txn)
                .await?;
            self.notify(&txn, p.author_id, Notify::CommentReplied, Some(p.id), me)
                .await?;
        }
        let commented = if matches!(on, Target::Post(_)) {
            Notify::PostCommented
        } else {
            Notify::ReviewCommented
        };
        if parent.as_ref().map(|p| p.author_id) != Some(owner) {
            self.notify(&txn, owner, commented, Some(on.id()), me)
                .await?;
        }
        self.notify_mentions(&txn, &c.body, c.id, me).await?;
        self.event(
            &txn,
            "comment_created",
            me,
            &[&on.id().to_string()],
            json!({
                "commentId": c.id, "postId": post_id, "reviewId": review_id,
                "parentId": c.parent_id, "authorId": me,
            }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(c)
    }

    async fn live_comment(&self, id: Uuid) -> Result<comment::Model, Error> {
        self.comment(id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("comment"))
    }

    pub async fn edit_comment(
        &self,
        claims: &Claims,
        id: Uuid,
        body: &str,
    ) -> Result<comment::Model, Error> {
        let body = text::body("body", body, text::COMMENT_MAX)?;
        let c = self.live_comment(id).await?;
        if c.author_id != me(claims)? {
            return Err(Error::forbidden("only the author edits a comment"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::Body, Expr::value(body.clone()))
            .col_expr(comment::Column::EditedAt, Expr::value(now))
            .filter(comment::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.commit(txn).await?;
        Ok(comment::Model {
            body,
            edited_at: Some(now),
            ..c
        })
    }

    /// The comment's text goes; its place in the thread (and its replies) stay.
    pub async fn delete_comment(&self, claims: &Claims, id: Uuid) -> Result<comment::Model, Error> {
        let c = self.live_comment(id).await?;
        owner_or_moderator(claims, c.author_id, "comment")?;
        let now = Utc::now();
        let txn = self.begin().await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::DeletedAt, Expr::value(now))
            .col_expr(comment::Column::Body, Expr::value(""))
            .filter(comment::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.commit(txn).await?;
        Ok(comment::Model {
            body: String::new(),
            deleted_at: Some(now),
            ..c
        })
    }

    /// Top-level comments of a post or review (or the replies to `parent`),
    /// oldest first.
    pub async fn comments(
        &self,
        on: Target,
        parent: Option<Uuid>,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<comment::Model>, Error> {
        let mut q = comment::Entity::find();
        q = match (parent, on) {
            (Some(p), _) => q.filter(comment::Column::ParentId.eq(p)),
            (None, Target::Post(id)) => q
                .filter(comment::Column::PostId.eq(id))
                .filter(comment::Column::ParentId.is_null()),
            (None, Target::Review(id)) => q
                .filter(comment::Column::ReviewId.eq(id))
                .filter(comment::Column::ParentId.is_null()),
            (None, Target::Comment(id)) => q.filter(comment::Column::ParentId.eq(id)),
        };
        page(self.db(), q, comment::Column::Id, false, n, after, |c| c.id).await
    }

    // ---- likes -------------------------------------------------------------------

    /// `me` likes `target`; a second like changes nothing. Returns the
    /// target's like count.
    pub async fn like(&self, me: Uuid, target: Target) -> Result<i64, Error> {
        let author = self.author_of(target).await?;
        self.refuse_if_blocked(me, author, "like this").await?;
        let txn = self.begin().await?;
        let inserted = like::Entity::insert(like::ActiveModel {
            user_id: Set(me),
            target_kind: Set(target.kind().to_string()),
            target_id: Set(target.id()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                like::Column::UserId,
                like::Column::TargetKind,
                like::Column::TargetId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted > 0 {
            self.bump_likes(&txn, target, 1).await?;
            self.notify(&txn, author, Notify::liked(target), Some(target.id()), me)
                .await?;
            self.event(
                &txn,
                "liked",
                me,
                &[],
                json!({ "userId": me, "targetKind": target.kind(), "targetId": target.id(), "authorId": author }),
            )
            .await?;
        }
        let count = self.like_count(&txn, target).await?;
        self.commit(txn).await?;
        Ok(count)
    }

    pub async fn unlike(&self, me: Uuid, target: Target) -> Result<i64, Error> {
        let txn = self.begin().await?;
        let gone = like::Entity::delete_many()
            .filter(like::Column::UserId.eq(me))
            .filter(like::Column::TargetKind.eq(target.kind()))
            .filter(like::Column::TargetId.eq(target.id()))
            .exec(&txn)
            .await?
            .rows_affected;
        if gone > 0 {
            self.bump_likes(&txn, target, -1).await?;
            self.event(
                &txn,
                "unliked",
                me,
                &[],
                json!({ "userId": me, "targetKind": target.kind(), "targetId": target.id() }),
            )
            .await?;
        }
        let count = self.like_count(&txn, target).await?;
        self.commit(txn).await?;
        Ok(count)
    }

    async fn bump_likes<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
        by: i64,
    ) -> Result<(), Error> {
        match target {
            Target::Post(id) => {
                post::Entity::update_many()
                    .col_expr(
                        post::Column::LikeCount,
                        Expr::col(post::Column::LikeCount).add(by),
                    )
                    .filter(post::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
            Target::Comment(id) => {
                comment::Entity::update_many()
                    .col_expr(
                        comment::Column::LikeCount,
                        Expr::col(comment::Column::LikeCount).add(by),
                    )
                    .filter(comment::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
            Target::Review(id) => {
                review::Entity::update_many()
                    .col_expr(
                        review::Column::LikeCount,
                        Expr::col(review::Column::LikeCount).add(by),
                    )
                    .filter(review::Column::Id.eq(id))
                    .exec(conn)
                    .await?;
            }
        }
        Ok(())
    }

    async fn like_count<C: ConnectionTrait>(&self, conn: &C, target: Target) -> Result<i64, Error> {
        let n = match target {
            Target::Post(id) => post::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|p| p.like_count),
            Target::Comment(id) => comment::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|c| c.like_count),
            Target::Review(id) => review::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|r| r.like_count),
        };
        n.ok_or_else(|| Error::not_found(target.kind().to_lowercase()))
    }

    // ---- ratings and reviews -----------------------------------------------------

    /// Sets (`Some`) or removes (`None`) `user`'s rating of `title`, keeps the
    /// title's aggregate exact and publishes it with a version that only grows.
    async fn set_rating<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        title: Uuid,
        score: Option<i32>,
    ) -> Result<(), Error> {
        // The aggregate row first: it serializes every rating of this title.
        title_stats::Entity::insert(title_stats::ActiveModel {
            title_id: Set(title),
            rating_sum: Set(0),
            rating_count: Set(0),
            version: Set(0),
        })
        .on_conflict(
            OnConflict::column(title_stats::Column::TitleId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        title_stats::Entity::update_many()
            .col_expr(
                title_stats::Column::Version,
                Expr::col(title_stats::Column::Version).add(1),
            )
            .filter(title_stats::Column::TitleId.eq(title))
            .exec(conn)
            .await?;
        let old = rating::Entity::find_by_id((user, title)).one(conn).await?;
        let now = Utc::now();
        let (sum, count): (i64, i64) = match (&old, score) {
            (None, None) => (0, 0),
            (None, Some(s)) => {
                rating::Entity::insert(rating::ActiveModel {
                    user_id: Set(user),
                    title_id: Set(title),
                    score: Set(s),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec_without_returning(conn)
                .await?;
                (s as i64, 1)
            }
            (Some(o), Some(s)) => {
                rating::Entity::update_many()
                    .col_expr(rating::Column::Score, Expr::value(s))
                    .col_expr(rating::Column::UpdatedAt, Expr::value(now))
                    .filter(rating::Column::UserId.eq(user))
                    .filter(rating::Column::TitleId.eq(title))
                    .exec(conn)
                    .await?;
                ((s - o.score) as i64, 0)
            }
            (Some(o), None) => {
                rating::Entity::delete_many()
                    .filter(rating::Column::UserId.eq(user))
                    .filter(rating::Column::TitleId.eq(title))
                    .exec(conn)
                    .await?;
                (-(o.score as i64), -1)
            }
        };
        title_stats::Entity::update_many()
            .col_expr(
                title_stats::Column::RatingSum,
                Expr::col(title_stats::Column::RatingSum).add(sum),
            )
            .col_expr(
                title_stats::Column::RatingCount,
                Expr::col(title_stats::Column::RatingCount).add(count),
            )
            .filter(title_stats::Column::TitleId.eq(title))
            .exec(conn)
            .await?;
        let stats = title_stats::Entity::find_by_id(title)
            .one(conn)
            .await?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("title stats vanished")))?;
        let average = if stats.rating_count > 0 {
            stats.rating_sum as f64 / stats.rating_count as f64
        } else {
            0.0
        };
        self.event(
            conn,
            "rating_changed",
            user,
            &[],
            json!({
                "titleId": title, "userId": user, "score": score,
                "ratingAverage": average, "ratingSum": stats.rating_sum,
                "ratingCount": stats.rating_count,
                "version": stats.version,
            }),
        )
        .await
    }

    pub async fn rate_title(&self, me: Uuid, title: Uuid, score: i32) -> Result<(), Error> {
        check_score("score", score)?;
        let txn = self.begin().await?;
        self.set_rating(&txn, me, title, Some(score)).await?;
        self.commit(txn).await
    }

    pub async fn remove_rating(&self, me: Uuid, title: Uuid) -> Result<(), Error> {
        let txn = self.begin().await?;
        self.set_rating(&txn, me, title, None).await?;
        self.commit(txn).await
    }

    pub async fn rating_of(&self, user: Uuid, title: Uuid) -> Result<Option<i32>, Error> {
        Ok(rating::Entity::find_by_id((user, title))
            .one(self.db())
            .await?
            .map(|r| r.score))
    }

    pub async fn review(&self, id: Uuid) -> Result<Option<review::Model>, Error> {
        Ok(review::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// One review per user per title; a score given with it is also the
    /// user's rating of the title.
    pub async fn write_review(
        &self,
        me: Uuid,
        title: Uuid,
        body: &str,
        score: Option<i32>,
        contains_spoilers: bool,
    ) -> Result<review::Model, Error> {
        let body = text::body("body", body, text::REVIEW_MAX)?;
        if let Some(s) = score {
            check_score("score", s)?;
        }
        let txn = self.begin().await?;
        // A write first, score or not: SQLite takes its write lock here instead
        // of failing to upgrade a read lock under concurrent writers, and
        // PostgreSQL locks this user's review of the title, if any.
        review::Entity::update_many()
            .col_expr(
                review::Column::AuthorId,
                Expr::col(review::Column::AuthorId).into(),
            )
            .filter(review::Column::AuthorId.eq(me))
            .filter(review::Column::TitleId.eq(title))
            .exec(&txn)
            .await?;
        if let Some(s) = score {
            self.set_rating(&txn, me, title, Some(s)).await?;
        }
        let existing = review::Entity::find()
            .filter(review::Column::AuthorId.eq(me))
            .filter(review::Column::TitleId.eq(title))
            .one(&txn)
            .await?;
        let now = Utc::now();
        let r = match existing {
            Some(r) if r.deleted_at.is_none() => {
                txn.rollback().await?;
                return Err(Error::conflict(
                    "you have already reviewed this title; edit that review instead",
                ));
            }
            // A deleted review's place is taken by the new one.
            Some(old) => {
                review::Entity::delete_by_id(old.id).exec(&txn).await?;
                None
            }
            None => None,
        }
        .unwrap_or(review::Model {
            id: Uuid::now_v7(),
            author_id: me,
            title_id: title,
            body,
            score,
            contains_spoilers,
            like_count: 0,
            comment_count: 0,
            created_at: now,
            edited_at: None,
            deleted_at: None,
        });
        let inserted = review::Entity::insert(review::ActiveModel::from(r.clone()))
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Err(e) if kit::db::is_unique_violation(&e) => {
                return Err(Error::conflict(
                    "you have already reviewed this title; edit that review instead",
                ))
            }
            other => other?,
        };
        self.notify_mentions(&txn, &r.body, r.id, me).await?;
        self.event(
            &txn,
            "review_created",
            me,
            &[&title.to_string()],
            json!({ "reviewId": r.id, "titleId": title, "authorId": me, "score": score }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(r)
    }

    async fn live_review(&self, id: Uuid) -> Result<review::Model, Error> {
        self.review(id)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("review"))
    }

    pub async fn edit_review(
        &self,
        claims: &Claims,
        id: Uuid,
        body: Option<&str>,
        score: Option<i32>,
        contains_spoilers: Option<bool>,
    ) -> Result<review::Model, Error> {
        let body = body
            .map(|b| text::body("body", b, text::REVIEW_MAX))
            .transpose()?;
        if let Some(s) = score {
            check_score("score", s)?;
        }
        let r = self.live_review(id).await?;
        let author = me(claims)?;
        if r.author_id != author {
            return Err(Error::forbidden("only the author edits a review"));
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        let mut q = review::Entity::update_many()
            .col_expr(review::Column::EditedAt, Expr::value(now))
            .filter(review::Column::Id.eq(id));
        if let Some(b) = &body {
            q = q.col_expr(review::Column::Body, Expr::value(b.clone()));
        }
        if let Some(s) = score {
            q = q.col_expr(review::Column::Score, Expr::value(s));
        }
        if let Some(sp) = contains_spoilers {
            q = q.col_expr(review::Column::ContainsSpoilers, Expr::value(sp));
        }
        q.exec(&txn).await?;
        if let Some(s) = score {
            self.set_rating(&txn, author, r.title_id, Some(s)).await?;
        }
        self.commit(txn).await?;
        Ok(review::Model {
            body: body.unwrap_or(r.body),
            score: score.or(r.score),
            contains_spoilers: contains_spoilers.unwrap_or(r.contains_spoilers),
            edited_at: Some(now),
            ..r
        })
    }

    /// Authors delete their reviews (their rating stays); moderators and
    /// admins remove anyone's.
    pub async fn delete_review(&self, claims: &Claims, id: Uuid) -> Result<(), Error> {
        let r = self.live_review(id).await?;
        owner_or_moderator(claims, r.author_id, "review")?;
        let txn = self.begin().await?;
        review::Entity::update_many()
            .col_expr(review::Column::DeletedAt, Expr::value(Utc::now()))
            .filter(review::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        self.commit(txn).await
    }

    /// Reviews of `title` in `sort` order. NEWEST pages by id; the others by
    /// their figure with the id breaking ties (cursor `figure:id`).
    pub async fn reviews(
        &self,
        title: Uuid,
        sort: ReviewSort,
        n: u64,
        after: Option<&str>,
    ) -> Result<Page<review::Model>, Error> {
        let q = review::Entity::find()
            .filter(review::Column::TitleId.eq(title))
            .filter(review::Column::DeletedAt.is_null());
        let figure = |r: &review::Model| match sort {
            ReviewSort::Top => r.like_count,
            ReviewSort::Highest | ReviewSort::Lowest => r.score.unwrap_or(0) as i64,
            ReviewSort::Newest => 0,
        };
        if sort == ReviewSort::Newest {
            return page(
                self.db(),
                q,
                review::Column::Id,
                true,
                n,
                cursor("after", after)?,
                |r| r.id,
            )
            .await;
        }
        let col = match sort {
            ReviewSort::Top => Expr::col(review::Column::LikeCount),
            _ => Expr::expr(Expr::cust("COALESCE(score, 0)")),
        };
        let asc = sort == ReviewSort::Lowest;
        let mut q = q;
        if let Some(raw) = after {
            let (v, id) = raw
                .split_once(':')
                .and_then(|(v, id)| Some((v.parse::<i64>().ok()?, Uuid::parse_str(id).ok()?)))
                .ok_or_else(|| Error::bad_input("after", "not a valid cursor"))?;
            let past = if asc {
                col.clone().gt(v)
            } else {
                col.clone().lt(v)
            };
            q = q.filter(
                Condition::any().add(past).add(
                    Condition::all()
                        .add(col.clone().eq(v))
                        .add(review::Column::Id.lt(id)),
                ),
            );
        }
        let order = if asc {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        };
        let mut rows = q
            .order_by(col.clone(), order)
            .order_by_desc(review::Column::Id)
            .limit(n + 1)
            .all(self.db())
            .await?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(Page {
            items: rows
                .into_iter()
                .map(|r| (format!("{}:{}", figure(&r), r.id), r))
                .collect(),
            has_next_page,
        })
    }

    pub async fn user_ratings(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<rating::Model>, Error> {
        let q = rating::Entity::find().filter(rating::Column::UserId.eq(user));
        page(self.db(), q, rating::Column::TitleId, true, n, after, |r| {
            r.title_id
        })
        .await
    }

    // ---- watchlist and history ---------------------------------------------------

    pub async fn add_to_watchlist(&self, me: Uuid, title: Uuid) -> Result<bool, Error> {
        let txn = self.begin().await?;
        let added = watchlist::Entity::insert(watchlist::ActiveModel {
            user_id: Set(me),
            title_id: Set(title),
            seq: Set(Uuid::now_v7()),
            added_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([watchlist::Column::UserId, watchlist::Column::TitleId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if added > 0 {
            self.watchlist_event(&txn, me, title, true).await?;
        }
        self.commit(txn).await?;
        Ok(added > 0)
    }

    pub async fn remove_from_watchlist(&self, me: Uuid, title: Uuid) -> Result<bool, Error> {
        let txn = self.begin().await?;
        let gone = self.drop_watchlist(&txn, me, title).await?;
        self.commit(txn).await?;
        Ok(gone)
    }

    async fn drop_watchlist(
        &self,
        txn: &DatabaseTransaction,
        me: Uuid,
        title: Uuid,
    ) -> Result<bool, Error> {
        let gone = watchlist::Entity::delete_many()
            .filter(watchlist::Column::UserId.eq(me))
            .filter(watchlist::Column::TitleId.eq(title))
            .exec(txn)
            .await?
            .rows_affected;
        if gone > 0 {
            self.watchlist_event(txn, me, title, false).await?;
        }
        Ok(gone > 0)
    }

    async fn watchlist_event<C: ConnectionTrait>(
        &self,
        conn: &C,
        user: Uuid,
        title: Uuid,
        added: bool,
    ) -> Result<(), Error> {
        self.event(
            conn,
            "watchlist_changed",
            user,
            &[],
            json!({ "userId": user, "titleId": title, "added": added }),
        )
        .await
    }

    /// Records a watch (now, or when `watched_at` says, not in the future)
    /// and takes the title off the watchlist.
    pub async fn mark_watched(
        &self,
        me: Uuid,
        title: Uuid,
        watched_at: Option<DateTime<Utc>>,
    ) -> Result<watch_history::Model, Error> {
        let now = Utc::now();
        let at = watched_at.unwrap_or(now);
        if at > now + chrono::Duration::minutes(5) {
            return Err(Error::bad_input("watchedAt", "watchedAt is in the future"));
        }
        let h = watch_history::Model {
            id: Uuid::now_v7(),
            user_id: me,
            title_id: title,
            watched_at: at,
        };
        let txn = self.begin().await?;
        watch_history::Entity::insert(watch_history::ActiveModel::from(h.clone()))
            .exec_without_returning(&txn)
            .await?;
        self.drop_watchlist(&txn, me, title).await?;
        self.commit(txn).await?;
        Ok(h)
    }

    pub async fn watchlist(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<watchlist::Model>, Error> {
        let q = watchlist::Entity::find().filter(watchlist::Column::UserId.eq(user));
        page(self.db(), q, watchlist::Column::Seq, true, n, after, |w| {
            w.seq
        })
        .await
    }

    pub async fn watch_history(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<watch_history::Model>, Error> {
        let q = watch_history::Entity::find().filter(watch_history::Column::UserId.eq(user));
        page(
            self.db(),
            q,
            watch_history::Column::Id,
            true,
            n,
            after,
            |h| h.id,
        )
        .await
    }

    /// Followers (`followers = true`) or followees of `user`, newest first.
    pub async fn follows(
        &self,
        user: Uuid,
        followers: bool,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<follow::Model>, Error> {
        // Only accounts the users subgraph told us of, and not deleted: a
        // follow of an id that is no account (follows are taken before the
        // account's event may have arrived) never lists a user that cannot
        // be resolved.
        let known = Query::select()
            .column(profile::Column::UserId)
            .from(profile::Entity)
            .and_where(Expr::col(profile::Column::Deleted).eq(false))
            .to_owned();
        let q = follow::Entity::find().filter(if followers {
            Condition::all()
                .add(follow::Column::FolloweeId.eq(user))
                .add(follow::Column::FollowerId.in_subquery(known))
        } else {
            Condition::all()
                .add(follow::Column::FollowerId.eq(user))
                .add(follow::Column::FolloweeId.in_subquery(known))
        });
        page(self.db(), q, follow::Column::Seq, true, n, after, |f| f.seq).await
    }

    // ---- chat --------------------------------------------------------------------

    /// A direct room (one other member, no name: the pair's one room, made
    /// once) or a group room; the creator is a member.
    pub async fn create_room(
        &self,
        me: Uuid,
        member_ids: &[Uuid],
        name: Option<&str>,
    ) -> Result<chat_room::Model, Error> {
        let mut others: Vec<Uuid> = member_ids.iter().copied().filter(|m| *m != me).collect();
        others.sort();
        others.dedup();
        if others.is_empty() {
            return Err(Error::bad_input(
                "memberIds",
                "name at least one other member",
            ));
        }
        if others.len() + 1 > MAX_ROOM_MEMBERS {
            return Err(Error::bad_input(
                "memberIds",
                format!("a room holds at most {MAX_ROOM_MEMBERS} members"),
            ));
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text::body("name", n, text::ROOM_NAME_MAX))
            .transpose()?;
        for o in &others {
            self.refuse_if_blocked(me, *o, "chat with this user")
                .await?;
        }
        let direct_key = (others.len() == 1 && name.is_none()).then(|| {
            let mut pair = [me, others[0]];
            pair.sort();
            format!("{}:{}", pair[0], pair[1])
        });
        if let Some(k) = &direct_key {
            if let Some(r) = chat_room::Entity::find()
                .filter(chat_room::Column::DirectKey.eq(k.clone()))
                .one(self.db())
                .await?
            {
                return Ok(r);
            }
        }
        let now = Utc::now();
        let id = Uuid::now_v7();
        let room = chat_room::Model {
            id,
            name,
            direct_key,
            created_by: me,
            created_at: now,
            activity: id,
        };
        let txn = self.begin().await?;
        let inserted = chat_room::Entity::insert(chat_room::ActiveModel::from(room.clone()))
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = &inserted {
            if kit::db::is_unique_violation(e) {
                // The same direct room was made at the same moment: use it.
                txn.rollback().await?;
                let k = room.direct_key.clone().unwrap_or_default();
                return chat_room::Entity::find()
                    .filter(chat_room::Column::DirectKey.eq(k))
                    .one(self.db())
                    .await?
                    .ok_or_else(|| Error::conflict("the room is being created; try again"));
            }
        }
        inserted?;
        chat_member::Entity::insert_many(std::iter::once(me).chain(others.iter().copied()).map(
            |u| chat_member::ActiveModel {
                room_id: Set(id),
                user_id: Set(u),
                joined_at: Set(now),
                last_read: Set(None),
            },
        ))
        .exec_without_returning(&txn)
        .await?;
        self.event(
            &txn,
            "chat_room_created",
            me,
            &[],
            json!({ "roomId": id, "memberIds": std::iter::once(me).chain(others.iter().copied()).collect::<Vec<_>>() }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(room)
    }

    /// The group room `room`, when `me` is a member who may change who is in
    /// it; direct rooms keep their pair.
    async fn group_room(&self, me: Uuid, room: Uuid) -> Result<chat_room::Model, Error> {
        let r = self.member_room(me, room).await?;
        if r.direct_key.is_some() {
            return Err(Error::bad_input(
                "roomId",
                "a direct room keeps its two members",
            ));
        }
        Ok(r)
    }

    /// Adds members to a group room: its creator does; blocked pairs are refused.
    pub async fn add_members(
        &self,
        me: Uuid,
        room: Uuid,
        member_ids: &[Uuid],
    ) -> Result<chat_room::Model, Error> {
        let r = self.group_room(me, room).await?;
        if r.created_by != me {
            return Err(Error::forbidden("only the room's creator adds members"));
        }
        let present: Vec<Uuid> = self
            .room_members(room)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        let mut new: Vec<Uuid> = member_ids
            .iter()
            .copied()
            .filter(|m| !present.contains(m))
            .collect();
        new.sort();
        new.dedup();
        if new.is_empty() {
            return Ok(r);
        }
        if present.len() + new.len() > MAX_ROOM_MEMBERS {
            return Err(Error::bad_input(
                "memberIds",
                format!("a room holds at most {MAX_ROOM_MEMBERS} members"),
            ));
        }
        for o in &new {
            self.refuse_if_blocked(me, *o, "chat with this user")
                .await?;
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        chat_member::Entity::insert_many(new.iter().map(|u| chat_member::ActiveModel {
            room_id: Set(room),
            user_id: Set(*u),
            joined_at: Set(now),
            last_read: Set(None),
        }))
        .on_conflict(
            OnConflict::columns([chat_member::Column::RoomId, chat_member::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        self.event(
            &txn,
            "chat_members_added",
            me,
            &[&room.to_string()],
            json!({ "roomId": room, "memberIds": new }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(r)
    }

    /// Takes `user` out of a group room: the room's creator removes anyone,
    /// anyone removes (leaves) themselves. When the creator leaves, the
    /// longest-standing member takes the room over. Their live subscriptions
    /// to the room end (`chat_member_removed`).
    pub async fn remove_member(&self, me: Uuid, room: Uuid, user: Uuid) -> Result<bool, Error> {
        let r = self.group_room(me, room).await?;
        if user != me && r.created_by != me {
            return Err(Error::forbidden(
                "only the room's creator removes other members",
            ));
        }
        let txn = self.begin().await?;
        let removed = chat_member::Entity::delete_many()
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(user))
            .exec(&txn)
            .await?
            .rows_affected;
        if removed == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        if user == r.created_by {
            let heir = chat_member::Entity::find()
                .filter(chat_member::Column::RoomId.eq(room))
                .order_by_asc(chat_member::Column::JoinedAt)
                .order_by_asc(chat_member::Column::UserId)
                .one(&txn)
                .await?;
            if let Some(heir) = heir {
                chat_room::Entity::update_many()
                    .col_expr(chat_room::Column::CreatedBy, Expr::value(heir.user_id))
                    .filter(chat_room::Column::Id.eq(room))
                    .exec(&txn)
                    .await?;
            }
        }
        self.event(
            &txn,
            "chat_member_removed",
            me,
            &[&room.to_string()],
            json!({ "roomId": room, "userId": user }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(true)
    }

    pub async fn room_members(&self, room: Uuid) -> Result<Vec<chat_member::Model>, Error> {
        Ok(chat_member::Entity::find()
            .filter(chat_member::Column::RoomId.eq(room))
            .order_by_asc(chat_member::Column::JoinedAt)
            .limit(MAX_ROOM_MEMBERS as u64)
            .all(self.db())
            .await?)
    }

    /// The room, when `me` is a member; `FORBIDDEN` otherwise (and
    /// `NOT_FOUND` when there is no such room).
    pub async fn member_room(&self, me: Uuid, room: Uuid) -> Result<chat_room::Model, Error> {
        let r = chat_room::Entity::find_by_id(room)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("chat room"))?;
        if chat_member::Entity::find_by_id((room, me))
            .one(self.db())
            .await?
            .is_none()
        {
            return Err(Error::forbidden(
                "only the room's members read or write in it",
            ));
        }
        Ok(r)
    }

    /// Message `id`, when `me` is a member of its room.
    pub async fn message_for(
        &self,
        me: Uuid,
        id: Uuid,
    ) -> Result<Option<chat_message::Model>, Error> {
        let Some(m) = chat_message::Entity::find_by_id(id).one(self.db()).await? else {
            return Ok(None);
        };
        let member = chat_member::Entity::find_by_id((m.room_id, me))
            .one(self.db())
            .await?
            .is_some();
        Ok(member.then_some(m))
    }

    /// Tells the room's live subscribers that `me` is typing: ephemeral (core
    /// NATS, nothing stored), members only.
    pub async fn typing(&self, me: Uuid, room: Uuid) -> Result<DateTime<Utc>, Error> {
        self.member_room(me, room).await?;
        let at = Utc::now();
        let e = self
            .services
            .event(
                "chat_typing",
                Some(me.to_string()),
                json!({ "roomId": room, "user": { "__typename": "User", "id": me }, "at": at }),
            )
            .routed(&[&room.to_string()]);
        self.services
            .bus
            .publish_ephemeral(&e)
            .await
            .map_err(|e| Error::unavailable("the event bus", e))?;
        Ok(at)
    }

    pub async fn send_message(
        &self,
        me: Uuid,
        room: Uuid,
        body: &str,
    ) -> Result<chat_message::Model, Error> {
        let body = text::body("body", body, text::MESSAGE_MAX)?;
        let r = self.member_room(me, room).await?;
        if r.direct_key.is_some() {
            for m in self.room_members(room).await? {
                if m.user_id != me {
                    self.refuse_if_blocked(me, m.user_id, "message this user")
                        .await?;
                }
            }
        }
        let msg = chat_message::Model {
            id: Uuid::now_v7(),
            room_id: room,
            author_id: me,
            body,
            created_at: Utc::now(),
        };
        let txn = self.begin().await?;
        chat_message::Entity::insert(chat_message::ActiveModel::from(msg.clone()))
            .exec_without_returning(&txn)
            .await?;
        chat_room::Entity::update_many()
            .col_expr(chat_room::Column::Activity, Expr::value(msg.id))
            .filter(chat_room::Column::Id.eq(room))
            .exec(&txn)
            .await?;
        chat_member::Entity::update_many()
            .col_expr(chat_member::Column::LastRead, Expr::value(msg.id))
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(me))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "chat_message_sent",
            me,
            &[&room.to_string()],
            json!({ "messageId": msg.id, "roomId": room, "authorId": me, "body": msg.body, "createdAt": msg.created_at }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(msg)
    }

    /// `me`'s rooms, the most recently active first.
    pub async fn rooms(
        &self,
        me: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<chat_room::Model>, Error> {
        let mine = Query::select()
            .column(chat_member::Column::RoomId)
            .from(chat_member::Entity)
            .and_where(Expr::col(chat_member::Column::UserId).eq(me))
            .to_owned();
        let q = chat_room::Entity::find().filter(chat_room::Column::Id.in_subquery(mine));
        page(
            self.db(),
            q,
            chat_room::Column::Activity,
            true,
            n,
            after,
            |r| r.activity,
        )
        .await
    }

    /// Messages of a room, newest first, before `before`.
    pub async fn messages(
        &self,
        me: Uuid,
        room: Uuid,
        n: u64,
        before: Option<Uuid>,
    ) -> Result<Page<chat_message::Model>, Error> {
        self.member_room(me, room).await?;
        let q = chat_message::Entity::find().filter(chat_message::Column::RoomId.eq(room));
        page(
            self.db(),
            q,
            chat_message::Column::Id,
            true,
            n,
            before,
            |m| m.id,
        )
        .await
    }

    pub async fn mark_room_read(&self, me: Uuid, room: Uuid) -> Result<(), Error> {
        let r = self.member_room(me, room).await?;
        let txn = self.begin().await?;
        chat_member::Entity::update_many()
            .col_expr(chat_member::Column::LastRead, Expr::value(r.activity))
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(me))
            .exec(&txn)
            .await?;
        self.commit(txn).await
    }

    // ---- account deletion --------------------------------------------------------

    /// What `users.user_deleted` does here: the account's follows, blocks,
    /// likes, ratings, lists, notifications and chat memberships go (counters
    /// and title aggregates follow); its posts, comments and reviews stay in
    /// their threads with their text removed.
    pub async fn forget_user(&self, txn: &DatabaseTransaction, user: Uuid) -> Result<(), Error> {
        let now = Utc::now();
        for (kind, table) in [
            ("POST", "posts"),
            ("COMMENT", "comments"),
            ("REVIEW", "reviews"),
        ] {
            let liked = Query::select()
                .column(like::Column::TargetId)
                .from(like::Entity)
                .and_where(Expr::col(like::Column::UserId).eq(user))
                .and_where(Expr::col(like::Column::TargetKind).eq(kind))
                .to_owned();
            let stmt = Query::update()
                .table(sea_orm::sea_query::Alias::new(table))
                .value(
                    sea_orm::sea_query::Alias::new("like_count"),
                    Expr::col(sea_orm::sea_query::Alias::new("like_count")).sub(1),
                )
                .and_where(Expr::col(sea_orm::sea_query::Alias::new("id")).in_subquery(liked))
                .to_owned();
            txn.execute(txn.get_database_backend().build(&stmt)).await?;
        }
        like::Entity::delete_many()
            .filter(like::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        let rated: Vec<Uuid> = rating::Entity::find()
            .filter(rating::Column::UserId.eq(user))
            .all(txn)
            .await?
            .into_iter()
            .map(|r| r.title_id)
            .collect();
        for title in rated {
            self.set_rating(txn, user, title, None).await?;
        }
        follow::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(follow::Column::FollowerId.eq(user))
                    .add(follow::Column::FolloweeId.eq(user)),
            )
            .exec(txn)
            .await?;
        block::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(block::Column::BlockerId.eq(user))
                    .add(block::Column::BlockedId.eq(user)),
            )
            .exec(txn)
            .await?;
        watchlist::Entity::delete_many()
            .filter(watchlist::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        watch_history::Entity::delete_many()
            .filter(watch_history::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        notification::Entity::delete_many()
            .filter(notification::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        chat_member::Entity::delete_many()
            .filter(chat_member::Column::UserId.eq(user))
            .exec(txn)
            .await?;
        post::Entity::update_many()
            .col_expr(post::Column::DeletedAt, Expr::value(now))
            .col_expr(post::Column::Body, Expr::value(""))
            .filter(post::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        comment::Entity::update_many()
            .col_expr(comment::Column::DeletedAt, Expr::value(now))
            .col_expr(comment::Column::Body, Expr::value(""))
            .filter(comment::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        review::Entity::update_many()
            .col_expr(review::Column::DeletedAt, Expr::value(now))
            .col_expr(review::Column::Body, Expr::value(""))
            .filter(review::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        chat_message::Entity::update_many()
            .col_expr(chat_message::Column::Body, Expr::value(""))
            .filter(chat_message::Column::AuthorId.eq(user))
            .exec(txn)
            .await?;
        profile::Entity::insert(profile::ActiveModel {
            user_id: Set(user),
            username: Set(None),
            username_key: Set(None),
            private: Set(true),
            deleted: Set(true),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(profile::Column::UserId)
                .update_columns([
                    profile::Column::Username,
                    profile::Column::UsernameKey,
                    profile::Column::Private,
                    profile::Column::Deleted,
                    profile::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum ReviewSort {
    Newest,
    Top,
    Highest,
    Lowest,
}

fn check_score(field: &str, s: i32) -> Result<(), Error> {
    if (1..=10).contains(&s) {
        Ok(())
    } else {
        Err(Error::bad_input(
            field,
            "a score is a whole number from 1 to 10",
        ))
    }
}

fn owner_or_moderator(claims: &Claims, author: Uuid, what: &str) -> Result<(), Error> {
    if me(claims)? == author || claims.has_role(Role::Moderator) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "only the author, a moderator or an admin removes a {what}"
        )))
    }
}
