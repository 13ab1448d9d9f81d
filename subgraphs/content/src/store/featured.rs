//! Editorial featured windows.

use chrono::{DateTime, Utc};
use kit::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{featured, title};
use super::*;

impl Catalog {
    pub async fn set_featured(
        &self,
        title_id: Uuid,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        rank: i32,
        actor: &str,
    ) -> Result<featured::Model, Error> {
        if until <= from {
            return Err(Error::bad_input(
                "until",
                "the window must end after it starts",
            ));
        }
        if !(1..=1000).contains(&rank) {
            return Err(Error::bad_input("rank", "rank is 1 to 1000"));
        }
        let m = self.get_title(title_id).await?;
        if m.deleted_at.is_some() {
            return Err(Error::not_found("movie"));
        }
        let txn = self.db().begin().await?;
        let row = featured::ActiveModel {
            id: Set(Uuid::now_v7()),
            title_id: Set(title_id),
            rank: Set(rank),
            starts_at: Set(from),
            ends_at: Set(until),
        }
        .insert(&txn)
        .await?;
        self.event(
            &txn,
            "featured_changed",
            Some(actor.into()),
            json!({ "titleId": title_id, "from": from, "until": until, "rank": rank }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(row)
    }

    pub async fn remove_featured(&self, id: Uuid, actor: &str) -> Result<bool, Error> {
        let txn = self.db().begin().await?;
        let r = featured::Entity::delete_by_id(id).exec(&txn).await?;
        if r.rows_affected == 0 {
            return Err(Error::not_found("featured slot"));
        }
        self.event(
            &txn,
            "featured_changed",
            Some(actor.into()),
            json!({ "removed": id }),
        )
        .await?;
        self.committed(txn, CATALOG).await?;
        Ok(true)
    }

    /// Movies featured now, by rank.
    pub async fn featured_now(
        &self,
        kind: Option<&str>,
        n: u64,
    ) -> Result<Vec<title::Model>, Error> {
        // Short-lived: windows open and close on their own.
        self.cached(
            CATALOG,
            &format!("featured:{kind:?}:{n}"),
            Duration::from_secs(15),
            self.load_featured(kind, n),
        )
        .await
    }

    pub(super) async fn load_featured(
        &self,
        kind: Option<&str>,
        n: u64,
    ) -> Result<Vec<title::Model>, Error> {
        let now = Utc::now();
        let slots = featured::Entity::find()
            .filter(featured::Column::StartsAt.lte(now))
            .filter(featured::Column::EndsAt.gt(now))
            .order_by_asc(featured::Column::Rank)
            .order_by_asc(featured::Column::Id)
            .all(self.db())
            .await?;
        let ids: Vec<Uuid> = slots.iter().map(|s| s.title_id).collect();
        let movies: std::collections::HashMap<Uuid, title::Model> = title::Entity::find()
            .filter(title::Column::Id.is_in(ids.clone()))
            .filter(title::Column::DeletedAt.is_null())
            .apply_if(kind, |q, k| q.filter(title::Column::Kind.eq(k)))
            .all(self.db())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut seen = std::collections::HashSet::new();
        Ok(ids
            .into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| movies.get(&id).cloned())
            .take(n as usize)
            .collect())
    }
}
