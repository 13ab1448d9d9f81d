//! The audit log as admins read it.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::auth::{require_role, Role};
use kit::paging::{page_size, Connection, Paged};

use super::{accounts, parse_id};
use crate::store::model::audit;
use crate::store::AuditListFilter;

/// One audited action.
#[derive(SimpleObject)]
pub struct AuditEntry {
    pub id: ID,
    pub at: DateTime<Utc>,
    pub action: String,
    /// Who did it (absent for anonymous attempts).
    pub actor_id: Option<ID>,
    /// Whose account it concerns.
    pub user_id: Option<ID>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The action's particulars as JSON (never secrets).
    pub detail: async_graphql::Json<serde_json::Value>,
}

impl From<audit::Model> for AuditEntry {
    fn from(a: audit::Model) -> Self {
        Self {
            id: ID(a.id.to_string()),
            at: a.at,
            action: a.action,
            actor_id: a.actor_id.map(|i| ID(i.to_string())),
            user_id: a.user_id.map(|i| ID(i.to_string())),
            ip: a.ip,
            user_agent: a.user_agent,
            detail: async_graphql::Json(
                serde_json::from_str(&a.detail).unwrap_or(serde_json::Value::Null),
            ),
        }
    }
}

impl Paged for AuditEntry {
    const NAME: &'static str = "Audit";
    const COUNTED: bool = true;
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Entries about this account.
    pub user_id: Option<ID>,
    pub action: Option<String>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Audited actions, newest first (admins; nullable like `users`).
    #[graphql(requires_scopes = "admin")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<AuditEntry>>> {
        require_role(ctx, Role::Admin)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let filter = AuditListFilter {
            user_id: f
                .user_id
                .as_ref()
                .map(|id| parse_id("filter.userId", id))
                .transpose()?,
            action: f.action,
        };
        let page = accounts(ctx).audit_log(filter, n, after.as_deref()).await?;
        Ok(Some(Connection::from_page(page, AuditEntry::from)))
    }
}
