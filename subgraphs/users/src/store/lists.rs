//! The admins' lists: accounts (oldest first, keyset-paged on creation
//! time and id) and the audit log (newest first), each with its total; and
//! accounts by id for the schema's loader.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use kit::auth::Role;
use kit::paging::Page;
use kit::Error;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::model::{audit, user};
use super::Accounts;

/// Which accounts the list keeps.
#[derive(Default)]
pub struct UserListFilter {
    pub role: Option<Role>,
    /// Usernames containing this text.
    pub search: Option<String>,
    /// Only suspended (true) or only unsuspended (false) accounts.
    pub suspended: Option<bool>,
}

/// Which audit entries the list keeps.
#[derive(Default)]
pub struct AuditListFilter {
    /// Entries about this account.
    pub user_id: Option<Uuid>,
    pub action: Option<String>,
}

fn user_cursor(u: &user::Model) -> String {
    B64.encode(format!("{}|{}", u.created_at.timestamp_micros(), u.id))
}

fn parse_user_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    let bad = || Error::bad_input("after", "not a cursor from this list");
    let text = String::from_utf8(B64.decode(c).map_err(|_| bad())?).map_err(|_| bad())?;
    let (t, id) = text.split_once('|').ok_or_else(bad)?;
    let micros: i64 = t.parse().map_err(|_| bad())?;
    Ok((
        DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
}

impl Accounts {
    /// The accounts of `ids` (deleted ones too; callers filter).
    pub async fn users_by_id(&self, ids: &[Uuid]) -> Result<Vec<user::Model>, Error> {
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// `n` live accounts passing `filter`, oldest first, after `after`.
    pub async fn users(
        &self,
        filter: UserListFilter,
        n: u64,
        after: Option<&str>,
    ) -> Result<Page<user::Model>, Error> {
        let mut cond = Condition::all().add(user::Column::DeletedAt.is_null());
        if let Some(role) = filter.role {
            cond = cond.add(user::Column::Role.eq(role.as_str()));
        }
        if let Some(s) = filter.search.as_deref() {
            let s: String = s
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(30)
                .collect();
            if !s.is_empty() {
                cond = cond.add(user::Column::UsernameKey.contains(&s));
            }
        }
        match filter.suspended {
            Some(true) => cond = cond.add(user::Column::SuspendedUntil.gt(Utc::now())),
            Some(false) => {
                cond = cond.add(
                    Condition::any()
                        .add(user::Column::SuspendedUntil.is_null())
                        .add(user::Column::SuspendedUntil.lte(Utc::now())),
                )
            }
            None => {}
        }
        let db = self.db();
        let total_count = user::Entity::find().filter(cond.clone()).count(db).await?;
        let mut page_cond = cond;
        if let Some(after) = after {
            let (t, id) = parse_user_cursor(after)?;
            page_cond = page_cond.add(
                Condition::any().add(user::Column::CreatedAt.gt(t)).add(
                    Condition::all()
                        .add(user::Column::CreatedAt.eq(t))
                        .add(user::Column::Id.gt(id)),
                ),
            );
        }
        let mut rows = user::Entity::find()
            .filter(page_cond)
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .limit(n + 1)
            .all(db)
            .await?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(Page {
            total_count,
            ..Page::new(rows, after.is_some(), has_next_page, user_cursor)
        })
    }

    /// `n` audit entries passing `filter`, newest first, after `after`.
    pub async fn audit_log(
        &self,
        filter: AuditListFilter,
        n: u64,
        after: Option<&str>,
    ) -> Result<Page<audit::Model>, Error> {
        let mut cond = Condition::all();
        if let Some(id) = filter.user_id {
            cond = cond.add(audit::Column::UserId.eq(id));
        }
        if let Some(a) = filter.action {
            cond = cond.add(audit::Column::Action.eq(a));
        }
        let db = self.db();
        let total_count = audit::Entity::find().filter(cond.clone()).count(db).await?;
        if let Some(after) = after {
            let id = Uuid::parse_str(after)
                .map_err(|_| Error::bad_input("after", "not a cursor from this list"))?;
            cond = cond.add(audit::Column::Id.lt(id));
        }
        let mut rows = audit::Entity::find()
            .filter(cond)
            .order_by_desc(audit::Column::Id)
            .limit(n + 1)
            .all(db)
            .await?;
        let has_next_page = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(Page {
            total_count,
            ..Page::new(rows, after.is_some(), has_next_page, |a| a.id.to_string())
        })
    }
}
