//! Notifications: grouped by kind and target while unread, their actors,
//! the unread count and its change events, mentions.

use chrono::Utc;
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;
use std::collections::HashMap;

use uuid::Uuid;

use super::{first_pages, windowed};

use super::model::*;
use super::{page, text, Notify, Page, Social, MAX_PAGE};

impl Social {
    /// Tells `user` that `actor` did `kind` to `target`, folded into the
    /// unread notification of the same kind and target when there is one.
    /// Nobody is notified of their own doing or by someone they blocked.
    pub(super) async fn notify<C: ConnectionTrait>(
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
    pub(super) async fn unread_changed<C: ConnectionTrait>(
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
    pub(super) async fn notify_mentions<C: ConnectionTrait>(
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

    /// The latest `n` actors of each notification, newest first.
    pub async fn latest_actors(
        &self,
        notifications: &[Uuid],
        n: u64,
    ) -> Result<HashMap<Uuid, Vec<Uuid>>, Error> {
        let rows: Vec<notification_actor::Model> = windowed(
            self.db(),
            "notification_actors",
            "notification_id",
            "created_at DESC, actor_id",
            notifications.to_vec(),
            Condition::all(),
            n,
        )
        .await?;
        let pages = first_pages(
            notifications,
            rows,
            n,
            |a| Some(a.notification_id),
            |a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then(a.actor_id.cmp(&b.actor_id))
            },
        );
        Ok(pages
            .into_iter()
            .map(|(id, (list, _))| (id, list.into_iter().map(|a| a.actor_id).collect()))
            .collect())
    }
}
