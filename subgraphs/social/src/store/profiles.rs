//! Profiles (usernames copied from the users subgraph's events, the private
//! flag), follows and blocks, and who may see whose lists.

use chrono::Utc;
use kit::auth::{Claims, Role};
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use serde_json::json;

use super::FollowState;
use std::collections::HashMap;

use uuid::Uuid;

use super::model::*;
use super::{me, page, Page, Social};

impl Social {
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
        if !private {
            self.approve_all_requests(&txn, user).await?;
        }
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

    /// Everyone `user` blocked or was blocked by (their posts, comments and
    /// live events are hidden from `user`, and `user`'s from them).
    pub async fn blocked_with(&self, user: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows = block::Entity::find()
            .filter(
                Condition::any()
                    .add(block::Column::BlockerId.eq(user))
                    .add(block::Column::BlockedId.eq(user)),
            )
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|b| {
                if b.blocker_id == user {
                    b.blocked_id
                } else {
                    b.blocker_id
                }
            })
            .collect())
    }

    pub(super) async fn refuse_if_blocked(
        &self,
        me: Uuid,
        other: Uuid,
        what: &str,
    ) -> Result<(), Error> {
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

    /// `me` follows `target`; following twice changes nothing. A private
    /// account is asked first (a follow request). Returns where `me` stands.
    pub async fn follow(&self, me: Uuid, target: Uuid) -> Result<FollowState, Error> {
        if me == target {
            return Err(Error::bad_input("userId", "you cannot follow yourself"));
        }
        self.refuse_if_blocked(me, target, "follow this user")
            .await?;
        // Read before the transaction: on SQLite a transaction that reads
        // first cannot become a writer while another writes (every write
        // transaction here starts with its write).
        let private = profile::Entity::find_by_id(target)
            .one(self.db())
            .await?
            .is_some_and(|p| p.private);
        let following = follow::Entity::find_by_id((me, target))
            .one(self.db())
            .await?
            .is_some();
        let txn = self.begin().await?;
        let state = if private && !following {
            self.request_follow(&txn, me, target).await?;
            FollowState::Requested
        } else {
            self.insert_follow(&txn, me, target).await?;
            FollowState::Following
        };
        // A block made between the check and now wins.
        if self.blocked_between(&txn, me, target).await? {
            txn.rollback().await?;
            return Err(Error::forbidden(
                "you cannot follow this user: one of you blocked the other",
            ));
        }
        self.commit(txn).await?;
        Ok(state)
    }

    /// Where `viewer` stands with each of `targets`.
    pub async fn follow_states(
        &self,
        viewer: Uuid,
        targets: &[Uuid],
    ) -> Result<Vec<(Uuid, FollowState)>, Error> {
        let follows = self.follows_among(&[viewer], targets).await?;
        let requests = self.requests_among(&[viewer], targets).await?;
        Ok(targets
            .iter()
            .map(|t| {
                let state = if follows.iter().any(|f| f.followee_id == *t) {
                    FollowState::Following
                } else if requests.iter().any(|r| r.target_id == *t) {
                    FollowState::Requested
                } else {
                    FollowState::None
                };
                (*t, state)
            })
            .collect())
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
        self.drop_requests_between(&txn, me, target).await?;
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

    /// How many followers (`followers`) or followees each of `users` has;
    /// users with none are left out.
    pub async fn follow_counts(
        &self,
        users: &[Uuid],
        followers: bool,
    ) -> Result<Vec<(Uuid, i64)>, Error> {
        let col = if followers {
            follow::Column::FolloweeId
        } else {
            follow::Column::FollowerId
        };
        Ok(follow::Entity::find()
            .select_only()
            .column(col)
            .column_as(Expr::col(col).count(), "n")
            .filter(col.is_in(users.iter().copied()))
            .group_by(col)
            .into_tuple()
            .all(self.db())
            .await?)
    }

    /// The follows from any of `followers` to any of `followees`.
    pub async fn follows_among(
        &self,
        followers: &[Uuid],
        followees: &[Uuid],
    ) -> Result<Vec<follow::Model>, Error> {
        Ok(follow::Entity::find()
            .filter(follow::Column::FollowerId.is_in(followers.iter().copied()))
            .filter(follow::Column::FolloweeId.is_in(followees.iter().copied()))
            .all(self.db())
            .await?)
    }
}
