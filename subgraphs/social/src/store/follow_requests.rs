//! Follow requests: following a private account asks it first. The account
//! approves (the request becomes a follow, with its notification and event),
//! declines, or the asker cancels; making the profile public again approves
//! whatever is pending; a block drops requests both ways.

use chrono::Utc;
use kit::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::model::*;
use super::{page, Notify, Page, Social};

/// Where the caller stands with an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    None,
    Requested,
    Following,
}

impl Social {
    /// Records `me`'s request to follow `target` (again: no change); the
    /// target is told once.
    pub(super) async fn request_follow(
        &self,
        txn: &DatabaseTransaction,
        me: Uuid,
        target: Uuid,
    ) -> Result<(), Error> {
        let inserted = follow_request::Entity::insert(follow_request::ActiveModel {
            requester_id: Set(me),
            target_id: Set(target),
            seq: Set(Uuid::now_v7()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                follow_request::Column::RequesterId,
                follow_request::Column::TargetId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        if inserted > 0 {
            self.notify(txn, target, Notify::FollowRequested, None, me)
                .await?;
        }
        Ok(())
    }

    /// `me` approves `requester`'s request: it becomes a follow.
    pub async fn approve_follow_request(&self, me: Uuid, requester: Uuid) -> Result<(), Error> {
        let txn = self.begin().await?;
        if !self.take_request(&txn, requester, me).await? {
            return Err(Error::not_found("follow request"));
        }
        self.insert_follow(&txn, requester, me).await?;
        self.commit(txn).await
    }

    /// `me` declines `requester`'s request (they may ask again).
    pub async fn decline_follow_request(&self, me: Uuid, requester: Uuid) -> Result<(), Error> {
        let txn = self.begin().await?;
        if !self.take_request(&txn, requester, me).await? {
            return Err(Error::not_found("follow request"));
        }
        self.commit(txn).await
    }

    /// `me` withdraws a request to follow `target`.
    pub async fn cancel_follow_request(&self, me: Uuid, target: Uuid) -> Result<(), Error> {
        let txn = self.begin().await?;
        if !self.take_request(&txn, me, target).await? {
            return Err(Error::not_found("follow request"));
        }
        self.commit(txn).await
    }

    /// Deletes a request; whether there was one.
    async fn take_request<C: ConnectionTrait>(
        &self,
        conn: &C,
        requester: Uuid,
        target: Uuid,
    ) -> Result<bool, Error> {
        Ok(follow_request::Entity::delete_many()
            .filter(follow_request::Column::RequesterId.eq(requester))
            .filter(follow_request::Column::TargetId.eq(target))
            .exec(conn)
            .await?
            .rows_affected
            > 0)
    }

    /// Every pending request to `user` becomes a follow (the profile went public).
    pub(super) async fn approve_all_requests(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
    ) -> Result<(), Error> {
        let pending = follow_request::Entity::find()
            .filter(follow_request::Column::TargetId.eq(user))
            .all(txn)
            .await?;
        for r in pending {
            self.take_request(txn, r.requester_id, user).await?;
            self.insert_follow(txn, r.requester_id, user).await?;
        }
        Ok(())
    }

    /// Drops requests between `a` and `b` in both directions (a block).
    pub(super) async fn drop_requests_between<C: ConnectionTrait>(
        &self,
        conn: &C,
        a: Uuid,
        b: Uuid,
    ) -> Result<(), Error> {
        follow_request::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(follow_request::Column::RequesterId.eq(a))
                            .add(follow_request::Column::TargetId.eq(b)),
                    )
                    .add(
                        Condition::all()
                            .add(follow_request::Column::RequesterId.eq(b))
                            .add(follow_request::Column::TargetId.eq(a)),
                    ),
            )
            .exec(conn)
            .await?;
        Ok(())
    }

    /// Makes `follower` follow `followee` (no change when it does already),
    /// with the notification and event of a new follow.
    pub(super) async fn insert_follow(
        &self,
        txn: &DatabaseTransaction,
        follower: Uuid,
        followee: Uuid,
    ) -> Result<bool, Error> {
        let inserted = follow::Entity::insert(follow::ActiveModel {
            follower_id: Set(follower),
            followee_id: Set(followee),
            seq: Set(Uuid::now_v7()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([follow::Column::FollowerId, follow::Column::FolloweeId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        if inserted > 0 {
            self.notify(txn, followee, Notify::Followed, None, follower)
                .await?;
            self.event(
                txn,
                "followed",
                follower,
                &[&followee.to_string()],
                json!({ "followerId": follower, "followeeId": followee }),
            )
            .await?;
        }
        Ok(inserted > 0)
    }

    /// Requests to follow `user`, newest first.
    pub async fn incoming_follow_requests(
        &self,
        user: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<follow_request::Model>, Error> {
        let q = follow_request::Entity::find().filter(follow_request::Column::TargetId.eq(user));
        page(
            self.db(),
            q,
            follow_request::Column::Seq,
            true,
            n,
            after,
            |r| r.seq,
        )
        .await
    }

    /// The pending requests from `requesters` to any of `targets`.
    pub async fn requests_among(
        &self,
        requesters: &[Uuid],
        targets: &[Uuid],
    ) -> Result<Vec<follow_request::Model>, Error> {
        Ok(follow_request::Entity::find()
            .filter(follow_request::Column::RequesterId.is_in(requesters.iter().copied()))
            .filter(follow_request::Column::TargetId.is_in(targets.iter().copied()))
            .all(self.db())
            .await?)
    }
}
