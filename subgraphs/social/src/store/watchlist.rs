//! Watchlists and watch history.

use chrono::{DateTime, Utc};
use kit::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};
use serde_json::json;

use uuid::Uuid;

use super::model::*;
use super::{page, Page, Social};

impl Social {
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

    pub(super) async fn drop_watchlist(
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

    pub(super) async fn watchlist_event<C: ConnectionTrait>(
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

    /// The watchlist entries of any of `users` for any of `titles`.
    pub async fn watchlist_among(
        &self,
        users: &[Uuid],
        titles: &[Uuid],
    ) -> Result<Vec<watchlist::Model>, Error> {
        Ok(watchlist::Entity::find()
            .filter(watchlist::Column::UserId.is_in(users.iter().copied()))
            .filter(watchlist::Column::TitleId.is_in(titles.iter().copied()))
            .all(self.db())
            .await?)
    }
}
